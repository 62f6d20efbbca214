"""The background announcer: ``python3 -IS .../ocfkit/net/sender.py --instance=... ...``.

An agent that announces an address in the background (IPaddr2's ``arp_bg``) starts
this module detached in its own session, so Pacemaker killing the agent's process
group on a timeout does not kill it, and so the agent's start returns at once. It is
a Python process with a command line that names it (never a shell or a forked copy
of the agent), found again through a PID file and stopped only after its command
line proves it is the sender of *this* resource (PIDs wrap quickly on a busy node).
It runs as a file, without the site module, and finds its library from its own path,
like the agent that started it.

Before every round the sender checks that the address is still on the interface:
announcing an address this node has given up would pull traffic back to it.
"""

import os
import sys

MODULE = "ocfkit.net.sender"
SCRIPT = os.path.abspath(__file__)


def _instance_arg(instance):
    return f"--instance={instance}"


def spawn(executable, pidfile, instance, link, ip, count, interval_ms, environ=None):
    """Start the sender for ``count`` rounds (the first after one interval); its PID.

    ``posix_spawn`` (vfork + exec) rather than ``subprocess``: no 10 ms import, no
    copy of the agent's memory, and ``setsid`` gives the new session.
    """
    argv = [executable, "-IS", SCRIPT, _instance_arg(instance),
            f"--ifindex={link.index}", f"--ip={ip.text}", f"--count={count}",
            f"--interval-ms={interval_ms}", f"--pidfile={pidfile}"]
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDWR, 0),
               (os.POSIX_SPAWN_DUP2, 0, 1), (os.POSIX_SPAWN_DUP2, 0, 2)]
    pid = os.posix_spawn(executable, argv, dict(os.environ if environ is None else environ),
                         file_actions=actions, setsid=True)
    temporary = f"{pidfile}.{os.getpid()}"
    with open(temporary, "w") as handle:
        handle.write(f"{pid}\n")
    os.replace(temporary, pidfile)
    return pid


def is_sender(pid, instance):
    """True when ``pid`` is alive and is the sender started for ``instance``."""
    from ocfkit.process import cmdline

    argv = cmdline(pid)
    return (bool(argv) and any(arg.endswith("/ocfkit/net/sender.py") for arg in argv[1:3])
            and _instance_arg(instance) in argv)


def running(pidfile, instance):
    """The PID of this resource's sender, or None."""
    from ocfkit.process import read_pidfile

    pid = read_pidfile(pidfile)
    return pid if pid and is_sender(pid, instance) else None


def stop(pidfile, instance, deadline, log=None):
    """Stop this resource's sender if it runs; remove the PID file. True if one was stopped.

    Through a pidfd (Linux 5.3+): the command line is checked after the pidfd pins the
    process, so the signal cannot reach another process that took over the PID, and
    its exit wakes the wait at once instead of at the next poll.
    """
    from ocfkit.process import read_pidfile

    pid = read_pidfile(pidfile)
    stopped = False
    if pid is not None:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            fd = None
        except (OSError, AttributeError):
            fd = -1  # no pidfds here: signal by PID, after the same check
        if fd == -1:
            stopped = _stop_by_pid(pid, instance, deadline, log)
        elif fd is not None:
            try:
                if is_sender(pid, instance):
                    _stop_by_pidfd(fd, pid, deadline)
                    stopped = True
            finally:
                os.close(fd)
        if stopped and log is not None:
            log.info("stopped background announcer (PID %d)", pid)
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    return stopped


def _stop_by_pidfd(fd, pid, deadline):
    # os.kill with numeric signals: the signal module's pidfd_send_signal would import
    # enum (3 ms, a sixth of a stop). Signalling the PID is as safe here: the pidfd
    # says the process has not exited, and a process keeps its PID until reaped.
    import select

    from ocfkit.process import SIGKILL, SIGTERM

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    for signum in (SIGTERM, SIGKILL):
        if poller.poll(0):
            return
        os.kill(pid, signum)
        if poller.poll(int(min(1.0, max(deadline.remaining(), 0.01)) * 1000)):
            return
    raise OSError(f"background announcer (PID {pid}) did not stop")


def _stop_by_pid(pid, instance, deadline, log):
    from ocfkit.process import stop_processes

    if not is_sender(pid, instance):
        return False
    if stop_processes([pid], deadline.within(2.0), log=log):
        raise OSError(f"background announcer (PID {pid}) did not stop")
    return True


# ------------------------------------------------------------------ the process itself
def _parse(argv):
    options = {}
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep or not key.startswith("--"):
            raise SystemExit(f"{MODULE}: unexpected argument {arg!r}")
        options[key[2:]] = value
    return options


def main(argv=None):
    from ocfkit.log import Log
    from ocfkit.net import neighbour, rtnl
    from ocfkit.net.addr import parse_ip

    options = _parse(sys.argv[1:] if argv is None else argv)
    instance = options["instance"]
    log = Log(f"VirtualIP({instance})[{os.getpid()}]")
    ip = parse_ip(options["ip"])
    index = int(options["ifindex"])
    count, interval = int(options["count"]), int(options["interval-ms"]) / 1000.0
    pidfile = options.get("pidfile")
    sent = 0
    try:
        with rtnl.Rtnl() as nl:
            def still_ours():
                return bool(nl.find_address(ip.family, ip.packed, index))

            link = nl.link(index=index)
            if link is None:
                log.warning("interface %d is gone; no announcements sent", index)
                return 1
            sent = neighbour.announce(link, ip, count, interval, still_ours=still_ours,
                                      pause_first=True)
    except OSError as exc:
        log.warning("background announcement of %s stopped: %s", ip.text, exc)
        return 1
    finally:
        if pidfile:
            from ocfkit.process import read_pidfile

            if read_pidfile(pidfile) == os.getpid():
                try:
                    os.unlink(pidfile)
                except OSError:
                    pass
    log.debug("sent %d announcements of %s in the background", sent, ip.text)
    return 0


if __name__ == "__main__":
    # Run as a file: the package root is three levels up from here.
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(SCRIPT))))
    sys.exit(main())
