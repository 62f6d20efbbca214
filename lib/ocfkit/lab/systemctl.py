"""``systemctl`` for a lab box: just enough of it for pcs, pcsd and a box's boot.

The boxes have no systemd (they are namespaces, and the host may not run it either),
but pcs manages services through systemctl whenever ``/lib/systemd/system`` and
``/bin/systemctl`` exist, and fails with "System has not been booted with systemd"
otherwise (lab-notes). This shim is bind-mounted over /usr/bin/systemctl inside each
box only. It knows the units a cluster box runs, starts them detached (their parent
becomes the box's PID 1), waits for them to be ready like ``Type=notify`` would,
stops them in dependency order, and keeps "enabled" in the box's persistent state so
that a rebooted node starts its cluster stack again (``pcs cluster setup --enable``).

Extra verbs for the box's init: ``boot`` (start every enabled unit) and ``shutdown``.
"""

import json
import os
import sys
import time

from ocfkit.deadline import Deadline
from ocfkit.process import SIGKILL, SIGTERM, is_alive, run, spawn_daemon

BOX_INFO = "/run/okl-box.json"
PID_DIR = "/run/okl-units"
LOG = "/var/log/okl-systemctl.log"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8"}


def _exists(path):
    return lambda: os.path.exists(path)


def _listening(port):
    """A TCP socket listening on ``port`` (any address) in this network namespace."""
    needle = f":{port:04X} "

    def check():
        for table in ("/proc/net/tcp6", "/proc/net/tcp"):
            try:
                with open(table) as handle:
                    for line in handle:
                        fields = line.split()
                        if len(fields) > 3 and fields[3] == "0A" and needle in fields[1] + " ":
                            return True
            except OSError:
                continue
        return False
    return check


