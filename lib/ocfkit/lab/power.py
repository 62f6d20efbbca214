"""A box's disk (its private directories), power switch and console.

``prepare`` lays out the box's own copies of the directories a cluster node keeps
state in. ``power_on`` starts the box: ``nsenter`` into its network namespace,
``unshare`` new mount/uts/ipc/pid namespaces, ``ocfkit.lab.node_init`` as PID 1.
``power_off`` is the power cord: links down, SIGKILL to the box's PID 1 (the kernel
kills every process of the PID namespace), then every address flushed, so a dead
node never keeps answering for the VIP (lab-notes trap 3).

Both are called by the lab itself and by the BMC's chassis-control hook
(``ocfkit.lab.bmc``), so IPMI "power off" really is this.
"""

import grp
import json
import os
import pwd
import uuid

from ocfkit.deadline import Deadline
from ocfkit.lab import netns
from ocfkit.lab.topology import LabError
from ocfkit.process import SIGKILL, CommandError, children, cmdline, is_alive, run, spawn_daemon

PYTHON = "/usr/bin/python3"
INIT_MODULE = "ocfkit.lab.node_init"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8", "HOME": "/root"}

# (directory inside the box, owner, group, mode, subdirectories) - per-box copies.
NODE_DIRS = (
    ("/etc/corosync", "root", "root", 0o755, ("uidgid.d",)),
    ("/etc/pacemaker", "root", "haclient", 0o750, ()),
    ("/var/lib/corosync", "root", "root", 0o755, ()),
    ("/var/lib/pacemaker", "root", "root", 0o755, ()),
    ("/var/lib/pcsd", "root", "root", 0o700, ()),
    ("/var/log", "root", "root", 0o755, ()),
    ("/var/www/html", "root", "root", 0o755, ()),
)
QNETD_DIRS = (
    ("/etc/corosync", "root", "root", 0o755, ()),
    ("/var/lib/pcsd", "root", "root", 0o700, ()),
    ("/var/log", "root", "root", 0o755, ()),
)
# Owned subdirectories the packages would have created: (path, owner, group, mode).
NODE_SUBDIRS = (
    ("/var/lib/pacemaker/cib", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/pengine", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/blackbox", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/cores", "hacluster", "haclient", 0o750),
    ("/var/log/pacemaker", "hacluster", "haclient", 0o770),
    ("/var/log/pacemaker/bundles", "hacluster", "haclient", 0o770),
    ("/var/log/cluster", "root", "root", 0o755),
    ("/var/log/corosync", "root", "root", 0o755),
    ("/var/log/pcsd", "root", "root", 0o755),
    ("/var/log/apache2", "root", "adm", 0o750),
)
QNETD_SUBDIRS = (
    ("/var/log/pcsd", "root", "root", 0o755),
    ("/var/log/corosync", "root", "root", 0o755),
)
FILES = ("/etc/hosts", "/etc/hostname", "/etc/shadow")
# Runtime directories that Debian's init scripts/apache2ctl would create at boot.
RUNTIME_DIRS = [["/run/apache2", "0755", "root", "root"],
                ["/run/lock/apache2", "0755", "www-data", "www-data"]]


def _owner(user, group):
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid


def local_path(box, path):
    """Where the box's copy of ``path`` lives on the host."""
    return box.dir + "/root" + path


def write_in_place(path, text, mode=None):
    """Rewrite a file keeping its inode: a file bind-mounted into a running box keeps
    pointing at the old inode if it is replaced (lab-notes trap 5)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644 if mode is None else mode)
    with os.fdopen(fd, "w") as handle:
        handle.truncate(0)
        handle.write(text)
    if mode is not None:
        os.chmod(path, mode)


def shadow_with_password(user, password_hash, source="/etc/shadow"):
    with open(source) as handle:
        lines = handle.read().splitlines()
    out = []
    for line in lines:
        fields = line.split(":")
        if fields[0] == user and len(fields) > 2:
            fields[1] = password_hash
            line = ":".join(fields)
        out.append(line)
    return "\n".join(out) + "\n"


def prepare(lab, box, *, password_hash, page=None):
    """Lay out ``box``'s private directories and files (idempotent)."""
    dirs, subdirs = (NODE_DIRS, NODE_SUBDIRS) if box.kind == "node" else (QNETD_DIRS,
                                                                           QNETD_SUBDIRS)
    for path, user, group, mode, subs in dirs:
        local = local_path(box, path)
        os.makedirs(local, exist_ok=True)
        os.chown(local, *_owner(user, group))
        os.chmod(local, mode)
        for sub in subs:
            os.makedirs(f"{local}/{sub}", exist_ok=True)
    for path, user, group, mode in subdirs:
        local = local_path(box, path)
        os.makedirs(local, exist_ok=True)
        os.chown(local, *_owner(user, group))
        os.chmod(local, mode)
    os.makedirs(local_path(box, "/etc"), exist_ok=True)
    write_in_place(local_path(box, "/etc/hosts"), lab.hosts_file(), 0o644)
    write_in_place(local_path(box, "/etc/hostname"), box.hostname + "\n", 0o644)
    write_in_place(local_path(box, "/etc/shadow"),
                   shadow_with_password("hacluster", password_hash), 0o640)
    os.chown(local_path(box, "/etc/shadow"), *_owner("root", "shadow"))
    if page is not None:
        write_in_place(local_path(box, "/var/www/html/index.html"), page, 0o644)


def boot_config(lab, box, *, boot_delay=0.0, agent_overlays=()):
    """The configuration ``node_init`` boots ``box`` from."""
    dirs = NODE_DIRS if box.kind == "node" else QNETD_DIRS
    binds = [[local_path(box, path), path] for path, *_ in dirs]
    binds += [[local_path(box, path), path] for path in FILES]
    binds.append([f"{lab.root}/bin/systemctl", "/usr/bin/systemctl"])
    return {
        "box": box.name,
        "hostname": box.hostname,
        "box_dir": box.dir,
        "lab_root": lab.root,
        "boot_id": uuid.uuid4().hex,
        "boot_delay": boot_delay,
        "binds": binds,
        "overlays": [list(pair) for pair in agent_overlays] if box.kind == "node" else [],
        "runtime_dirs": RUNTIME_DIRS if box.kind == "node" else [],
        "net": netns.box_commands(box),
    }


def _power_record(box):
    try:
        with open(f"{box.dir}/power.json") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _init_argv(box):
    return [PYTHON, "-I", "-m", INIT_MODULE, f"{box.dir}/boot.json"]


def init_pid(box):
    """Host PID of the box's PID 1 while it is powered, else None (argv checked: trap 4)."""
    record = _power_record(box)
    if not record:
        return None
    pid = record.get("init")
    if pid and cmdline(pid) == _init_argv(box):
        return pid
    return None


def is_on(box):
    return init_pid(box) is not None


def power_on(lab, box, *, boot_delay=0.0, agent_overlays=None, timeout=20.0):
    """Boot ``box``; return once its mounts and network are up (units start later).

    Returns False if it was already on.
    """
    if is_on(box):
        return False
    if agent_overlays is None:
        agent_overlays = _load_overlays(lab)
    config = boot_config(lab, box, boot_delay=boot_delay, agent_overlays=agent_overlays)
    with open(f"{box.dir}/boot.json", "w") as handle:
        json.dump(config, handle, indent=1)
    try:
        os.unlink(f"{box.dir}/booted")
    except FileNotFoundError:
        pass
    argv = ["nsenter", f"--net={netns.NETNS_DIR}/{box.netns}", "--",
            "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child",
            "--mount-proc", "--propagation", "private", *_init_argv(box)]
    console = f"{box.dir}/console.log"
    unshare_pid = spawn_daemon(argv, env=ENV, stdout=console, stderr=console)
    deadline = Deadline(timeout)

    def found_init():
        for pid in children(unshare_pid):
            if cmdline(pid) == _init_argv(box):
                return pid
        return None

    pid = deadline.poll(found_init, interval=0.005, max_interval=0.05)
    if pid:
        with open(f"{box.dir}/power.json", "w") as handle:
            json.dump({"unshare": unshare_pid, "init": pid, "boot_id": config["boot_id"]},
                      handle)

    def booted():
        if pid and not is_alive(pid):
            return "dead"
        try:
            with open(f"{box.dir}/booted") as handle:
                return json.load(handle).get("boot_id") == config["boot_id"]
        except (OSError, ValueError):
            return False

    state = deadline.poll(booted, interval=0.005, max_interval=0.05)
    if state is not True:
        tail = _tail(console)
        power_off(lab, box)
        raise LabError(f"{box.name} did not boot" + (f": {tail}" if tail else ""))
    return True


def _tail(path):
    try:
        with open(path) as handle:
            lines = [line.strip() for line in handle.read().splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def power_off(lab, box, timeout=20.0):
    """Pull the power cord of ``box``. Returns False if it was already off."""
    pid = init_pid(box)
    if netns.exists(box.netns):
        netns.power_cut(box)
    if pid is not None:
        os.kill(pid, SIGKILL)
        if not Deadline(timeout).poll(lambda: not is_alive(pid), interval=0.005,
                                      max_interval=0.05):
            raise LabError(f"{box.name}: PID namespace still alive {timeout:.0f}s after SIGKILL")
    if netns.exists(box.netns):
        netns.flush(box)
    try:
        os.unlink(f"{box.dir}/power.json")
    except FileNotFoundError:
        pass
    return pid is not None


def _load_overlays(lab):
    try:
        with open(f"{lab.root}/overlays.json") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return []


def enter_argv(box, argv):
    """argv that runs ``argv`` inside ``box`` (all its namespaces)."""
    pid = init_pid(box)
    if pid is None:
        raise LabError(f"{box.name} is powered off")
    return ["nsenter", "-t", str(pid), "-n", "-m", "-u", "-i", "-p", "--", *argv]


def box_run(box, argv, *, timeout=120, input=None, check=False):
    """Run a command inside ``box`` and return the CompletedProcess (LabError if it
    cannot be run or outlives ``timeout``)."""
    try:
        return run(enter_argv(box, argv), timeout=timeout, input=input, env=ENV, check=check)
    except CommandError as exc:
        raise LabError(f"{box.name}# {' '.join(argv)}: {exc}") from None


def install_shim(lab):
    """The systemctl shim's launcher, bind-mounted over /usr/bin/systemctl in boxes."""
    os.makedirs(f"{lab.root}/bin", exist_ok=True)
    path = f"{lab.root}/bin/systemctl"
    with open(path, "w") as handle:
        handle.write('#!/usr/bin/python3 -I\n"""systemctl inside an ocfkit lab box: see '
                     'ocfkit.lab.systemctl."""\nimport sys\n\nfrom ocfkit.lab.systemctl '
                     'import main\n\nsys.exit(main())\n')
    os.chmod(path, 0o755)

