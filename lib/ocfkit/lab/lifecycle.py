"""Bring a lab up, tear it down, say what state it is in.

Teardown does not trust bookkeeping: a half-built lab after a crash has no complete
state file. It finds the lab's namespaces by name prefix, every process whose network
namespace is one of them (by namespace inode, never by process name), kills those
(a box's PID 1 takes its whole PID namespace with it), deletes the namespaces and
removes the lab's directory. Run twice, the second run has nothing to do.
"""

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import time
from contextlib import contextmanager

from ocfkit.deadline import Deadline
from ocfkit.lab import agents, bmc, netns, power
from ocfkit.lab.topology import STATE_ROOT, TOKEN_MS, Lab, LabError
from ocfkit.process import SIGKILL, is_alive

# Executables the lab runs, and the Debian package that ships each.
REQUIRED = (
    ("corosync", "corosync"), ("pacemakerd", "pacemaker"), ("crm_mon", "pacemaker-cli-utils"),
    ("pcs", "pcs"), ("pcsd", "pcs"), ("corosync-qnetd", "corosync-qnetd"),
    ("corosync-qdevice", "corosync-qdevice"), ("ipmi_sim", "openipmi"),
    ("ipmitool", "ipmitool"), ("apache2", "apache2"), ("ip", "iproute2"),
    ("nsenter", "util-linux"), ("unshare", "util-linux"), ("curl", "curl"),
    ("openssl", "openssl"), ("fence_ipmilan", "fence-agents"),
)
REQUIRED_FILES = (
    ("/usr/lib/ocf/resource.d/heartbeat/IPaddr2", "resource-agents"),
    ("/usr/share/pcsd/pcsd", "pcs"),
)
PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def _which(name):
    for directory in PATH_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return None


def preflight(lab):
    """Everything that can be checked before touching anything; raises LabError."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, mounts, daemons): "
                       "run it as root, e.g. sudo ocfkit lab up")
    missing = sorted({pkg for exe, pkg in REQUIRED if _which(exe) is None}
                     | {pkg for path, pkg in REQUIRED_FILES if not os.path.exists(path)})
    if missing:
        raise LabError("missing packages: " + " ".join(missing)
                       + " (run scripts/install-deps, or apt-get install them)")
    with open("/proc/filesystems") as handle:
        if "overlay" not in handle.read():
            raise LabError("the kernel has no overlay filesystem (modprobe overlay)")
    leftovers = leftovers_of(lab.name)
    if leftovers:
        if os.path.exists(lab.state_file) and _read_state(lab.name).get("phase") == "up":
            raise LabError(f"lab {lab.name} is already up (ocfkit lab status); "
                           "run 'ocfkit lab down' first")
        raise LabError(f"found leftovers of lab {lab.name} ({', '.join(leftovers[:4])}"
                       f"{' ...' if len(leftovers) > 4 else ''}): "
                       "run 'ocfkit lab down' to clean them up first")


def leftovers_of(name):
    found = [f"netns {ns}" for ns in netns.lab_namespaces(name)]
    if os.path.exists(f"{STATE_ROOT}/{name}"):
        found.append(f"{STATE_ROOT}/{name}")
    return found


def _read_state(name):
    try:
        with open(f"{STATE_ROOT}/{name}/state.json") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def load(name):
    """The Lab object of an existing lab (from its state file), or None."""
    state = _read_state(name)
    if not state:
        return None
    lab = Lab(name, state["nodes"], root=os.path.dirname(state["root"]),
              token_ms=state.get("token_ms", TOKEN_MS))
    lab.state = state
    return lab


def write_state(lab, **fields):
    state = dict(getattr(lab, "state", {}) or {})
    state.update(fields)
    state.update({"name": lab.name, "nodes": lab.node_count, "root": lab.root})
    lab.state = state
    tmp = lab.state_file + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(state, handle, indent=1)
    os.replace(tmp, lab.state_file)


@contextmanager
def locked(name):
    """One lab operation at a time per lab name."""
    os.makedirs(STATE_ROOT, exist_ok=True)
    path = f"{STATE_ROOT}/.{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            fd = None
            raise LabError(f"another 'ocfkit lab' command is working on lab {name}") from None
        yield
    finally:
        if fd is not None:
            # A lab that is gone leaves nothing behind, not even its lock or an empty root.
            if not os.path.exists(f"{STATE_ROOT}/{name}"):
                try:
                    os.unlink(path)
                    os.rmdir(STATE_ROOT)
                except OSError:
                    pass
            os.close(fd)


def password_hash(password):
    result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def build(lab, progress, agent_set):
    """Network, boxes, BMCs: everything up to (not including) the cluster story."""
    os.makedirs(lab.root, mode=0o700, exist_ok=True)
    hacluster_password = secrets.token_urlsafe(12)
    bmc_password = secrets.token_hex(8)
    _write_secret(f"{lab.root}/hacluster.pass", hacluster_password)
    _write_secret(f"{lab.root}/bmc.pass", bmc_password)
    write_state(lab, phase="building", created=time.time(), agents=agent_set.name,
                token_ms=lab.token_ms, boot_delay=boot_delay(lab))
    with progress.step(f"network: {len(lab.netns_names)} namespaces, switch with 2 bridges"):
        netns.create(lab)
    with progress.step("boxes: private directories, agents, systemctl shim"):
        power.install_shim(lab)
        overlays = agents.install_overlays(lab, agent_set)
        with open(f"{lab.root}/overlays.json", "w") as handle:
            json.dump(overlays, handle)
        phash = password_hash(hacluster_password)
        for box in lab.booted_boxes:
            page = None
            if box.kind == "node":
                page = (f"<html><body><h1>{box.name}</h1>\n<p>served by {box.name}"
                        "</p></body></html>\n")
            power.prepare(lab, box, password_hash=phash, page=page)
            if box.kind == "node":
                agents.write_password_script(lab, box, bmc_password)
    with progress.step(f"BMCs: {len(lab.nodes)} ipmi_sim on {lab.nodes[0].bmc_ip[:-1]}x:623"):
        for node in lab.nodes:
            bmc.prepare(lab, node, bmc_password, boot_delay(lab))
            bmc.start(lab, node)
    with progress.step(f"power on {', '.join(b.name for b in lab.booted_boxes)}"):
        for box in lab.booted_boxes:
            power.power_on(lab, box, agent_overlays=overlays)


def boot_delay(lab):
    """Seconds a node powered on by its BMC waits before starting the cluster stack:
    longer than the survivors' token + consensus (1.2 x token), plus a margin."""
    return round(lab.runtime_token_ms * 2.2 / 1000 + 2.0, 1)