def start_time(pid):
    """Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return int(data[data.rindex(b")") + 2:].split()[19])


def _corosync_ready():
    return run(["corosync-cfgtool", "-s"], timeout=5, env=ENV).returncode == 0


class Unit:
    def __init__(self, name, argv, *, envfile=None, options_var=None, requires=(),
                 ready=None, runtime_dir=None, stop_cmd=None, stop_timeout=600.0,
                 start_timeout=60.0):
        self.name = name
        self.argv = argv
        self.envfile = envfile
        self.options_var = options_var
        self.requires = requires
        self.ready = ready
        self.runtime_dir = runtime_dir
        self.stop_cmd = stop_cmd
        self.stop_timeout = stop_timeout
        self.start_timeout = start_timeout

    @property
    def pidfile(self):
        return f"{PID_DIR}/{self.name}.pid"

    def pid(self):
        """The unit's main PID if it runs.

        PIDs wrap (lab-notes trap 4) and daemons rewrite their argv (pcsd-ruby calls
        itself "puma ..."), so the PID file also holds the process's start time.
        """
        try:
            with open(self.pidfile) as handle:
                pid, started = (int(x) for x in handle.read().split())
        except (OSError, ValueError):
            return None
        return pid if is_alive(pid) and start_time(pid) == started else None


# Boot order is the order of this table.
UNITS = {unit.name: unit for unit in (
    Unit("pcsd-ruby", ["/usr/share/pcsd/pcsd"], envfile="/etc/default/pcsd",
         ready=_exists("/run/pcsd-ruby.socket")),
    Unit("pcsd", ["/usr/sbin/pcsd"], envfile="/etc/default/pcsd", requires=("pcsd-ruby",),
         ready=_listening(2224)),
    Unit("corosync-qnetd", ["/usr/bin/corosync-qnetd", "-f"],
         envfile="/etc/default/corosync-qnetd", options_var="COROSYNC_QNETD_OPTIONS",
         runtime_dir="/run/corosync-qnetd",
         ready=_exists("/run/corosync-qnetd/corosync-qnetd.sock")),
    Unit("corosync", ["/usr/sbin/corosync", "-f"], envfile="/etc/default/corosync",
         options_var="COROSYNC_OPTIONS", ready=_corosync_ready,
         stop_cmd=["corosync-cfgtool", "-H", "--force"]),
    Unit("corosync-qdevice", ["/usr/sbin/corosync-qdevice", "-f"],
         envfile="/etc/default/corosync-qdevice", options_var="COROSYNC_QDEVICE_OPTIONS",
         requires=("corosync",), runtime_dir="/run/corosync-qdevice",
         ready=_exists("/run/corosync-qdevice/corosync-qdevice.sock")),
    # Type=simple in its unit file: "started" as soon as it is forked.
    Unit("pacemaker", ["/usr/sbin/pacemakerd"], envfile="/etc/default/pacemaker",
         requires=("corosync",)),
)}
# pcsd-ruby is "PartOf" pcsd: it stops with it.
PART_OF = {"pcsd": ("pcsd-ruby",)}


class ShimError(Exception):
    pass


def read_envfile(path):
    env = {}
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return env
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


class Box:
    """The box's unit state: what is enabled persists in the box's directory."""

    def __init__(self):
        try:
            with open(BOX_INFO) as handle:
                info = json.load(handle)
        except OSError:
            raise ShimError("this systemctl only works inside an ocfkit lab box") from None
        self.enabled_file = os.path.join(info["box_dir"], "units-enabled.json")

    def enabled(self):
        try:
            with open(self.enabled_file) as handle:
                return set(json.load(handle))
        except (OSError, ValueError):
            return {"pcsd", "pcsd-ruby"}  # Debian enables pcsd on install

    def set_enabled(self, name, on):
        names = self.enabled()
        if on:
            names.add(name)
        else:
            names.discard(name)
        tmp = self.enabled_file + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(sorted(names), handle)
        os.replace(tmp, self.enabled_file)


def unit_name(arg):
    name = arg[:-len(".service")] if arg.endswith(".service") else arg
    if name not in UNITS:
        raise ShimError(f"Unit {arg} not found.")
    return name


def start(name):
    unit = UNITS[name]
    for dependency in unit.requires:
        start(dependency)
    if unit.pid():
        return
    env = dict(ENV)
    argv = list(unit.argv)
    if unit.envfile:
        extra = read_envfile(unit.envfile)
        env.update(extra)
        if unit.options_var and extra.get(unit.options_var):
            argv += extra[unit.options_var].split()
    if unit.runtime_dir:
        os.makedirs(unit.runtime_dir, mode=0o770, exist_ok=True)
    os.makedirs(PID_DIR, exist_ok=True)
    console = f"/var/log/okl-{name}.console"
    pid = spawn_daemon(argv, env=env, stdout=console, stderr=console)
    with open(unit.pidfile, "w") as handle:
        handle.write(f"{pid} {start_time(pid)}\n")
    deadline = Deadline(unit.start_timeout)
    ok = deadline.poll(lambda: not is_alive(pid) or unit.ready is None or unit.ready(),
                       interval=0.05, max_interval=0.2)
    if not is_alive(pid):
        raise ShimError(f"Job for {name}.service failed: the process exited "
                        f"(see {console})")
    if not ok:
        raise ShimError(f"Job for {name}.service failed: not ready after "
                        f"{unit.start_timeout:.0f}s")


def dependents(name):
    return [other for other, unit in UNITS.items() if name in unit.requires]


def stop(name):
    for other in dependents(name):
        stop(other)
    unit = UNITS[name]
    pid = unit.pid()
    if pid is None:
        _remove(unit.pidfile)
    else:
        deadline = Deadline(unit.stop_timeout)
        if unit.stop_cmd:
            run(unit.stop_cmd, timeout=30, env=ENV)
        else:
            os.kill(pid, SIGTERM)
        if not deadline.poll(lambda: not is_alive(pid), interval=0.05, max_interval=0.5):
            _kill_group(pid)
        # Whatever the daemon forked into its session goes with it, as with KillMode.
        _kill_group(pid)
        _remove(unit.pidfile)
    for part in PART_OF.get(name, ()):
        stop(part)


def _kill_group(pid):
    try:
        os.killpg(pid, SIGKILL)
    except OSError:
        pass


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _log(argv):
    try:
        with open(LOG, "a") as handle:
            handle.write(f"{time.strftime('%H:%M:%S')} systemctl {' '.join(argv)}\n")
    except OSError:
        pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    _log(argv)
    args = [arg for arg in argv if not arg.startswith("-")]
    quiet = "-q" in argv or "--quiet" in argv
    if not args:
        print("systemctl (ocfkit lab shim): no command given", file=sys.stderr)
        return 1
    verb, names = args[0], args[1:]
    try:
        box = Box()
        if verb == "list-unit-files":
            enabled = box.enabled()
            for name in UNITS:
                print(f"{name}.service {'enabled' if name in enabled else 'disabled'}")
            return 0
        if verb in ("daemon-reload", "reset-failed"):
            return 0
        if verb == "boot":
            enabled = box.enabled()
            for name in UNITS:
                if name in enabled:
                    start(name)
            return 0
        if verb == "shutdown":
            for name in reversed(list(UNITS)):
                stop(name)
            return 0
        units = [unit_name(name) for name in names]
        if not units:
            raise ShimError(f"Too few arguments for {verb}.")
        rc = 0
        for name in units:
            if verb == "start":
                start(name)
            elif verb == "stop":
                stop(name)
            elif verb in ("restart", "try-restart", "reload-or-restart"):
                if verb == "restart" or UNITS[name].pid():
                    stop(name)
                    start(name)
            elif verb == "enable":
                box.set_enabled(name, True)
                if "--now" in argv:
                    start(name)
            elif verb == "disable":
                box.set_enabled(name, False)
                if "--now" in argv:
                    stop(name)
            elif verb == "is-enabled":
                on = name in box.enabled()
                if not quiet:
                    print("enabled" if on else "disabled")
                rc = rc or (0 if on else 1)
            elif verb == "is-active":
                on = UNITS[name].pid() is not None
                if not quiet:
                    print("active" if on else "inactive")
                rc = rc or (0 if on else 3)
            elif verb == "status":
                pid = UNITS[name].pid()
                print(f"* {name}.service\n     Active: "
                      + (f"active (running)\n   Main PID: {pid}" if pid else "inactive (dead)"))
                rc = rc or (0 if pid else 3)
            elif verb == "kill":
                pid = UNITS[name].pid()
                if pid:
                    os.kill(pid, SIGKILL)
            else:
                raise ShimError(f"Unknown command verb {verb}.")
        return rc
    except ShimError as exc:
        print(str(exc), file=sys.stderr)
        return 1 if verb not in ("is-active", "status") else 3


if __name__ == "__main__":
    sys.exit(main())
