"""The example and test agents as subprocesses, with the environment pacemaker-execd and
pacemaker-fenced give them (ocfkit.testing): exit codes in every state, output rules."""

import os
import pwd

import pytest
from core_paths import SERVICE, SWITCH, test_agent
from ocfkit.testing import execd_environment, run, run_fence_agent, run_resource_agent

PROMOTABLE = test_agent("PromotableFile")


def assert_clean(result, stdout_allowed=False):
    """What every agent run must look like: no traceback, nothing on stdout, <=1 reason."""
    assert "Traceback" not in result.stderr, result.stderr
    if not stdout_allowed:
        assert result.stdout == "", result.stdout
    reasons = [line for line in result.stderr.splitlines()
               if line.startswith("ocf-exit-reason:")]
    assert len(reasons) <= 1, reasons
    return result


def ra(path, action, params, **kw):
    return assert_clean(run_resource_agent(path, action, params, **kw),
                        stdout_allowed=action == "meta-data")


# ------------------------------------------------------------- ExampleService
def test_example_service_lifecycle(tmp_path):
    params = {"path": str(tmp_path / "state")}
    assert ra(SERVICE, "monitor", params).rc == 7                       # probe
    assert ra(SERVICE, "monitor", params, interval_ms=10000).rc == 7
    assert ra(SERVICE, "stop", params).rc == 0                          # stop when stopped
    assert ra(SERVICE, "start", params).rc == 0
    assert ra(SERVICE, "start", params).rc == 0                         # idempotent
    assert ra(SERVICE, "monitor", params).rc == 0
    assert ra(SERVICE, "monitor", params, interval_ms=60000, check_level=10).rc == 0
    (tmp_path / "state").write_text("tampered")
    deep = ra(SERVICE, "monitor", params, interval_ms=60000, check_level=10)
    assert deep.rc == 1 and "unexpected content" in deep.stderr
    assert ra(SERVICE, "monitor", params, interval_ms=10000).rc == 0    # depth 0 only
    assert ra(SERVICE, "reload-agent", dict(params, content="tampered")).rc == 0
    assert ra(SERVICE, "stop", params).rc == 0
    assert ra(SERVICE, "stop", params).rc == 0
    assert ra(SERVICE, "monitor", params).rc == 7


def test_example_service_invalid_environment():
    params = {"path": "/nonexistent-dir/state"}
    assert ra(SERVICE, "stop", params).rc == 0
    assert ra(SERVICE, "monitor", params).rc == 7
    recurring = ra(SERVICE, "monitor", params, interval_ms=10000)
    assert recurring.rc == 1 and "nonexistent-dir" in recurring.exit_reason
    start = ra(SERVICE, "start", params)
    assert start.rc == 2 and start.exit_reason.startswith("directory of")
    missing = ra(SERVICE, "start", {})
    assert missing.rc == 6 and missing.exit_reason == "required parameter not set: path"
    assert ra(SERVICE, "stop", {}).rc == 0
    assert ra(SERVICE, "monitor", {}).rc == 7
    assert ra(SERVICE, "validate-all", {"path": "relative/state"}).rc == 6


def test_unknown_action_and_usage():
    unknown = ra(SERVICE, "migrate_to", {})
    assert unknown.rc == 3 and "not implemented" in unknown.exit_reason
    usage = ra(SERVICE, "usage", {})
    assert usage.rc == 0 and usage.stderr.startswith("usage: ExampleService {")
    assert assert_clean(run([SERVICE], execd_environment({}))).rc == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the agent as nobody")
def test_meta_data_as_nobody_without_any_ocf_variable():
    nobody = pwd.getpwnam("nobody")
    result = run([SERVICE, "meta-data"], {"PATH": "/usr/bin:/bin"}, user=nobody.pw_uid)
    assert result.rc == 0 and result.stdout.startswith('<?xml version="1.0"?>')
    assert result.stderr == ""


def test_meta_data_survives_a_closed_pipe():
    """A reader that went away (`agent meta-data | true`): no BrokenPipeError traceback."""
    import subprocess

    reader, writer = os.pipe()
    os.close(reader)  # nobody will ever read: every write fails with EPIPE
    child = subprocess.Popen([SERVICE, "meta-data"], stdout=writer, stderr=subprocess.PIPE)
    os.close(writer)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 1
    assert err == b"ocf-exit-reason:cannot write the metadata: Broken pipe\n"


def test_logs_carry_the_instance_name(tmp_path):
    params = {"path": "/nonexistent-dir/state"}
    result = ra(SERVICE, "stop", params, instance="web-state:2")
    assert "ExampleService(web-state:2)[" in result.stderr
    assert "WARNING: directory of /nonexistent-dir/state" in result.stderr


