"""The secret guarantee: a value declared secret never reaches a log line (any level, any
target), an exit reason, an exception message, the fence debug file, or a child's argv."""

import io

import pytest
from core_paths import test_agent
from ocfkit import fence, process
from ocfkit.fence import std
from ocfkit.log import Log, Secrets
from ocfkit.testing import run_fence_agent, run_resource_agent

SECRET_AGENT = test_agent("SecretService")
PASSWORD = "Tr0ub4dor&3-xyzzy"


def leak(mode, tmp_path, name="password", **kw):
    logfile, debuglog = tmp_path / "ha.log", tmp_path / "ha-debug.log"
    extra = {"HA_debug": "1", "HA_DEBUGLOG": str(debuglog)}
    extra.update(kw.pop("extra", {}))
    result = run_resource_agent(SECRET_AGENT, "start", {name: PASSWORD, "leak": mode},
                                extra=extra, **kw)
    texts = [result.stdout, result.stderr]
    for path in (logfile, debuglog):
        if path.exists():
            texts.append(path.read_text())
    return result, "\n".join(texts)


@pytest.mark.parametrize("mode", ["argv", "daemon"])
def test_a_secret_on_a_command_line_is_refused(tmp_path, mode):
    result, everything = leak(mode, tmp_path)
    assert result.rc == 1
    assert "contains a secret; pass secrets in the environment or on stdin" in \
        result.exit_reason
    assert PASSWORD not in everything


def test_the_deprecated_name_of_a_secret_is_secret_too(tmp_path):
    result, everything = leak("argv", tmp_path, name="passwd")
    assert result.rc == 1 and PASSWORD not in everything


def test_secrets_may_travel_in_the_environment(tmp_path):
    result, everything = leak("env", tmp_path)
    assert result.rc == 0, result.stderr
    assert "child printed ****" in everything       # the child got it; the log did not
    assert PASSWORD not in everything


@pytest.mark.parametrize("mode", ["raise", "reason", "log"])
def test_exceptions_reasons_and_logs_are_masked(tmp_path, mode):
    result, everything = leak(mode, tmp_path)
    assert PASSWORD not in everything
    assert "****" in everything
    if mode != "log":
        assert result.rc == 1 and "****" in result.exit_reason


def test_masked_in_log_files_and_syslog_free_routes(tmp_path):
    result, everything = leak("log", tmp_path, extra={"HA_LOGFILE": str(tmp_path / "ha.log")})
    assert result.rc == 0
    assert (tmp_path / "ha.log").read_text().count("password is ****") == 4  # no debug there
    assert (tmp_path / "ha-debug.log").read_text().count("password is ****") == 5
    assert PASSWORD not in everything


def test_check_argv_uses_the_log_registry_too():
    secrets = Secrets(["hunter22"])
    log = Log("t", {}, secrets, stderr=io.StringIO())
    with pytest.raises(process.CommandError, match="argument 2 contains a secret"):
        process.check_argv(["tool", "-u", "x-hunter22-y"], log)
    assert process.check_argv(["tool", "-u", "hunter2"], log) == ["tool", "-u", "hunter2"]


def test_masking_prefers_the_longest_secret_and_ignores_trivial_ones():
    secrets = Secrets(["ab", "abcdef", "x"])
    assert secrets.mask("abcdef ab x") == "**** **** x"
    assert repr(secrets) == "<Secrets: 2 value(s)>"


# ------------------------------------------------------------------ fence agents
class fence_leaky(fence.FenceAgent):
    """Leaky device."""

    ip = std.ip(required=True)
    password = std.password()
    plug = std.plug()

    def get_power_status(self, plug):
        self.log.debug("logging in with %s", self.password)
        if plug == "argv":
            process.run(["/bin/true", "-p", self.password])
        if plug == "crash":
            raise ValueError(f"password {self.password} rejected")
        raise fence.FenceError(f"authentication failed for {self.password}")

    def set_power_status(self, plug, state):
        pass


@pytest.mark.parametrize("plug,expected", [
    ("argv", "contains a secret"),
    ("crash", "ValueError: password **** rejected"),
    ("plain", "authentication failed for ****"),
])
def test_fence_debug_file_stderr_and_errors_are_masked(tmp_path, plug, expected):
    debug = tmp_path / "debug"
    data = (f"action=status\nip=198.51.100.1\npasswd={PASSWORD}\nplug={plug}\n"
            f"verbose=1\ndebug_file={debug}\n").encode()
    out, err = io.StringIO(), io.StringIO()
    rc = fence_leaky.run([], stdin=data, environ={}, stdout=out, stderr=err)
    assert rc == 1
    assert expected in err.getvalue()
    assert "logging in with ****" in debug.read_text()
    for text in (out.getvalue(), err.getvalue(), debug.read_text()):
        assert PASSWORD not in text


def test_fence_password_from_the_command_line_is_masked_too(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    rc = fence_leaky.run(["-o", "status", "-a", "198.51.100.1", "-p", PASSWORD, "-n", "plain",
                          "-v"], environ={}, stdout=out, stderr=err)
    assert rc == 1 and PASSWORD not in err.getvalue()


def test_fence_example_subprocess_never_logs_the_password(tmp_path):
    """The real example agent does not declare a password: an unknown key is warned about
    by name only, never with its value."""
    from core_paths import SWITCH

    result = run_fence_agent(SWITCH, {"action": "monitor", "directory": str(tmp_path),
                                      "password": PASSWORD, "verbose": "1"})
    assert result.rc == 0
    assert "ignoring unknown option 'password'" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
