"""Fence-agent framework in-process: argument parsing, actions, exit codes (contract B),
reboot composition, timing options, password_script, plugs, list output."""

import io
import os
import time

import pytest
from ocfkit import fence
from ocfkit.fence import std
from ocfkit.fence.args import ArgumentError, parse_argv, parse_stdin


class Device:
    """In-memory power switch shared by the agent class below (reset per test)."""

    def __init__(self):
        self.power = {"n1": fence.ON, "n2": fence.ON, "n3": fence.OFF}
        self.calls = []
        self.lag = 0          # status reads before a requested change shows
        self.pending = {}
        self.refuse = set()   # states the device never reaches
        self.status_errors = 0

    def status(self, plug):
        self.calls.append(("status", plug))
        if self.status_errors:
            self.status_errors -= 1
            raise fence.FenceError("device busy")
        if plug not in self.power:
            raise fence.FenceError(f"no plug {plug}")
        if plug in self.pending:
            state, reads = self.pending[plug]
            if reads <= 0:
                self.power[plug] = state
                del self.pending[plug]
            else:
                self.pending[plug] = (state, reads - 1)
        return self.power[plug]

    def set(self, plug, state):
        self.calls.append((state, plug))
        if state in self.refuse:
            return
        self.pending[plug] = (state, self.lag)


DEVICE = Device()


class fence_core_test(fence.FenceAgent):
    """Test switch.

    Behaviour comes from the shared Device object.
    """

    ip = std.ip(required=True)
    username = std.username()
    password = std.password()
    password_script = std.password_script()
    plug = std.plug()
    plug_separator = std.plug_separator()
    separator = std.separator()
    method = std.method()
    lanplus = fence.Boolean(short="P", default=False, shortdesc="Use lanplus")
    ipport = std.ipport(default=623)

    def get_power_status(self, plug):
        if self.password == "explode":
            raise RuntimeError(f"device said: bad password {self.password}")
        return DEVICE.status(plug)

    def set_power_status(self, plug, state):
        DEVICE.set(plug, state)

    def reboot_cycle(self, plug):
        DEVICE.calls.append(("cycle", plug))
        DEVICE.power[plug] = fence.ON

    def get_list(self):
        return {"n1": "node-one", "n2": None, "n3": None, "bad name": None}


@pytest.fixture(autouse=True)
def fresh_device():
    global DEVICE
    DEVICE = Device()
    yield DEVICE


class Outcome:
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def run_stdin(text, cls=fence_core_test, environ=None):
    data = text if isinstance(text, bytes) else text.encode()
    out, err = io.StringIO(), io.StringIO()
    rc = cls.run([], stdin=data, environ=environ or {}, stdout=out, stderr=err)
    return Outcome(rc, out.getvalue(), err.getvalue())


def run_argv(*args, cls=fence_core_test):
    out, err = io.StringIO(), io.StringIO()
    rc = cls.run(list(args), environ={}, stdout=out, stderr=err)
    return Outcome(rc, out.getvalue(), err.getvalue())


def stdin(**options):
    base = {"ip": "198.51.100.5", "power_wait": "0", "stonith_status_sleep": "0.01"}
    base.update(options)
    return "".join(f"{k}={v}\n" for k, v in base.items())


# ------------------------------------------------------------------ parsing
def test_stdin_as_fenced_writes_it():
    params = fence_core_test._params
    text = (b"# written by pacemaker-fenced\n\naction=off\nnodename=n1\nport=n1\n"
            b"ipaddr=198.51.100.5\n  login=admin \nunknown_thing=1\nplug=n2\n"
            b'power-timeout="5"\n')
    warnings = []
    values, used, extras = parse_stdin(text, params, warnings.append)
    assert values["action"] == "off"
    assert values["plug"] == "n2"              # last duplicate (port then plug) wins
    assert used["plug"] == "plug" and used["ip"] == "ipaddr"
    assert values["username"] == "admin"
    assert values["power_timeout"] == "5"      # long option name, quotes dropped
    assert extras == {"nodename": "n1"}
    assert warnings == ["ignoring unknown option 'unknown_thing'"]


