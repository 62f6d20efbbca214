"""Resource-agent dispatch in-process: exit-code mapping, the invalid-environment rule
(contract A5), exit reasons, check levels, deadlines, notify, reload-agent, stdout."""

import io

import pytest
from ocfkit import ocf
from ocfkit.ocf.contract import OCFExit
from ocfkit.testing import execd_environment

CONTRACT_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191}


class Outcome:
    def __init__(self, rc, stdout, stderr):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr

    @property
    def reasons(self):
        return [line[len("ocf-exit-reason:"):] for line in self.stderr.splitlines()
                if line.startswith("ocf-exit-reason:")]


def run(cls, action, params=None, **env_kw):
    environ = execd_environment(params, action=action, agent_type=cls.agent_name, **env_kw)
    out, err = io.StringIO(), io.StringIO()
    rc = cls.run([action], environ=environ, stdout=out, stderr=err)
    return Outcome(rc, out.getvalue(), err.getvalue())


class Scripted(ocf.ResourceAgent):
    """Test agent whose every answer is a parameter."""

    outcome = ocf.String(default="ok")  # what the action does: ok, raise:CODE, return:N ...
    invalid = ocf.Select(("no", "configured", "args", "installed", "perm", "crash"),
                         default="no")
    count = ocf.Integer(default=1, min=0)
    seen = []

    def validate(self):
        if self.invalid == "crash":
            raise KeyError("boom")
        if self.invalid != "no":
            error = {"configured": ocf.ErrConfigured, "args": ocf.ErrArgs,
                     "installed": ocf.ErrInstalled, "perm": ocf.ErrPerm}[self.invalid]
            raise error(f"validation says {self.invalid}")

    def act(self):
        Scripted.seen.append(self.env)
        kind, _, value = self.outcome.partition(":")
        if kind == "raise":
            raise ocf.OCFError(f"raised {value}", code=int(value))
        if kind == "return":
            return int(value) if value.lstrip("-").isdigit() else value
        if kind == "crash":
            raise RuntimeError("something broke\nacross lines")
        if kind == "print":
            print("noise on stdout")
        return None

    start = ocf.action(timeout="20s")(lambda self: self.act())
    stop = ocf.action(timeout="20s")(lambda self: self.act())
    monitor = ocf.action(timeout="20s", interval="10s", depth=0)(
        ocf.action(timeout="30s", interval="60s", depth=10)(
            ocf.action(timeout="40s", interval="120s", depth=20)(lambda self: self.act())))
    promote = ocf.action(timeout="20s")(lambda self: self.act())
    notify = ocf.action(timeout="20s")(lambda self: self.act())



# ----------------------------------------------------------- exit-code mapping
@pytest.mark.parametrize("outcome,rc", [
    ("ok", 0), ("return:0", 0), ("return:1", 1), ("return:5", 5), ("return:190", 190),
    ("raise:6", 6), ("raise:2", 2), ("raise:4", 4),
])
def test_start_outcomes_map_to_exit_codes(outcome, rc):
    result = run(Scripted, "start", {"outcome": outcome})
    assert result.rc == rc if rc != 190 else result.rc == 1  # 190 is monitor-only
    assert result.stdout == ""


def test_returned_garbage_is_generic_error_with_reason():
    result = run(Scripted, "start", {"outcome": "return:banana"})
    assert result.rc == 1
    assert result.reasons == ["start returned 'banana', which is not an OCF exit code"]


def test_unexpected_exception_is_one_line_generic_error_without_traceback():
    result = run(Scripted, "start", {"outcome": "crash"})
    assert result.rc == 1
    assert result.reasons == ["unexpected error in start: RuntimeError: something broke "
                              "across lines"]
    assert "Traceback" not in result.stderr


def test_traceback_goes_to_the_debug_log_when_asked(tmp_path):
    debuglog = tmp_path / "debug.log"
    result = run(Scripted, "start", {"outcome": "crash"},
                 extra={"HA_debug": "1", "HA_DEBUGLOG": str(debuglog)})
    assert result.rc == 1
    assert "Traceback" in debuglog.read_text()


