"""Logging routes as ocf_log takes them (contract A12): tty, HA_LOGFACILITY (syslog),
HA_LOGFILE, HA_DEBUGLOG, HA_debug, stderr; the tag; no work at import time."""

import io
import os
import pty
import shutil
import socket
import subprocess

import pytest
from core_paths import PYTHON, ROOT, SERVICE
from ocfkit.log import Log
from ocfkit.testing import execd_environment, run_resource_agent


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def logger(environ, stderr=None):
    stderr = stderr if stderr is not None else io.StringIO()
    return Log("Agent(rsc)[42]", environ, stderr=stderr), stderr


def emit(log):
    for level in ("debug", "info", "warning", "error", "crit"):
        log.log(level, "%s line", level)


def lines_of(path):
    return path.read_text().splitlines() if path.exists() else []


def test_no_target_configured_means_stderr():
    log, err = logger({})
    emit(log)
    assert err.getvalue().splitlines() == [
        "Agent(rsc)[42]: INFO: info line", "Agent(rsc)[42]: WARNING: warning line",
        "Agent(rsc)[42]: ERROR: error line", "Agent(rsc)[42]: CRIT: crit line"]


def test_ha_logfile_takes_over_from_stderr(tmp_path):
    logfile = tmp_path / "ha.log"
    log, err = logger({"HA_LOGFILE": str(logfile), "HA_DATEFMT": "[%Y] "})
    emit(log)
    assert err.getvalue() == ""
    lines = lines_of(logfile)
    assert len(lines) == 4 and lines[0].startswith("[") and lines[0].endswith(
        "] Agent(rsc)[42]: INFO: info line")
    assert oct(logfile.stat().st_mode & 0o777) == "0o600"


def test_debug_only_with_ha_debug_and_into_the_debug_log(tmp_path):
    logfile, debuglog = tmp_path / "ha.log", tmp_path / "debug.log"
    environ = {"HA_LOGFILE": str(logfile), "HA_DEBUGLOG": str(debuglog)}
    log, _ = logger(environ)
    emit(log)
    assert not any("DEBUG" in line for line in lines_of(logfile) + lines_of(debuglog))
    assert len(lines_of(debuglog)) == 4  # every line is copied to HA_DEBUGLOG
    log, _ = logger(dict(environ, HA_debug="1"))
    emit(log)
    assert not any("DEBUG" in line for line in lines_of(logfile))  # never in HA_LOGFILE
    assert sum("DEBUG: debug line" in line for line in lines_of(debuglog)) == 1


def test_debug_goes_to_stderr_when_nothing_else_is_configured():
    log, err = logger({"HA_debug": "yes"})
    log.debug("x=%d", 5)
    assert err.getvalue() == "Agent(rsc)[42]: DEBUG: x=5\n"
    log, err = logger({"HA_debug": "0"})
    log.debug("hidden")
    assert err.getvalue() == ""


def test_crm_resource_trace_request_turns_debug_on():
    log, err = logger({"OCF_TRACE_RA": "1"})
    log.debug("traced")
    assert "DEBUG: traced" in err.getvalue()


def test_same_file_for_log_and_debug_log_is_written_once(tmp_path):
    both = tmp_path / "both.log"
    log, _ = logger({"HA_LOGFILE": str(both), "HA_DEBUGLOG": str(both)})
    log.info("once")
    assert len(lines_of(both)) == 1


def test_a_terminal_gets_everything_and_files_nothing(tmp_path):
    logfile = tmp_path / "ha.log"
    log, err = logger({"HA_LOGFILE": str(logfile), "HA_LOGFACILITY": "daemon"},
                      stderr=FakeTTY())
    emit(log)
    assert len(err.getvalue().splitlines()) == 4
    assert not logfile.exists()


def test_facility_none_means_no_syslog():
    log, err = logger({"HA_LOGFACILITY": "none"})
    log.info("to stderr")
    assert "to stderr" in err.getvalue()


