"""The checker's parts: the bounded runner, output analysis, the metadata rules."""

import os
import subprocess
import sys
import time

import pytest
from ocfkit.check import ocf_metadata, output
from ocfkit.check.report import FAIL, WARN, Report
from ocfkit.check.runner import run

ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


# ------------------------------------------------------------------ runner

def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


def test_timeout_kills_the_whole_process_group():
    script = "sleep 60 & echo $! >&2; sleep 60"
    start = time.monotonic()
    result = run("hang", ["/bin/sh", "-c", script], ENV, timeout=0.5)
    assert result.timed_out and result.rc is None
    assert time.monotonic() - start < 3
    child = int(result.stderr.split()[0])
    deadline = time.monotonic() + 2
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child), "the agent's child survived the timeout"


def test_daemon_holding_stdout_does_not_hang_the_run():
    # A "daemon" that left the agent's session but kept its stdout: the run must end
    # right after the agent exits, and say so.
    script = "setsid sleep 30 & echo $! >&2; exit 0"
    start = time.monotonic()
    result = run("start", ["/bin/sh", "-c", script], ENV, timeout=10)
    try:
        assert result.rc == 0 and not result.timed_out
        assert result.pipes_held
        assert time.monotonic() - start < 2
    finally:
        try:
            os.kill(int(result.stderr.split()[0]), 9)
        except ProcessLookupError:
            pass


def test_secret_on_a_childs_command_line_is_seen():
    # The agent (whose own argv is the caller's business) hands the secret to a child.
    agent = ("import subprocess, sys; "
             "subprocess.run(['/bin/sh', '-c', 'sleep 0.2; :', 'helper', *sys.argv[1:]])")
    result = run("status", [sys.executable, "-c", agent, "--pw=hunter22-xyz"], ENV,
                 timeout=5, watch=["hunter22-xyz"])
    assert [argv for _, argv in result.secret_argv] == \
        [["/bin/sh", "-c", "sleep 0.2; :", "helper", "--pw=hunter22-xyz"]]
    clean = run("status", [sys.executable, "-c", agent], ENV, timeout=5,
                watch=["hunter22-xyz"])
    assert clean.secret_argv == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
def test_unprivileged_run_drops_all_groups():
    result = run("id", ["/usr/bin/id"], ENV, timeout=5, user="nobody")
    assert result.rc == 0
    assert "uid=65534" in result.stdout and "(root)" not in result.stdout


# ------------------------------------------------------------------ output analysis

def _real_stderr(argv):
    return subprocess.run(argv, capture_output=True, text=True).stderr


@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_shell_errors_as_real_shells_print_them(shell, tmp_path):
    script = tmp_path / "agent"
    script.write_text("#!" + shell + "\nno_such_command_xyz\n[ 1 -gt ]\necho ok >&2\n")
    script.chmod(0o755)
    stderr = _real_stderr([str(script)])
    found = output.shell_errors(stderr)
    assert len(found) == 2, stderr
    assert any("no_such_command_xyz" in line for line in found)


def test_log_lines_are_not_shell_errors():
    stderr = ("Dummy(rsc)[4242]: 2026/01/01_10:00:00 ERROR: it failed\n"
              "fence_x[12]: ERROR: unrecognized action 'x'\n"
              "2026-11-25 11:05:41,007 ERROR: Failed: Unrecognised action 'bogus'\n"
              "/usr/sbin/fence_ipmilan:5: DeprecationWarning: 'pipes' is deprecated\n"
              "touch: cannot touch '/x': No such file or directory\n")
    assert output.shell_errors(stderr) == []


def test_traceback_summary_from_a_real_traceback():
    stderr = _real_stderr([sys.executable, "-c", "int('abc')"])
    assert output.traceback_summary(stderr).startswith("ValueError: invalid literal")
    assert output.traceback_summary("ocf-exit-reason:fine\n") is None


def test_exit_reasons_as_pacemaker_reads_them():
    stderr = "INFO: x\nocf-exit-reason:first\nERROR: ocf-exit-reason:second\n"
    assert [text for text, _ in output.exit_reasons(stderr)] == ["first", "second"]
    assert output.exit_reason_problems(stderr) == []
    assert output.exit_reason_problems("ocf-exit-reason:\n")
    assert output.exit_reason_problems("ocf-exit-reason:bad config:\n  port is 0\n")
    # another message on the next line is not a continuation
    assert output.exit_reason_problems("ocf-exit-reason:no such action\nusage: x\n") == []