@pytest.mark.parametrize("rc", [0, 1, 7, 8, 9, 190, 191])
def test_monitor_may_return_every_monitor_code(rc):
    result = run(Scripted, "monitor", {"outcome": f"return:{rc}"}, interval_ms=10000)
    assert result.rc == rc


@pytest.mark.parametrize("rc", [7, 8, 9, 190, 191])
def test_monitor_only_codes_from_other_actions_become_errors(rc):
    result = run(Scripted, "start", {"outcome": f"return:{rc}"})
    assert result.rc == 1
    assert "only a monitor may return" in result.reasons[0]


def test_exit_code_enum():
    assert int(ocf.NOT_RUNNING) == 7 and ocf.NOT_RUNNING.name == "NOT_RUNNING"
    assert OCFExit(191) is ocf.DEGRADED_PROMOTED
    assert [int(c) for c in OCFExit.members()] == sorted(CONTRACT_CODES)
    with pytest.raises(ValueError):
        OCFExit(10)
    assert ocf.NotRunning("x").code == 7 and ocf.ErrConfigured("x").code == 6
    assert ocf.FailedPromoted("x").code == 9 and ocf.OCFError("x", code=190).code == 190


# ------------------------------------------------ invalid environment (A5)
INVALID = ["configured", "args", "installed", "perm", "crash"]
VALIDATION_RC = {"configured": 6, "args": 2, "installed": 5, "perm": 4, "crash": 1}


@pytest.mark.parametrize("invalid", INVALID)
def test_stop_succeeds_when_validation_fails(invalid):
    Scripted.seen.clear()
    result = run(Scripted, "stop", {"invalid": invalid})
    assert result.rc == 0 and result.reasons == []
    assert Scripted.seen == []  # the action itself never ran


@pytest.mark.parametrize("invalid", INVALID)
def test_probe_reports_not_running_when_validation_fails(invalid):
    result = run(Scripted, "monitor", {"invalid": invalid}, interval_ms=0)
    assert result.rc == 7 and result.reasons == []


@pytest.mark.parametrize("invalid", INVALID)
def test_recurring_monitor_fails_with_reason_when_validation_fails(invalid):
    result = run(Scripted, "monitor", {"invalid": invalid}, interval_ms=10000)
    assert result.rc == 1
    assert len(result.reasons) == 1


@pytest.mark.parametrize("invalid", INVALID)
@pytest.mark.parametrize("action", ["start", "promote", "validate-all"])
def test_other_actions_return_the_validation_code(invalid, action):
    result = run(Scripted, action, {"invalid": invalid})
    assert result.rc == VALIDATION_RC[invalid]
    assert len(result.reasons) == 1


def test_notify_succeeds_even_when_validation_fails():
    assert run(Scripted, "notify", {"invalid": "configured"}).rc == 0


@pytest.mark.parametrize("params,expected", [
    ({"count": "many"}, "parameter 'count': 'many' is not an integer"),
    ({"count": "-1"}, "parameter 'count': -1 is out of range (at least 0)"),
    ({"invalid": "sometimes"}, "parameter 'invalid': 'sometimes' is not one of"),
])
def test_bad_values_are_configuration_errors_with_the_a5_rule(params, expected):
    start = run(Scripted, "start", params)
    assert start.rc == 6 and start.reasons[0].startswith(expected)
    assert run(Scripted, "stop", params).rc == 0
    assert run(Scripted, "monitor", params, interval_ms=0).rc == 7
    assert run(Scripted, "monitor", params, interval_ms=5000).rc == 1


@pytest.mark.parametrize("rc", [2, 5, 6, 7])
def test_stop_never_fails_for_environment_codes_from_the_action(rc):
    """Missing software/config during stop (A4) or 'already stopped' are success."""
    assert run(Scripted, "stop", {"outcome": f"raise:{rc}"}).rc == 0


