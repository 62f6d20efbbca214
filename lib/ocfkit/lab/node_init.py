"""PID 1 of a lab box (a node or the qnetd host): its "boot", reaper and power button.

Started by ``ocfkit.lab.power.power_on`` as
``nsenter --net=/run/netns/NS unshare --mount --uts --ipc --pid --fork --kill-child
--mount-proc --propagation private /usr/bin/python3 -I -m ocfkit.lab.node_init CONFIG``.

Boot: a namespace-local sysfs; tmpfs on /run, /dev/shm and /tmp (the runtime
directories tmpfiles.d would create); the box's own copies of /etc/corosync,
/var/lib/pacemaker, /var/log, /etc/hosts ... bind-mounted over the host's paths; the
ocfkit agents overlaid onto /usr/lib/ocf/resource.d and /usr/sbin; the systemctl shim
over /usr/bin/systemctl; hostname; addresses and links. Then, after ``boot_delay``
seconds (a fenced node must not rejoin before the survivors have noticed it left:
lab-notes trap 1), ``systemctl boot`` starts the enabled units.

It reaps every orphan (daemons are reparented to it). SIGTERM = orderly shutdown
(units stopped in reverse order). SIGKILL from the host = the power cord: the kernel
kills the whole PID namespace.
"""

import ctypes
import ctypes.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

MS_RDONLY, MS_BIND, MS_REC = 1, 4096, 16384
SYSTEMCTL = "/usr/bin/systemctl"
BOX_INFO = "/run/okl-box.json"
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LANG": "C.UTF-8"}

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def mount(source, target, fstype=None, flags=0, data=None):
    # The mount(2) syscall directly: a box mounts ~20 things at boot, and 20 forks of
    # mount(8) would be most of its boot time.
    result = _libc.mount(source.encode(), target.encode(),
                         fstype.encode() if fstype else None, flags,
                         data.encode() if data else None)
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def log(message):
    print(f"{time.strftime('%H:%M:%S')} init: {message}", flush=True)


def make_runtime_dirs(entries):
    """``[path, mode, user, group]`` entries, as tmpfiles.d ``d`` lines would create them."""
    import grp
    import pwd

    for path, mode, user, group in entries:
        os.makedirs(path, exist_ok=True)
        os.chmod(path, int(mode, 8))
        try:
            os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
        except KeyError:
            pass


def tmpfiles_dirs(directories=("/usr/lib/tmpfiles.d", "/etc/tmpfiles.d")):
    """The ``d``/``D`` lines of tmpfiles.d that concern /run: what systemd creates at boot."""
    entries = []
    for directory in directories:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".conf"):
                continue
            try:
                with open(os.path.join(directory, name)) as handle:
                    lines = handle.read().splitlines()
            except OSError:
                continue
            for line in lines:
                parts = line.split()
                if len(parts) >= 5 and parts[0] in ("d", "D") and parts[1].startswith("/run/"):
                    mode = parts[2] if parts[2] != "-" else "0755"
                    user = parts[3] if parts[3] != "-" else "root"
                    group = parts[4] if parts[4] != "-" else "root"
                    entries.append([parts[1], mode, user, group])
    return entries


def setup_mounts(config):
    mount("sysfs", "/sys", "sysfs")
    mount("tmpfs", "/run", "tmpfs", data="mode=755")
    mount("tmpfs", "/dev/shm", "tmpfs", data="mode=1777")
    mount("tmpfs", "/tmp", "tmpfs", data="mode=1777")
    make_runtime_dirs([["/run/lock", "1777", "root", "root"]] + tmpfiles_dirs()
                      + config.get("runtime_dirs", []))
    for source, target in config.get("binds", []):
        mount(source, target, flags=MS_BIND)
    for extra, target in config.get("overlays", []):
        # Read-only overlay: the box sees the host's files plus the lab's agent launchers.
        mount("overlay", target, "overlay", data=f"lowerdir={extra}:{target}")


def setup_network(config):
    commands = config.get("net", [])
    if commands:
        subprocess.run(["ip", "-batch", "-"], input="\n".join(commands) + "\n", text=True,
                       check=True, env=CLEAN_ENV)


class Init:
    def __init__(self, config):
        self.config = config
        self.stopping = False
        self.boot_at = None
        self.booting = None

    def on_term(self, _signum, _frame):
        self.stopping = True

    def reap(self):
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.booting:
                self.booting = None

    def systemctl(self, *args):
        return subprocess.Popen([SYSTEMCTL, *args], env=CLEAN_ENV, stdin=subprocess.DEVNULL)

    def run(self):
        config = self.config
        setup_mounts(config)
        socket.sethostname(config["hostname"])
        setup_network(config)
        with open(BOX_INFO, "w") as handle:
            json.dump({"box": config["box"], "box_dir": config["box_dir"],
                       "lab_root": config["lab_root"]}, handle)
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        delay = float(config.get("boot_delay", 0))
        self.boot_at = time.monotonic() + delay
        log(f"{config['hostname']} is up; starting enabled units in {delay:.1f}s")
        # Tell the host the box exists (mounts and network are in place).
        ready = os.path.join(config["box_dir"], "booted")
        with open(ready + ".tmp", "w") as handle:
            json.dump({"boot_id": config["boot_id"]}, handle)
        os.replace(ready + ".tmp", ready)
        while True:
            self.reap()
            if self.stopping:
                break
            timeout = 5.0
            if self.boot_at is not None:
                left = self.boot_at - time.monotonic()
                if left <= 0:
                    self.boot_at = None
                    log("starting enabled units")
                    self.booting = self.systemctl("boot").pid
                else:
                    timeout = left
            readable, _, _ = select.select([wake_r], [], [], timeout)
            if readable:
                os.read(wake_r, 512)
        log("shutting down: stopping units")
        stopper = self.systemctl("shutdown")
        while stopper.poll() is None:
            self.reap()
            time.sleep(0.1)
        log("halt")
        return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if os.getpid() != 1:
        print("ocfkit.lab.node_init: must run as PID 1 of a new PID namespace",
              file=sys.stderr)
        return 2
    with open(argv[0]) as handle:
        config = json.load(handle)
    try:
        return Init(config).run()
    except Exception as exc:  # noqa: BLE001 - PID 1 reports and exits: the box dies
        log(f"boot failed: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