def _write_secret(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)


def read_secret(lab, name):
    with open(f"{lab.root}/{name}.pass") as handle:
        return handle.read().strip()


def processes_in(namespaces):
    """PIDs of every process whose network namespace is one of ``namespaces``."""
    inodes = {ino for ino in (netns.inode(name) for name in namespaces) if ino}
    targets = {f"net:[{ino}]" for ino in inodes}
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            link = os.readlink(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if link in targets:
            found.append(int(entry))
    return found, targets


def kill_namespaces(namespaces, timeout=30.0):
    """SIGKILL everything living in ``namespaces`` until nothing is left."""
    deadline = Deadline(timeout)
    quiet_rounds = 0
    while not deadline.expired:
        pids, targets = processes_in(namespaces)
        live = [pid for pid in pids if is_alive(pid)]
        if not live:
            quiet_rounds += 1
            if quiet_rounds >= 2:  # twice empty: nothing was being spawned meanwhile
                return []
        else:
            quiet_rounds = 0
        for pid in live:
            try:
                # Re-check right before the signal: the PID may have been reused (trap 4).
                if os.readlink(f"/proc/{pid}/ns/net") in targets:
                    os.kill(pid, SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    pids, _ = processes_in(namespaces)
    return [pid for pid in pids if is_alive(pid)]


def teardown(name, progress):
    """Remove every trace of lab ``name``. Idempotent."""
    namespaces = netns.lab_namespaces(name)
    root = f"{STATE_ROOT}/{name}"
    if not namespaces and not os.path.exists(root):
        progress.say(f"lab {name}: nothing to tear down")
        return
    with progress.step(f"tear down lab {name}"):
        # BMCs first: a BMC hook could otherwise power a node back on meanwhile.
        order = sorted(namespaces, key=lambda ns: (not ns.endswith("-bmc"), ns))
        left = kill_namespaces(order)
        if left:
            raise LabError(f"processes still alive in the lab's namespaces: {left}")
        netns.delete(namespaces)
        still = netns.lab_namespaces(name)
        if still:
            raise LabError(f"could not delete namespaces: {', '.join(still)}")
        shutil.rmtree(root, ignore_errors=True)
        if os.path.exists(root):
            raise LabError(f"could not remove {root}")