@pytest.mark.parametrize("rc", [1, 4])
def test_stop_reports_real_failures(rc):
    result = run(Scripted, "stop", {"outcome": f"raise:{rc}"})
    assert result.rc == rc and result.reasons == [f"raised {rc}"]


@pytest.mark.parametrize("rc", [2, 5, 6])
def test_probe_turns_environment_codes_into_not_running(rc):
    assert run(Scripted, "monitor", {"outcome": f"raise:{rc}"}, interval_ms=0).rc == 7
    recurring = run(Scripted, "monitor", {"outcome": f"raise:{rc}"}, interval_ms=10000)
    assert recurring.rc == rc


def test_probe_not_running_is_quiet_recurring_not_running_has_reason():
    assert run(Scripted, "monitor", {"outcome": "raise:7"}, interval_ms=0).reasons == []
    assert run(Scripted, "monitor", {"outcome": "raise:7"}, interval_ms=1000).reasons == [
        "raised 7"]


def test_notify_always_succeeds():
    for outcome in ("raise:1", "crash", "return:6"):
        assert run(Scripted, "notify", {"outcome": outcome}).rc == 0


# -------------------------------------------------------------- dispatching
def test_unknown_action_is_unimplemented_with_reason():
    result = run(Scripted, "migrate_to")
    assert result.rc == 3
    assert result.reasons == ["action 'migrate_to' is not implemented by Scripted"]
    assert result.stdout == ""


def test_unknown_action_name_is_sanitised():
    result = Outcome(Scripted.run(["\x1b[31mevil\nline"], environ={},
                                  stdout=io.StringIO(), stderr=(err := io.StringIO())),
                     "", err.getvalue())
    assert result.rc == 3
    assert "\x1b" not in result.stderr and len(result.reasons) == 1


def test_no_action_is_a_usage_error_and_usage_is_success():
    err = io.StringIO()
    assert Scripted.run([], environ={}, stdout=io.StringIO(), stderr=err) == 2
    assert err.getvalue().startswith("usage: Scripted {")
    out, err = io.StringIO(), io.StringIO()
    assert Scripted.run(["usage"], environ={}, stdout=out, stderr=err) == 0
    assert out.getvalue() == ""
    assert "outcome (default ok)" in err.getvalue()


def test_extra_arguments_are_ignored():
    out, err = io.StringIO(), io.StringIO()
    rc = Scripted.run(["start", "extra", "--args"], environ=execd_environment({}),
                      stdout=out, stderr=err)
    assert rc == 0


def test_status_is_a_hidden_alias_of_monitor():
    assert run(Scripted, "status", {"outcome": "return:7"}).rc == 7
    assert "status" not in Scripted.usage().splitlines()[0]


def test_only_meta_data_writes_stdout():
    result = run(Scripted, "start", {"outcome": "print"})
    assert result.rc == 0
    assert result.stdout == ""
    assert "noise on stdout" in result.stderr
    meta = run(Scripted, "meta-data")
    assert meta.rc == 0 and meta.stdout.startswith('<?xml version="1.0"?>')


def test_meta_data_needs_no_parameters_and_ignores_bad_ones():
    result = run(Scripted, "meta-data", {"count": "not-a-number", "invalid": "crash"})
    assert result.rc == 0 and "<resource-agent" in result.stdout


def test_exit_reason_is_one_line_and_uses_the_prefix():
    result = run(Scripted, "start", {"outcome": "crash"},
                 extra={"OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:"})
    assert len([line for line in result.stderr.splitlines()
                if line.startswith("ocf-exit-reason:")]) == 1


def test_deprecated_alias_is_mapped_with_a_warning():
    class Renamed(ocf.ResourceAgent):
        """Renamed parameter."""

        prefix = ocf.CIDRPrefix(required=True, aliases=("netmask",))
        got = []

        @ocf.action(timeout="20s")
        def start(self):
            Renamed.got.append(self.prefix)

    result = run(Renamed, "start", {"netmask": "24"})
    assert result.rc == 0 and Renamed.got == [24]
    assert "parameter 'netmask' is deprecated, use 'prefix'" in result.stderr
    # the new name wins when both are set
    run(Renamed, "start", {"netmask": "24", "prefix": "16"})
    assert Renamed.got[-1] == 16