def test_unwritable_log_file_and_bad_format_do_not_raise(tmp_path):
    log, _ = logger({"HA_LOGFILE": str(tmp_path / "missing-dir" / "x.log")})
    log.error("still fine")
    log2, err = logger({})
    log2.info("%d items", "not-a-number")
    assert "%d items not-a-number" in err.getvalue()


def test_quiet_and_stderr_level_for_fence_agents(tmp_path):
    log = Log("fence_x[1]", {}, stderr=(err := io.StringIO()), stderr_level="warning")
    log.info("chatter")
    log.warning("careful")
    assert err.getvalue() == "fence_x[1]: WARNING: careful\n"
    log.quiet = True
    log.error("hidden by quiet")
    assert "hidden" not in err.getvalue()
    log.verbose = True
    log.info("verbose wins")
    assert "verbose wins" in err.getvalue()


def test_agent_on_a_real_terminal_logs_to_it_only(tmp_path):
    """A human running the agent by hand sees every line on the terminal."""
    logfile = tmp_path / "ha.log"
    env = execd_environment({"path": "/nonexistent/x"}, action="stop",
                            extra={"HA_LOGFILE": str(logfile)})
    controller, terminal = pty.openpty()
    try:
        child = subprocess.Popen([SERVICE, "stop"], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        assert child.wait(timeout=30) == 0
        output = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
    assert b"WARNING: directory of /nonexistent/x does not exist" in output
    assert not logfile.exists()


def test_agent_logs_to_the_files_execd_names(tmp_path):
    logfile, debuglog = tmp_path / "ha.log", tmp_path / "debug.log"
    result = run_resource_agent(SERVICE, "stop", {"path": "/nonexistent/x"},
                                instance="rsc1",
                                extra={"HA_LOGFILE": str(logfile), "HA_DEBUGLOG": str(debuglog),
                                       "HA_debug": "1"})
    assert result.rc == 0 and result.stderr == ""
    assert "ExampleService(rsc1)[" in logfile.read_text()
    assert "WARNING: directory of /nonexistent/x" in logfile.read_text()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare to give the agent its own /dev/log")
def test_ha_logfacility_sends_to_syslog(tmp_path):
    """The agent's syslog(3) reaches a /dev/log socket that this test listens on, inside
    a private mount namespace (nothing on the host changes)."""
    sock_path = str(tmp_path / "log.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(10)
    env = execd_environment({"path": "/nonexistent/x"}, action="stop", instance="rsc2",
                            extra={"HA_LOGFACILITY": "local3"})
    script = ('mount -t tmpfs ocfkit-core /dev && touch /dev/log && '
              f'mount --bind "{sock_path}" /dev/log && exec "$0" stop')
    try:
        result = subprocess.run(["unshare", "--mount", "--propagation", "private",
                                 "/bin/sh", "-c", script, SERVICE],
                                env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # syslog replaces stderr, as with ocf_log
        message = listener.recv(4096).decode()
    finally:
        listener.close()
    # <PRI>: local3 (19) * 8 + warning (4) = 156
    assert message.startswith("<156>")
    assert "ExampleService(rsc2)[" in message and "WARNING: directory of /nonexistent/x" in message


def test_importing_the_library_does_no_work():
    """No environment read, no handler installed, no file touched at import time."""
    code = ("import os, sys\n"
            "class Spy(dict):\n"
            "    def __getitem__(self, k): raise SystemExit('env read: ' + k)\n"
            "    def get(self, k, d=None): raise SystemExit('env read: ' + k)\n"
            "os.environ = Spy()\n"
            "import ocfkit, ocfkit.ocf, ocfkit.fence, ocfkit.log, ocfkit.process\n"
            "import ocfkit.testing, ocfkit.deadline, ocfkit.params\n"
            "print('ok')\n")
    result = subprocess.run([PYTHON, "-I", "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=30)
    assert result.stdout == "ok\n", result.stderr