@pytest.mark.parametrize("data,message", [
    (b"action=off\n\xff\xfe=1\n", "stdin line 2 is not valid UTF-8"),
    (b"action=off\njust words\n", "stdin line 2 is not key=value: just words"),
    (b"=value\n", "stdin line 1 is not key=value"),
    (b"ip=a\x00b\n", "NUL"),
])
def test_stdin_garbage_is_one_clear_error(data, message):
    with pytest.raises(ArgumentError, match=message):
        parse_stdin(data, fence_core_test._params, lambda _: None)
    result = run_stdin(data)
    assert result.rc == 1
    assert message.split(":")[0] in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_argv_forms():
    params = fence_core_test._params
    values, used = parse_argv(["-o", "off", "--ip=198.51.100.5", "-l", "admin", "-padmin2",
                               "--plug", "n1", "-P", "--lanplus=0", "-v"], params)
    assert values == {"action": "off", "ip": "198.51.100.5", "username": "admin",
                      "password": "admin2", "plug": "n1", "lanplus": "0", "verbose": "1"}
    assert used["ip"] == "--ip"
    values, _ = parse_argv(["--username", "x", "-vv"], params)
    assert values["verbose"] == "1"


@pytest.mark.parametrize("argv,message", [
    (["--bogus"], "unknown option --bogus"),
    (["-Z"], "unknown option -Z"),
    (["-o"], "option -o needs a value"),
    (["stray"], "unexpected argument stray"),
    (["-vx"], "option -v takes no value"),
])
def test_argv_errors(argv, message):
    with pytest.raises(ArgumentError, match=message):
        parse_argv(argv, fence_core_test._params)
    result = run_argv(*argv)
    assert result.rc == 1 and message in result.stderr


@pytest.mark.parametrize("text,message", [
    ("action=status\nplug=n1\n", "missing required option: ip"),
    (stdin(action="status", plug="n1", ipport="http"), "option 'ipport': 'http' is not"),
    (stdin(action="status", plug="n1", method="reset"), "option 'method': 'reset' is not"),
    (stdin(action="status", plug="n1", lanplus="maybe"), "option 'lanplus'"),
    (stdin(action="status", plug="n1", power_timeout="-3"), "option 'power_timeout'"),
    (stdin(action="explode", plug="n1"), "unrecognized action 'explode'"),
    (stdin(action="status"), "action 'status' needs a plug"),
])
def test_bad_values_are_one_line_and_exit_1(text, message):
    result = run_stdin(text)
    assert result.rc == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert DEVICE.calls == []  # nothing half done


def test_empty_boolean_on_stdin_is_ignored_with_a_warning_like_fencing_py():
    seen = []

    class fence_flag(fence_core_test):
        def validate(self):
            seen.append(self.lanplus)

    empty = run_stdin(stdin(action="validate-all", lanplus=""), cls=fence_flag)
    assert empty.rc == 0 and "option 'lanplus' has no value" in empty.stderr
    assert run_stdin(stdin(action="validate-all", lanplus="yes"), cls=fence_flag).rc == 0
    assert seen == [False, True]


# ------------------------------------------------------------------ actions
def test_status_codes():
    on = run_stdin(stdin(action="status", plug="n1"))
    assert (on.rc, on.stdout) == (0, "Status: ON\n")
    off = run_stdin(stdin(action="status", plug="n3"))
    assert (off.rc, off.stdout) == (2, "Status: OFF\n")
    missing = run_stdin(stdin(action="status", plug="n9"))
    assert missing.rc == 1 and "no plug n9" in missing.stderr and missing.stdout == ""


def test_off_is_verified_and_idempotent():
    DEVICE.lag = 3
    assert run_stdin(stdin(action="off", plug="n1")).rc == 0
    assert DEVICE.power["n1"] == fence.OFF
    assert DEVICE.calls.count(("status", "n1")) >= 4  # polled until the device said off
    DEVICE.calls.clear()
    assert run_stdin(stdin(action="off", plug="n1")).rc == 0
    assert ("off", "n1") not in DEVICE.calls          # already off: nothing sent