def test_missing_required_parameters_are_listed():
    class Needs(ocf.ResourceAgent):
        """Needs two."""

        a = ocf.String(required=True)
        b = ocf.String(required=True)
        start = ocf.action(timeout="20s")(lambda self: None)

    result = Needs.run(["start"], environ=execd_environment({}), stdout=io.StringIO(),
                       stderr=(err := io.StringIO()))
    assert result == 6
    assert "ocf-exit-reason:required parameters not set: a, b" in err.getvalue()


# ------------------------------------------------ check levels and deadlines
@pytest.mark.parametrize("level,depth", [
    (None, 0), ("0", 0), ("5", 0), ("10", 10), ("15", 10), ("19", 10), ("20", 20),
    ("99", 20), ("-3", 0), ("ten", 0), ("", 0),
])
def test_check_level_rounds_down_to_an_implemented_depth(level, depth):
    Scripted.seen.clear()
    extra = {} if level is None else {"OCF_CHECK_LEVEL": level}
    assert run(Scripted, "monitor", interval_ms=10000, extra=extra).rc == 0
    assert Scripted.seen[-1].depth == depth


@pytest.mark.parametrize("timeout_ms,seconds", [
    ("20000", 18.0),   # 10 % safety margin, at most 2 s
    ("5000", 4.5),
    ("60000", 58.0),
    (None, 20.0 - 2.0),  # crm_resource may not pass one: the advertised timeout
    ("garbage", 18.0),
])
def test_deadline_comes_from_the_operation_timeout(timeout_ms, seconds):
    seen = []

    class Timed(ocf.ResourceAgent):
        """Timed."""

        @ocf.action(timeout="20s")
        def start(self):
            seen.append((self.deadline.seconds, self.env.timeout))

    environ = execd_environment({}, timeout_ms=None)
    if timeout_ms is not None:
        environ["OCF_RESKEY_CRM_meta_timeout"] = timeout_ms
    assert Timed.run(["start"], environ=environ, stdout=io.StringIO(),
                     stderr=io.StringIO()) == 0
    assert seen[0][0] == pytest.approx(seconds)


def test_monitor_without_interval_is_a_probe():
    Scripted.seen.clear()
    run(Scripted, "monitor", interval_ms=None)
    run(Scripted, "monitor", interval_ms=0)
    run(Scripted, "monitor", interval_ms=10000)
    assert [env.is_probe for env in Scripted.seen] == [True, True, False]
    assert Scripted.seen[2].interval == 10.0


# ------------------------------------------------------------------ notify
def test_notify_variables_as_a_structure():
    captured = []

    class Clone(ocf.ResourceAgent):
        """Clone."""

        @ocf.action(timeout="20s")
        def notify(self):
            captured.append(self.env.notify)

    meta = {
        "notify_type": "post", "notify_operation": "start",
        "notify_start_resource": "web:0 web:2", "notify_start_uname": "n1 n3",
        "notify_active_resource": "web:1 ", "notify_active_uname": "n2",
        "notify_inactive_resource": "web:3", "notify_all_uname": "n1 n2 n3",
        "master_resource": "", "notify_master_resource": "web:1",
        "notify_master_uname": "n2", "notify_stop_resource": " ",
        "clone": "0", "clone_max": "4",
    }
    environ = execd_environment({}, action="notify", meta=meta)
    assert Clone.run(["notify"], environ=environ, stdout=io.StringIO(),
                     stderr=io.StringIO()) == 0
    notify = captured[0]
    assert (notify.type, notify.operation, notify.is_post) == ("post", "start", True)
    assert notify.start == [("web:0", "n1"), ("web:2", "n3")]
    assert notify.active == [("web:1", "n2")]
    assert notify.stop == []
    assert notify.promoted == [("web:1", "n2")]  # legacy master_* folded in
    assert notify.inactive == ["web:3"]
    assert notify.all_unames == ["n1", "n2", "n3"]


