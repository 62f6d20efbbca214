"""process.spawn_daemon forks and execs itself (no subprocess import): it must behave as
Popen(start_new_session=True, close_fds=True, cwd=..., restore_signals=True) would."""

import os
import subprocess
import sys
import time

import pytest
from ocfkit import process


def _wait_for_file(path, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path):
            time.sleep(0.05)  # let the writer finish
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} was not written")


def _reap(pid):
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def test_session_cwd_stdio_descriptors_and_signals(tmp_path):
    report = tmp_path / "report"
    log = tmp_path / "out.log"
    log.write_text("earlier line\n")
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)        # an inheritable fd the daemon must not get
    passed = os.open(os.devnull, os.O_RDONLY)
    script = (f"pwd > {report}.cwd; ls /proc/self/fd > {report}.fds; "
              f"grep SigIgn /proc/self/status > {report}.sig; echo to-stdout; "
              f"echo to-stderr >&2; read line; echo \"stdin:$line\"; mv {report}.cwd {report}")
    try:
        pid = process.spawn_daemon(["/bin/sh", "-c", script], cwd=str(tmp_path),
                                   stdout=str(log), stderr=str(log), pass_fds=(passed,))
        _wait_for_file(str(report))
        _reap(pid)
        assert os.getsid(os.getpid()) != pid
        assert report.read_text().strip() == str(tmp_path)
        fds = {int(fd) for fd in (tmp_path / "report.fds").read_text().split()}
        assert passed in fds and leaked not in fds
        ignored = int((tmp_path / "report.sig").read_text().split()[1], 16)
        assert not ignored & (1 << (13 - 1)) and not ignored & (1 << (25 - 1))
        assert log.read_text() == "earlier line\nto-stdout\nto-stderr\nstdin:\n"
    finally:
        os.close(leaked)
        os.close(passed)


def test_new_session_and_path_lookup_in_the_given_environment(tmp_path):
    pid = process.spawn_daemon(["sleep", "5"], env={"PATH": "/usr/bin:/bin"})
    try:
        assert os.getsid(pid) == pid
        assert process.matches(pid, {"sleep"})
    finally:
        os.kill(pid, process.SIGKILL)
        _reap(pid)


@pytest.mark.parametrize("argv, message", [
    (["/nonexistent/daemon"], "No such file"),
    (["no-such-daemon-anywhere"], "not found in PATH"),
    ([None], "Exec format error"),
])
def test_exec_failure_is_a_command_error(argv, message, tmp_path):
    if argv == [None]:  # an executable file that is no program
        argv = [str(tmp_path / "garbage")]
        with open(argv[0], "wb") as handle:
            handle.write(b"\x00\x01not a program")
        os.chmod(argv[0], 0o755)
    with pytest.raises(process.CommandError, match=message):
        process.spawn_daemon(argv)


def test_bad_cwd_is_a_command_error():
    with pytest.raises(process.CommandError, match="No such file"):
        process.spawn_daemon(["/bin/true"], cwd="/nonexistent-directory")


def test_subprocess_is_not_imported():
    code = ("import sys, ocfkit.process as p\n"
            "pid = p.spawn_daemon(['/bin/true'])\n"
            "print('subprocess' in sys.modules)")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