# ------------------------------------------------------------------ metadata rules

GOOD = """<?xml version="1.0"?>
<resource-agent name="X" version="1.2.3">
  <version>1.1</version>
  <longdesc lang="en">Long.</longdesc>
  <shortdesc lang="en">Short.</shortdesc>
  <parameters>
    <parameter name="p" required="1" unique-group="p">
      <longdesc lang="en">P.</longdesc><shortdesc lang="en">P</shortdesc>
      <content type="select" default="a"><option value="a"/><option value="b"/></content>
    </parameter>
  </parameters>
  <actions>
    <action name="start" timeout="20s"/>
    <action name="stop" timeout="20s"/>
    <action name="monitor" timeout="20s" interval="10s" depth="0"/>
    <action name="meta-data" timeout="5s"/>
  </actions>
</resource-agent>
"""


def _rules(xml, status=FAIL):
    report = Report("/x/X", "ocf")
    ocf_metadata.check(report, xml, "/x/X")
    return set(report.rules_with(status))


def test_good_metadata_has_no_findings():
    assert _rules(GOOD) == set() and _rules(GOOD, WARN) == set()


@pytest.mark.parametrize("old, new, rule", [
    ('<longdesc lang="en">P.</longdesc>', "<longdesc>P.</longdesc>", "metadata-lang"),
    ('<option value="a"/><option value="b"/>', "", "metadata-content"),
    ('default="a"', 'default="c"', "metadata-content"),
    ('timeout="20s" interval="10s"', 'timeout="20" interval="10s"', "metadata-time-units"),
    ('timeout="20s" interval="10s"', 'timeout="soon" interval="10s"', "metadata-time-units"),
    ('<action name="meta-data" timeout="5s"/>', "", "metadata-actions"),
    ('<action name="meta-data" timeout="5s"/>',
     '<action name="monitor" timeout="20s" interval="10s"/>', "metadata-actions"),
    ('depth="0"', 'depth="deep"', "metadata-actions"),
    ('unique-group="p"', 'unique="1"', "metadata-unique-group"),
    ('<action name="start" timeout="20s"/>',
     '<action name="start" timeout="20s" role="Leader"/>', "metadata-roles"),
    ('<content type="select" default="a"><option value="a"/><option value="b"/></content>',
     '<content type="float"/>', "metadata-content"),
    ('<shortdesc lang="en">P</shortdesc>', "", "metadata-parameters"),
    ('<longdesc lang="en">P.</longdesc><shortdesc lang="en">P</shortdesc>',
     '<shortdesc lang="en">P</shortdesc><longdesc lang="en">P.</longdesc>',
     "metadata-parameter-order"),
    ("</content>", '</content><deprecated><desc lang="en">old</desc></deprecated>',
     "metadata-parameter-order"),
    ('<version>1.1</version>', '<version>1.1</version><version>1.1</version>',
     "metadata-order"),
    ("</resource-agent>", "</resource-agent>\nDone.", "metadata-xml"),
])
def test_metadata_rule(old, new, rule):
    assert old in GOOD
    assert rule in _rules(GOOD.replace(old, new))


def test_deprecated_must_name_a_real_replacement():
    xml = GOOD.replace('<longdesc lang="en">P.</longdesc>',
                       '<deprecated><replaced-with name="nope"/><desc lang="en">old</desc>'
                       '</deprecated><longdesc lang="en">P.</longdesc>')
    assert _rules(xml) == {"metadata-deprecated"}


def test_missing_version_is_a_warning_and_1_0_rules_apply():
    xml = GOOD.replace("<version>1.1</version>", "")
    assert "metadata-version" in _rules(xml, WARN)


@pytest.mark.parametrize("text, ms", [("20s", 20000), ("20", 20000), ("500ms", 500),
                                      ("2min", 120000), ("1h", 3600000), ("x", None)])
def test_durations_as_pacemaker_reads_them(text, ms):
    assert ocf_metadata.duration_ms(text) == ms


def test_every_rule_is_documented():
    from ocfkit.check.rules import RULES

    docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "checker.md")
    with open(docs) as handle:
        text = handle.read()
    assert [rule for rule in RULES if f"| `{rule}` |" not in text] == []
