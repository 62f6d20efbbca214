"""Processes: run a command, launch a daemon, find it again, stop it within a deadline.

Rules the contract imposes (A1) and that this module makes the default:
- Pacemaker runs each action in its own process group and SIGKILLs the whole group
  on timeout, so a daemon must be started in a new session or a timed-out start
  kills it too;
- PIDs wrap quickly on a busy node: a PID read from a file is only trusted after its
  command line matches what we expect;
- commands never go through a shell, and a secret never goes on a command line
  (pass it in the environment or on stdin): ``run`` and ``spawn_daemon`` refuse an
  argv that contains the value of a parameter declared ``secret``, because any user
  can read /proc/PID/cmdline.

``subprocess`` (~10 ms to import) is imported only by the functions that need it.
"""

import os
import time

from ocfkit.log import active_secrets

# Numeric signals: `import signal` pulls in `enum` (~3 ms); these values are fixed on Linux.
SIGHUP, SIGKILL, SIGTERM, SIGWINCH, SIGSTOP, SIGCONT = 1, 9, 15, 28, 19, 18
SIGNAL_NAMES = {1: "SIGHUP", 9: "SIGKILL", 15: "SIGTERM", 28: "SIGWINCH", 19: "SIGSTOP",
                18: "SIGCONT"}


class CommandError(Exception):
    """A command could not be run, or did not finish within its deadline."""


def check_argv(argv, log=None):
    """Raise ``TypeError``/``CommandError`` unless ``argv`` is a list free of secrets.

    The secrets are those of the running agent invocation (registered by the
    framework) plus those of ``log`` when given.
    """
    if isinstance(argv, (str, bytes)):
        raise TypeError("argv must be a list: commands never go through a shell")
    argv = [os.fsdecode(arg) for arg in argv]
    if not argv:
        raise TypeError("argv is empty")
    stores = active_secrets()
    if log is not None and getattr(log, "secrets", None) is not None:
        stores.append(log.secrets)
    for index, arg in enumerate(argv):
        if any(store.found_in(arg) for store in stores):
            raise CommandError(
                f"refusing to run {os.path.basename(argv[0]) if index else 'a command'}: "
                f"argument {index} contains a secret; pass secrets in the environment or "
                "on stdin, never on a command line")
    return argv


def run(argv, *, deadline=None, timeout=None, env=None, input=None, log=None, check=False,
        cwd=None):
    """Run ``argv`` (a list, never a shell string) and return the CompletedProcess.

    Output is captured as text. The timeout is the smaller of ``timeout`` and what is
    left of ``deadline``; on expiry the child is killed and ``CommandError`` raised.
    ``log`` gets the command line at debug level (masked by the logger's secrets).
    """
    import subprocess

    argv = check_argv(argv, log)
    limit = timeout
    if deadline is not None:
        left = deadline.remaining()
        limit = left if limit is None else min(limit, left)
    if log is not None:
        log.debug("running: %s", " ".join(argv))
    try:
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=limit, env=env,
            cwd=cwd, errors="replace", stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise CommandError(f"{os.path.basename(argv[0])} timed out after {limit:.1f}s") from None
    except OSError as exc:
        raise CommandError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if log is not None:
        log.debug("%s exited %d", os.path.basename(argv[0]), result.returncode)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise CommandError(
            f"{os.path.basename(argv[0])} failed (exit {result.returncode})"
            + (f": {detail[-1]}" if detail else ""))
    return result


def spawn_daemon(argv, *, env=None, cwd="/", stdout=None, stderr=None, pass_fds=(),
                 pidfile=None, log=None):
    """Start ``argv`` detached in its own session; return its PID.

    The new session is what lets the daemon survive Pacemaker SIGKILLing the agent's
    process group when an action times out. ``stdout``/``stderr`` may be paths
    (appended to) so early start-up errors are kept; by default both go to /dev/null.
    stdin is always /dev/null. With ``pidfile``, the PID and the process start time
    are written there (see ``pidfile_process``).

    As ``subprocess.Popen(start_new_session=True, close_fds=True)`` would, but forked
    and executed here: importing subprocess costs ~9 ms of CPU, more than the rest of
    a typical start. Descriptors other than 0-2 and ``pass_fds`` are closed, SIGPIPE
    and SIGXFSZ are reset to their defaults, and a failed exec raises CommandError.
    """
    argv = check_argv(argv, log)
    if log is not None:
        log.debug("starting daemon: %s", " ".join(argv))
    environ = os.environ if env is None else env
    executable = _find_executable(argv[0], environ)
    opened = []
    try:
        devnull = _open(os.devnull, os.O_RDWR, opened)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        out = _open(stdout, flags, opened) if stdout else devnull
        err = (out if stderr == stdout else _open(stderr, flags, opened)) if stderr else devnull
        error_r, error_w = os.pipe()  # close-on-exec: EOF on it means the exec worked
        opened += [error_r, error_w]
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child either execs or _exits
            _exec_daemon(executable, argv, environ, cwd, (devnull, out, err), pass_fds,
                         error_w)
        os.close(error_w)
        opened.remove(error_w)
        failure = os.read(error_r, 512)
    except OSError as exc:
        raise CommandError(f"cannot start {argv[0]}: {exc.strerror}") from None
    finally:
        for fd in opened:
            os.close(fd)
    if failure:
        os.waitpid(pid, 0)
        raise CommandError(f"cannot start {argv[0]}: {failure.decode(errors='replace')}")
    if pidfile:
        write_pidfile(pidfile, pid)
    return pid


def _open(path, flags, opened):
    fd = os.open(path, flags | os.O_CLOEXEC, 0o666)
    opened.append(fd)
    return fd