def test_notify_tolerates_unpaired_lists():
    from ocfkit.ocf.notify import Notify

    notify = Notify({"OCF_RESKEY_CRM_meta_notify_stop_resource": "a:0 a:1",
                     "OCF_RESKEY_CRM_meta_notify_stop_uname": "n1"})
    assert notify.stop == [("a:0", "n1"), ("a:1", None)]
    assert notify.type is None and not notify.is_pre


# ---------------------------------------------------------------- reload-agent
def test_builtin_reload_agent_validates_the_new_values():
    class Tunable(ocf.ResourceAgent):
        """Tunable."""

        interval = ocf.Duration(default="5s", reloadable=True)
        start = ocf.action(timeout="20s")(lambda self: None)

    assert "reload-agent" in Tunable._actions
    assert run(Tunable, "reload-agent", {"interval": "7s"}).rc == 0
    bad = run(Tunable, "reload-agent", {"interval": "soon"})
    assert bad.rc == 6 and "interval" in bad.reasons[0]


def test_no_reload_agent_without_reloadable_parameters():
    class Fixed(ocf.ResourceAgent):
        """Fixed."""

        value = ocf.String()
        start = ocf.action(timeout="20s")(lambda self: None)

    assert "reload-agent" not in Fixed._actions
    assert run(Fixed, "reload-agent").rc == 3


def test_one_method_may_serve_two_actions():
    calls = []

    class Both(ocf.ResourceAgent):
        """Both."""

        value = ocf.String(reloadable=True)

        @ocf.action(timeout="20s")
        @ocf.action("reload-agent", timeout="30s")
        def start(self):
            calls.append(self.env.action)

    assert run(Both, "start").rc == 0 and run(Both, "reload-agent").rc == 0
    assert calls == ["start", "reload-agent"]
    assert [s.timeout for s in Both._actions["reload-agent"][1]] == [30.0]


# ------------------------------------------------------------ state and lock
def test_state_files_and_lock_live_under_ha_rsctmp(tmp_path):
    seen = []

    class Stateful(ocf.ResourceAgent):
        """Stateful."""

        @ocf.action(timeout="20s")
        def start(self):
            with self.lock():
                seen.append(self.state_path("state"))
                # a second lock on the same resource waits, then gives up at its deadline
                with pytest.raises(ocf.ErrGeneric, match="timed out waiting for lock"):
                    with self.lock(ocf.Deadline(0.05)):
                        pass

    environ = execd_environment({}, instance="web:1", extra={"HA_RSCTMP": str(tmp_path)})
    assert Stateful.run(["start"], environ=environ, stdout=io.StringIO(),
                        stderr=(err := io.StringIO())) == 0, err.getvalue()
    assert seen == [str(tmp_path / "ocfkit-Stateful-web_1.state")]


def test_promotion_score_goes_through_crm_attribute(tmp_path, monkeypatch):
    import shutil
    import subprocess

    if not shutil.which("crm_attribute") or not shutil.which("cibadmin"):
        pytest.skip("pacemaker-cli-utils not installed")
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)
    monkeypatch.setenv("CIB_file", str(cib))
    subprocess.run(["cibadmin", "-C", "-o", "nodes", "-X", '<node id="1" uname="n1"/>'],
                   check=True)

    class Scored(ocf.ResourceAgent):
        """Scored."""

        @ocf.action(timeout="20s")
        def start(self):
            self.set_promotion_score(10, lifetime="forever")

        @ocf.action(timeout="20s")
        def stop(self):
            self.set_promotion_score(None, lifetime="forever")

    environ = execd_environment({}, instance="db:0", meta={"on_node": "n1"})
    assert Scored.run(["start"], environ=environ, stdout=io.StringIO(),
                      stderr=(err := io.StringIO())) == 0, err.getvalue()
    assert 'name="master-db" value="10"' in cib.read_text()
    assert Scored.run(["stop"], environ=environ, stdout=io.StringIO(),
                      stderr=io.StringIO()) == 0
    assert "master-db" not in cib.read_text()