# ------------------------------------------------------------- promotable agent
def test_promotable_agent_roles_and_codes(tmp_path):
    params = {"path": str(tmp_path / "role")}
    meta = {"promotable": "true", "clone": "0", "clone_max": "2"}

    def act(action, **kw):
        return ra(PROMOTABLE, action, params, meta=meta, **kw).rc

    assert act("monitor") == 7
    assert act("start") == 0
    assert act("monitor", interval_ms=11000) == 0
    assert act("promote") == 0
    assert act("monitor", interval_ms=10000) == 8
    assert act("promote") == 0                                   # promote when promoted
    assert act("demote") == 0
    assert act("demote") == 0                                    # demote when unpromoted
    assert act("monitor", interval_ms=11000) == 0
    assert act("promote") == 0
    (tmp_path / "role").write_text("failed")
    failed = ra(PROMOTABLE, "monitor", params, meta=meta, interval_ms=10000)
    assert failed.rc == 9 and failed.exit_reason == "the promoted instance has failed"
    assert act("notify", extra={"OCF_RESKEY_CRM_meta_notify_type": "pre"}) == 0
    assert act("stop") == 0
    assert act("stop") == 0
    assert act("monitor") == 7
    assert act("promote") == 1                                   # not running


def test_promotable_metadata_advertises_roles():
    import xml.etree.ElementTree as ET

    root = ET.fromstring(ra(PROMOTABLE, "meta-data", {}).stdout)
    monitors = {(a.get("role"), a.get("interval")) for a in root.iter("action")
                if a.get("name") == "monitor"}
    assert monitors == {("Promoted", "10s"), ("Unpromoted", "11s")}
    names = {a.get("name") for a in root.iter("action")}
    assert {"promote", "demote", "notify"} <= names


# ------------------------------------------------------------------ fence example
def fa(options=None, **kw):
    result = run_fence_agent(SWITCH, options, **kw)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def outlets(tmp_path):
    (tmp_path / "n1").write_text("on")
    (tmp_path / "n2").write_text("off")
    return tmp_path


def test_fence_example_as_fenced_runs_it(outlets):
    base = {"directory": str(outlets), "nodename": "n1", "plug": "n1",
            "stonith_status_sleep": "0.05"}
    status = fa(dict(base, action="status"))
    assert (status.rc, status.stdout) == (0, "Status: ON\n")
    assert fa(dict(base, action="off")).rc == 0
    assert (outlets / "n1").read_text() == "off"
    off = fa(dict(base, action="status"))
    assert (off.rc, off.stdout) == (2, "Status: OFF\n")
    assert fa(dict(base, action="reboot")).rc == 0
    assert (outlets / "n1").read_text() == "on"
    assert fa(dict(base, action="on")).rc == 0
    listing = fa({"action": "list", "directory": str(outlets)})
    assert listing.rc == 0 and sorted(listing.stdout.splitlines()) == ["n1,", "n2,"]
    assert fa({"action": "monitor", "directory": str(outlets)}).rc == 0
    assert fa({"action": "validate-all", "directory": str(outlets)}).rc == 0
    meta = fa({"action": "metadata"})
    assert meta.rc == 0 and "<resource-agent name=\"fence_ocfkit_example\"" in meta.stdout


def test_fence_example_errors(outlets):
    missing = fa({"action": "status", "directory": str(outlets), "plug": "n9"})
    assert missing.rc == 1 and missing.stdout == ""
    assert "no outlet 'n9'" in missing.stderr
    gone = fa({"action": "monitor", "directory": str(outlets / "absent")})
    assert gone.rc == 1 and len(gone.stderr.strip().splitlines()) == 1
    garbage = fa(stdin=b"\x00\xff\xfe garbage\nno equals sign\n")
    assert garbage.rc == 1 and len(garbage.stderr.strip().splitlines()) == 1
    unknown = fa({"action": "status", "directory": str(outlets), "plug": "n1",
                  "pcmk_off_action": "off", "mystery": "1"})
    assert unknown.rc == 0 and "ignoring unknown option 'mystery'" in unknown.stderr


def test_fence_example_on_the_command_line(outlets):
    status = fa(args=["-o", "status", "-d", str(outlets), "-n", "n2"])
    assert (status.rc, status.stdout) == (2, "Status: OFF\n")
    assert fa(args=["--action=on", f"--directory={outlets}", "--plug=n2"]).rc == 0
    assert (outlets / "n2").read_text() == "on"
    bad = fa(args=["--action=on", "--frobnicate"])
    assert bad.rc == 1 and "unknown option --frobnicate" in bad.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the agent as nobody")
def test_fence_example_metadata_as_nobody():
    nobody = pwd.getpwnam("nobody")
    result = run([SWITCH, "-o", "metadata"], {"PATH": "/usr/bin:/bin"}, user=nobody.pw_uid)
    assert result.rc == 0 and result.stdout.startswith('<?xml version="1.0" ?>')


def test_example_agents_stay_small():
    for path in (SERVICE, SWITCH):
        with open(path) as handle:
            assert len(handle.read().splitlines()) < 40, path


def test_agents_are_executable():
    for path in (SERVICE, SWITCH, PROMOTABLE):
        assert os.access(path, os.X_OK)