def _find_executable(name, environ):
    """What exec would run for ``name``, searched in the child's PATH like Popen does."""
    if "/" in name:
        return name
    for directory in os.get_exec_path(environ):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise CommandError(f"cannot start {name}: not found in PATH")


def _exec_daemon(executable, argv, environ, cwd, stdio, pass_fds, error_w):
    """In the forked child: new session, clean descriptors and signals, exec."""
    try:
        import _signal  # the C module: `signal` imports enum

        os.setsid()
        os.chdir(cwd)
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        keep = sorted({fd for fd in pass_fds if fd > 2} | {error_w})
        low = 3
        for fd in keep:
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, os.sysconf("SC_OPEN_MAX"))
        for fd in pass_fds:
            os.set_inheritable(fd, True)
        for signum in (13, 25):  # SIGPIPE, SIGXFSZ: Python ignores them, daemons must not
            _signal.signal(signum, _signal.SIG_DFL)
        os.execve(executable, argv, environ)
    except BaseException as exc:  # noqa: BLE001 - report anything to the parent
        try:
            os.write(error_w, str(getattr(exc, "strerror", None) or exc).encode())
        finally:
            os._exit(127)


def start_time(pid):
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), or None.

    A PID is reused after its process exits; the pair (PID, start time) is not.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def write_pidfile(path, pid):
    """Write ``PID`` and its start time to ``path`` atomically (readers never see half)."""
    started = start_time(pid)
    text = f"{pid}\n" + (f"{started}\n" if started is not None else "")
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(temporary, path)


def pidfile_process(path, names=None):
    """The PID recorded in ``path`` if that process is still the one recorded, else None.

    Guards against PID reuse: the process must be alive, its start time must match
    the one ``write_pidfile`` recorded (when the file has it), and with ``names`` its
    argv[0] basename must be one of them. Works for pid files written by daemons
    themselves (PID only) when ``names`` is given.
    """
    try:
        with open(path, "rb") as handle:
            lines = handle.read(256).split(b"\n")
    except OSError:
        return None
    try:
        pid = int(lines[0].strip())
    except ValueError:
        return None
    if pid <= 0 or not is_alive(pid):
        return None
    if len(lines) > 1 and lines[1].strip():
        try:
            recorded = int(lines[1].strip())
        except ValueError:
            return None
        if start_time(pid) != recorded:
            return None
    if names is not None and not matches(pid, names):
        return None
    return pid


def read_pidfile(path):
    """The PID in ``path``, or None when the file is absent, empty or not a number."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(64).split(b"\n", 1)[0].strip()
    except OSError:
        return None
    try:
        pid = int(text)
    except ValueError:
        return None
    return pid if pid > 0 else None


def cmdline(pid):
    """argv of a live process as a list of str, or None if it is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    if not raw:  # zombies and kernel threads have an empty cmdline
        return None
    return [part.decode("utf-8", "replace") for part in raw.rstrip(b"\0").split(b"\0")]


def state(pid):
    """The one-letter state from /proc/PID/stat (R, S, D, T, Z ...) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # comm may contain spaces and parentheses: the state follows the last ')'.
    return data[data.rindex(b")") + 2:data.rindex(b")") + 3].decode()


def is_alive(pid):
    current = state(pid)
    return current is not None and current not in ("Z", "X")


def matches(pid, names):
    """True when ``pid`` is alive and argv[0]'s basename is one of ``names``.

    /proc/PID/comm is cut to 15 characters, so argv[0] is what we compare. An
    interpreter's script counts too (``python3 /usr/bin/daemon`` matches ``daemon``).
    """
    if isinstance(names, str):
        names = (names,)
    argv = cmdline(pid)
    if not argv:
        return False
    if os.path.basename(argv[0]) in names:
        return True
    return len(argv) > 1 and os.path.basename(argv[0]).startswith("python") and any(
        os.path.basename(arg) in names for arg in argv[1:3] if not arg.startswith("-"))


def children(pid):
    """PIDs whose parent is ``pid``, found by scanning /proc."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def tree(pid):
    """``pid`` and all its descendants (breadth first)."""
    result, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        result.append(current)
        queue.extend(children(current))
    return result


def signal_pids(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def stop_processes(pids, deadline, *, steps=((SIGTERM, 0.6), (SIGKILL, 1.0)),
                   log=None):
    """Signal ``pids`` with escalating signals until all are gone or the deadline passes.

    ``steps`` pairs a signal with the share of the *remaining* time to wait after
    sending it (the last step gets whatever is left). Returns the PIDs still alive.
    """
    alive = [pid for pid in pids if is_alive(pid)]
    for index, (signum, share) in enumerate(steps):
        if not alive:
            break
        if log is not None:
            log.debug("sending %s to %s", SIGNAL_NAMES.get(signum, signum),
                      " ".join(map(str, alive)))
        signal_pids(alive, signum)
        if signum != SIGKILL:
            signal_pids(alive, SIGCONT)  # a stopped process handles SIGTERM only once resumed
        wait = deadline if index == len(steps) - 1 else deadline.fraction(share)
        wait.poll(_all_gone(alive))
        alive = [pid for pid in alive if is_alive(pid)]
    return alive


def _all_gone(pids):
    pids = list(pids)
    return lambda: not any(is_alive(pid) for pid in pids)


def wait_gone(pid, deadline):
    return bool(deadline.poll(lambda: not is_alive(pid)))


def sleep_until(deadline, seconds):
    """Sleep ``seconds`` or until the deadline, whichever is first (protocol pauses only)."""
    time.sleep(max(0.0, min(seconds, deadline.remaining())))
