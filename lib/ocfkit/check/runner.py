"""Run an agent once, bounded, the way pacemaker-execd and pacemaker-fenced do.

``ocfkit.testing.run`` serves tests; the checker needs more: every run is bounded even
when a daemon the agent spawned keeps stdout open, the agent's process group is
SIGKILLed on timeout (what Pacemaker does), an unprivileged run drops every group, and
while a fence agent runs its children's command lines can be watched for a secret
(``/proc/PID/cmdline`` is readable by every local user).
"""

import os
import selectors
import signal
import subprocess
import time

# After the agent exits, how long to keep reading a pipe that a leftover child holds open.
_DRAIN_GRACE = 0.3


class Run:
    """One agent invocation and everything observed about it."""

    def __init__(self, label, argv, env, stdin):
        self.label = label          # e.g. "stop (never started)"
        self.argv = argv
        self.env = env
        self.stdin = stdin
        self.rc = None
        self.stdout = ""
        self.stderr = ""
        self.wall = 0.0
        self.timeout = None
        self.timed_out = False
        self.error = None           # could not be executed at all (OSError text)
        self.pipes_held = False     # a child kept stdout/stderr open after the agent exited
        self.group_left = []        # processes still in the agent's process group afterwards
        self.secret_argv = []       # (pid, argv) of processes showing a watched secret

    @property
    def exit_reasons(self):
        from ocfkit.check.output import exit_reasons

        return exit_reasons(self.stderr)

    def reproduce(self):
        """A shell command line that repeats this run (for the verbose report)."""
        import shlex

        from ocfkit.testing import EXECD_BASE

        env = [f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items())
               if EXECD_BASE.get(k) != v and k not in ("PATH", "LC_ALL")
               or k == "PATH" and v != EXECD_BASE["PATH"]]
        command = " ".join(shlex.quote(a) for a in self.argv)
        if env:
            command = "env " + " ".join(env) + " " + command
        if self.stdin:
            lines = self.stdin.decode("utf-8", "replace").split("\n")
            if lines[-1] == "":
                lines.pop()
            command = "printf '%s\\n' " + " ".join(shlex.quote(line) for line in lines) \
                      + " | " + command
        return command

    def describe(self):
        if self.error:
            return f"could not run: {self.error}"
        if self.timed_out:
            return f"killed after {self.timeout:g} s (timeout)"
        return f"rc {self.rc}"


def _proc_stat(pid):
    """(ppid, pgrp, session) of ``pid`` or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return int(fields[1]), int(fields[2]), int(fields[3])


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return []


def related_processes(leader):
    """PIDs in the session or process group ``leader`` started (the agent and its children,
    unless they detached), plus direct children of those."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _proc_stat(int(name))
            if stat:
                stats[int(name)] = stat
    found = {pid for pid, (_, pgrp, sid) in stats.items() if leader in (pgrp, sid)}
    # children that called setsid() are still children of something we found
    found |= {pid for pid, (ppid, _, _) in stats.items() if ppid in found}
    return found, stats


def run(label, argv, env, *, stdin=None, timeout=20.0, user=None, cwd="/", watch=()):
    """Run ``argv`` in a new session (new process group), bounded by ``timeout`` seconds.

    ``user`` is a user name: the run drops to its uid, its primary group and no
    supplementary groups. ``watch`` holds secrets (str) to look for in the command line
    of every process the agent starts, while it runs.
    """
    result = Run(label, argv, env, stdin)
    result.timeout = timeout
    kwargs = {}
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
    start = time.monotonic()
    try:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, start_new_session=True,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    except OSError as exc:
        result.error = exc.strerror or str(exc)
        return result
    if stdin is not None:
        try:
            process.stdin.write(stdin)
        except BrokenPipeError:
            pass  # the agent did not read its stdin; that is its business
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
    try:
        _collect(process, result, start + timeout, [s.encode() for s in watch if s])
    except BaseException:
        # Interrupted (Ctrl-C reaches only the checker: the agent has its own session).
        _kill_group(process.pid)
        process.wait()
        raise
    result.wall = time.monotonic() - start
    result.rc = None if result.timed_out else process.returncode
    if not result.timed_out:
        found, stats = related_processes(process.pid)
        result.group_left = sorted(pid for pid in found
                                   if stats[pid][1] == process.pid and pid != process.pid)
    return result


def _collect(process, result, deadline, secrets):
    """Read the agent's output until it exits (and a little after), bounded by
    ``deadline``; kill its process group when the deadline passes."""
    chunks = {"stdout": [], "stderr": []}
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, "stdout")
    selector.register(process.stderr, selectors.EVENT_READ, "stderr")
    exited_at = None
    seen = set()
    while selector.get_map():
        now = time.monotonic()
        if process.poll() is not None and exited_at is None:
            exited_at = now
        if exited_at is not None and now - exited_at > _DRAIN_GRACE:
            result.pipes_held = True
            break
        if exited_at is None and now > deadline:
            result.timed_out = True
            _kill_group(process.pid)
            process.wait()
            exited_at = time.monotonic()
            continue
        if secrets and exited_at is None:
            _watch_argv(process.pid, secrets, seen, result)
        wait = 0.01 if secrets else 0.05
        for key, _ in selector.select(timeout=min(wait, max(deadline - now, 0.001))):
            data = os.read(key.fileobj.fileno(), 65536)
            if data:
                chunks[key.data].append(data)
            else:
                selector.unregister(key.fileobj)
    for stream in (process.stdout, process.stderr):
        stream.close()
    selector.close()
    if process.poll() is None:
        # The pipes closed but the agent is still running: wait for it, still bounded.
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            result.timed_out = True
            _kill_group(process.pid)
            process.wait()
    result.stdout = b"".join(chunks["stdout"]).decode("utf-8", "replace")
    result.stderr = b"".join(chunks["stderr"]).decode("utf-8", "replace")


def _watch_argv(leader, secrets, seen, result):
    """Record children whose command line shows a secret. The agent's own argv is the
    caller's choice, so it is not looked at. Best effort: a child that lives less than
    one polling round (10 ms) can be missed."""
    found, _ = related_processes(leader)
    for pid in found - {leader}:
        argv = tuple(_cmdline(pid))
        if (pid, argv) in seen:
            continue
        seen.add((pid, argv))  # keyed by argv too: a forked child exec()s later
        if any(secret in arg for arg in argv for secret in secrets):
            result.secret_argv.append((pid, [a.decode("utf-8", "replace") for a in argv if a]))


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