def test_off_that_never_happens_fails_within_power_timeout():
    DEVICE.refuse.add(fence.OFF)
    started = time.monotonic()
    result = run_stdin(stdin(action="off", plug="n1", power_timeout="0.3"))
    took = time.monotonic() - started
    assert result.rc == 1
    assert "timed out after 0.3s waiting for power off" in result.stderr
    assert 0.3 <= took < 1.5


def test_transient_status_errors_are_retried_while_polling():
    DEVICE.lag = 1

    class fence_flaky(fence_core_test):
        def set_power_status(self, plug, state):
            super().set_power_status(plug, state)
            DEVICE.status_errors = 2

    assert run_stdin(stdin(action="off", plug="n1"), cls=fence_flaky).rc == 0


def test_reboot_is_off_verified_then_on():
    assert run_stdin(stdin(action="reboot", plug="n1")).rc == 0
    sets = [call for call in DEVICE.calls if call[0] != "status"]
    assert sets == [("off", "n1"), ("on", "n1")]
    assert DEVICE.power["n1"] == fence.ON


def test_reboot_succeeds_when_only_power_on_fails():
    DEVICE.refuse.add(fence.ON)
    result = run_stdin(stdin(action="reboot", plug="n1", power_timeout="0.2", retry_on="2"))
    assert result.rc == 0
    assert DEVICE.power["n1"] == fence.OFF
    assert [c for c in DEVICE.calls if c[0] == "on"] == [("on", "n1"), ("on", "n1")]
    assert "did not power on" in result.stderr


def test_reboot_fails_when_power_off_fails():
    DEVICE.refuse.add(fence.OFF)
    result = run_stdin(stdin(action="reboot", plug="n1", power_timeout="0.2"))
    assert result.rc == 1
    assert ("on", "n1") not in DEVICE.calls


def test_reboot_cycle_method():
    DEVICE.power["n1"] = fence.OFF
    assert run_stdin(stdin(action="reboot", plug="n1", method="cycle")).rc == 0
    assert ("cycle", "n1") in DEVICE.calls and ("off", "n1") not in DEVICE.calls


def test_delay_and_power_wait_are_honoured():
    started = time.monotonic()
    assert run_stdin(stdin(action="off", plug="n1", delay="0.3", power_wait="0.2")).rc == 0
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    assert run_stdin(stdin(action="status", plug="n1", delay="5")).rc in (0, 2)
    assert time.monotonic() - started < 1  # delay applies to off/reboot only


def test_multiple_plugs():
    assert run_stdin(stdin(action="off", plug="n1,n2")).rc == 0
    assert DEVICE.power["n1"] == DEVICE.power["n2"] == fence.OFF
    DEVICE.power["n2"] = fence.ON
    status = run_stdin(stdin(action="status", plug="n1,n2"))
    assert (status.rc, status.stdout) == (0, "Status: ON\n")  # on while any plug is on
    DEVICE.calls.clear()
    assert run_stdin(stdin(action="reboot", plug="n1;n2", plug_separator=";")).rc == 0
    sets = [call for call in DEVICE.calls if call[0] != "status"]
    assert sets == [("off", "n2"), ("on", "n1"), ("on", "n2")]  # every plug off before on


def test_list_and_list_status_output():
    listing = run_stdin(stdin(action="list"))
    assert listing.rc == 0
    assert listing.stdout == "n1,node-one\nn2,\nn3,\n"  # 'bad name' is not listable
    assert "not listing 'bad name'" in listing.stderr
    status = run_stdin(stdin(action="list-status", separator=";"))
    assert status.stdout == "n1;node-one;ON\nn2;;ON\nn3;;OFF\n"


def test_list_without_plugs_prints_na():
    class fence_single(fence.FenceAgent):
        """Single."""

        ip = std.ip()

        def get_power_status(self, plug):
            return fence.ON

        def set_power_status(self, plug, state):
            pass

    result = run_stdin("action=list\n", cls=fence_single)
    assert (result.rc, result.stdout) == (0, "N/A\n")
    status = run_stdin("action=status\n", cls=fence_single)
    assert status.rc == 0


def test_monitor_uses_list_when_there_is_one():
    assert run_stdin(stdin(action="monitor")).rc == 0
    assert DEVICE.calls == []  # list, not status


