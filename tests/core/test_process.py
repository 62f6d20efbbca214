"""ocfkit.process with real processes: daemons outlive the agent's process group, stop
escalates signals inside the deadline, a reused PID is never trusted or killed."""

import os
import subprocess
import time

import pytest
from core_paths import PYTHON, test_agent
from ocfkit import process
from ocfkit.deadline import Deadline
from ocfkit.testing import run_resource_agent

DAEMON = test_agent("DaemonService")
SLEEPER = test_agent("sleeper")


@pytest.fixture
def pidfile(tmp_path):
    path = tmp_path / "daemon.pid"
    yield str(path)
    pid = process.read_pidfile(str(path))  # whatever a failed test left behind
    if pid and process.matches(pid, ("sleeper",)):
        os.kill(pid, process.SIGKILL)


def daemon(action, pidfile, timeout=20, **params):
    values = {"pidfile": pidfile}
    values.update({k: str(v).lower() for k, v in params.items()})
    return run_resource_agent(DAEMON, action, values, timeout=timeout)


def test_daemon_lifecycle(pidfile):
    assert daemon("monitor", pidfile).rc == 7
    assert daemon("start", pidfile).rc == 0
    pid = process.read_pidfile(pidfile)
    assert process.is_alive(pid) and os.getsid(pid) == pid  # leader of its own session
    assert daemon("monitor", pidfile).rc == 0
    assert daemon("start", pidfile).rc == 0 and process.read_pidfile(pidfile) == pid
    assert daemon("stop", pidfile).rc == 0
    assert not process.is_alive(pid)
    assert daemon("stop", pidfile).rc == 0
    assert daemon("monitor", pidfile).rc == 7


def test_daemon_survives_pacemaker_killing_the_timed_out_start(pidfile):
    """Pacemaker SIGKILLs the whole process group of a timed-out action (contract A1)."""
    result = daemon("start", pidfile, timeout=1.5, hang_after_spawn=True)
    assert result.rc is None  # killed by the harness, as Pacemaker would
    pid = process.read_pidfile(pidfile)
    assert pid and process.is_alive(pid)
    assert daemon("monitor", pidfile).rc == 0
    assert daemon("stop", pidfile).rc == 0


def test_negative_control_a_child_in_the_same_session_dies_with_the_group(pidfile):
    """Shows the test above can fail: without a new session the daemon is killed too."""
    result = daemon("start", pidfile, timeout=1.5, hang_after_spawn=True, same_session=True)
    assert result.rc is None
    pid = process.read_pidfile(pidfile)
    assert Deadline(2).poll(lambda: not process.is_alive(pid))
    assert daemon("monitor", pidfile).rc == 7


def test_stop_escalates_to_sigkill_inside_the_deadline(pidfile):
    assert daemon("start", pidfile, ignore_term=True).rc == 0
    pid = process.read_pidfile(pidfile)
    started = time.monotonic()
    result = run_resource_agent(DAEMON, "stop", {"pidfile": pidfile}, timeout_ms=2000)
    took = time.monotonic() - started
    assert result.rc == 0, result.stderr
    assert not process.is_alive(pid)
    assert 0.5 < took < 2.0  # waited for SIGTERM to work, then SIGKILL, within 2 s


def test_a_reused_pid_is_neither_trusted_nor_killed(pidfile):
    bystander = subprocess.Popen(["sleep", "600"])
    try:
        with open(pidfile, "w") as handle:
            handle.write(f"{bystander.pid}\n")          # a daemon-written pid file
        assert daemon("monitor", pidfile).rc == 7
        assert daemon("stop", pidfile).rc == 0
        assert bystander.poll() is None                # still alive
    finally:
        bystander.kill()
        bystander.wait()


def test_a_matching_name_with_another_start_time_is_not_our_daemon(pidfile):
    """Same program, same PID in the file, but not the process we started."""
    other = subprocess.Popen([PYTHON, "-I", SLEEPER])
    try:
        assert Deadline(5).poll(lambda: process.matches(other.pid, ("sleeper",)))
        started = process.start_time(other.pid)
        with open(pidfile, "w") as handle:
            handle.write(f"{other.pid}\n{started + 1}\n")
        assert process.pidfile_process(pidfile, names=("sleeper",)) is None
        assert daemon("stop", pidfile).rc == 0 and other.poll() is None
        process.write_pidfile(pidfile, other.pid)
        assert process.pidfile_process(pidfile, names=("sleeper",)) == other.pid
    finally:
        other.kill()
        other.wait()


def test_pidfile_edge_cases(tmp_path):
    path = str(tmp_path / "x.pid")
    assert process.pidfile_process(path) is None                  # absent
    for text in ("", "garbage\n", "-5\n", "0\n", "99999999\n", f"{os.getpid()}\nnope\n"):
        with open(path, "w") as handle:
            handle.write(text)
        assert process.pidfile_process(path) is None, text
    process.write_pidfile(path, os.getpid())
    assert process.pidfile_process(path) == os.getpid()
    assert process.pidfile_process(path, names=("not-this",)) is None


def test_run_captures_and_times_out():
    result = process.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    with pytest.raises(process.CommandError, match="sh failed .exit 3.: err"):
        process.run(["/bin/sh", "-c", "echo err >&2; exit 3"], check=True)
    started = time.monotonic()
    with pytest.raises(process.CommandError, match="timed out"):
        process.run(["sleep", "5"], deadline=Deadline(0.3))
    assert time.monotonic() - started < 2
    with pytest.raises(process.CommandError, match="cannot run /nonexistent"):
        process.run(["/nonexistent/tool"])
    with pytest.raises(TypeError, match="shell"):
        process.run("echo hi")


def test_stop_processes_reports_survivors_only_when_time_is_out():
    child = subprocess.Popen(["sleep", "600"])
    try:
        # SIGSTOPped processes still die of SIGKILL; with SIGTERM only they survive.
        alive = process.stop_processes([child.pid], Deadline(0.3),
                                       steps=((process.SIGSTOP, 1.0),))
        assert alive == [child.pid]
        assert process.stop_processes([child.pid], Deadline(2)) == []
    finally:
        child.kill()
        child.wait()


def test_tree_and_children():
    parent = subprocess.Popen(["/bin/sh", "-c", "sleep 600 & sleep 600 & wait"])
    try:
        assert Deadline(5).poll(lambda: len(process.children(parent.pid)) == 2)
        assert len(process.tree(parent.pid)) == 3
        assert process.stop_processes(process.tree(parent.pid), Deadline(3)) == []
    finally:
        parent.kill()
        parent.wait()