def test_monitor_of_a_plug_device_without_list():
    class fence_nolist(fence_core_test):
        get_list = None

        def connect(self):
            DEVICE.calls.append(("connect", None))

    assert run_stdin(stdin(action="monitor"), cls=fence_nolist).rc == 0
    assert DEVICE.calls == [("connect", None)]       # reachable is all fenced asks for
    assert run_stdin(stdin(action="monitor", plug="n9"), cls=fence_nolist).rc == 1


def test_fabric_devices_offer_no_reboot_and_default_to_off():
    import xml.etree.ElementTree as ET

    class fence_fabric(fence_core_test):
        fabric = True

    root = ET.fromstring(run_stdin("action=metadata\n", cls=fence_fabric).stdout)
    assert "reboot" not in [a.get("name") for a in root.iter("action")]
    action = root.find("parameters/parameter[@name='action']/content")
    assert action.get("default") == "off"
    assert run_stdin(stdin(plug="n1"), cls=fence_fabric).rc == 0  # no action: off
    assert DEVICE.power["n1"] == fence.OFF
    assert run_stdin(stdin(action="reboot", plug="n1"), cls=fence_fabric).rc == 1
    assert fence_core_test._params["action"].default == "reboot"  # others untouched


def test_metadata_and_aliases_need_no_other_option():
    for action in ("metadata", "meta-data"):
        result = run_stdin(f"action={action}\n")
        assert result.rc == 0 and result.stdout.startswith('<?xml version="1.0" ?>')
    manpage = run_stdin("action=manpage\n")
    assert manpage.rc == 0 and manpage.stdout.startswith(".TH")


def test_validate_all_touches_no_device():
    assert run_stdin(stdin(action="validate-all")).rc == 0
    assert run_stdin("action=validate-all\n").rc == 1  # ip is required
    assert DEVICE.calls == []


def test_help_and_version():
    result = run_argv("-h")
    assert result.rc == 0 and "--ip=[ip]" in result.stdout
    version = run_argv("--version")
    assert version.rc == 0 and version.stdout.strip()


def test_disable_alias_and_unknown_action_name_is_sanitised():
    assert run_stdin(stdin(action="disable", plug="n1")).rc == 0
    assert DEVICE.power["n1"] == fence.OFF
    bad = run_stdin(stdin(action="\x1b[2Jwipe"))
    assert bad.rc == 1 and "\x1b" not in bad.stderr


def test_stray_print_in_agent_code_never_reaches_stdout():
    class fence_chatty(fence_core_test):
        def get_power_status(self, plug):
            print("debugging output")
            return fence.ON

    result = run_stdin(stdin(action="status", plug="n1"), cls=fence_chatty)
    assert result.stdout == "Status: ON\n"
    assert "debugging output" in result.stderr


# ------------------------------------------------------------ password_script
def test_password_script(tmp_path):
    script = tmp_path / "pw"
    script.write_text("#!/bin/sh\necho s3cr3t-from-script\necho second line\n")
    script.chmod(0o755)
    seen = []

    class fence_pw(fence_core_test):
        def validate(self):
            seen.append(self.password)

    debug = tmp_path / "debug.log"
    result = run_stdin(stdin(action="validate-all", password_script=f"{script} --arg",
                             verbose="1", debug_file=str(debug)), cls=fence_pw)
    assert result.rc == 0 and seen == ["s3cr3t-from-script"]
    assert "s3cr3t" not in result.stderr and "s3cr3t" not in debug.read_text()


@pytest.mark.parametrize("body,message", [
    ("exit 3", "password_script failed (exit 3)"),
    ("true", "password_script printed no password"),
])
def test_password_script_failures(tmp_path, body, message):
    script = tmp_path / "pw"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    result = run_stdin(stdin(action="validate-all", password_script=str(script)))
    assert result.rc == 1 and message in result.stderr


def test_password_script_is_never_run_through_a_shell(tmp_path):
    marker = tmp_path / "marker"
    result = run_stdin(stdin(action="validate-all",
                             password_script=f"/bin/echo pw; touch {marker}"))
    assert result.rc == 0
    assert not os.path.exists(marker)
