"""The seed story: the commands an admin types to build the two-node web cluster.

Every step runs the real tool inside the box it would be typed on (``n1# pcs ...``),
and the progress lines show exactly that command. Passwords never appear on a
command line: ``pcs host auth`` reads the hacluster password from stdin and the fence
devices name a password script.

One lab-specific step, said out loud when it runs: before the first start, the CIB is
seeded with ``dc-deadtime=2s`` (``pcs -f``), because with Pacemaker's default of 20 s
every fresh start waits 20 s for a DC that does not exist yet. It has to come after
``pcs cluster setup`` (setup refuses hosts that already have a CIB).
"""

import os
import shutil
import threading
import time
import xml.etree.ElementTree as ET

from ocfkit.deadline import Deadline
from ocfkit.lab import power
from ocfkit.lab.topology import LabError

SEED = "/tmp/seed-cib.xml"
LOAD_THRESHOLD = "1000%"


def qdevice_timeout_ms(token_ms):
    """qdevice heartbeat timeout (ms) for a given corosync token.

    qnetd only decides an ffsplit tie after dead-peer detection drops the unreachable
    half's client: 1.2 x this timeout after its last heartbeat (12 s with the default
    10000). At 5/3 of the token (5000 ms for corosync's default 3000) that is over by the
    time corosync has formed the new membership (token + consensus = 2.2 x token), so
    the surviving half does not wait for the vote after the membership is known.
    """
    return max(1000, token_ms * 5 // 3)


class Shell:
    """Runs admin commands in boxes and shows them as progress lines."""

    def __init__(self, lab, progress):
        self.lab = lab
        self.progress = progress

    def run(self, box, argv, *, input=None, check=True, timeout=180, show=True,
            show_output=False):
        if show:
            self.progress.command(box.name, " ".join(argv))
        result = power.box_run(box, argv, input=input, timeout=timeout)
        if show_output:
            self.progress.output(result.stdout + result.stderr)
        if check and result.returncode != 0:
            detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
            tail = " / ".join(detail[-3:]) if detail else "no output"
            raise LabError(f"{box.name}# {' '.join(argv)} failed (exit "
                           f"{result.returncode}): {tail}")
        return result

    def background(self, box, argv, **kwargs):
        """Run in a thread; ``join()`` returns the result or raises its error."""
        return self.background_call(self.run, box, argv, **kwargs)

    @staticmethod
    def background_call(function, *args, **kwargs):
        holder = {}

        def target():
            try:
                holder["result"] = function(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - handed to the joiner
                holder["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()

        def join():
            thread.join()
            if "error" in holder:
                raise holder["error"]
            return holder["result"]
        return join


def pcsd_listening(box):
    pid = power.init_pid(box)
    if pid is None:
        return False
    for table in ("tcp6", "tcp"):
        try:
            with open(f"/proc/{pid}/net/{table}") as handle:
                for line in list(handle)[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and fields[1].endswith(":08B0"):
                        return True
        except OSError:
            continue
    return False


def wait_pcsd(lab, timeout=60.0):
    boxes = lab.booted_boxes
    if not Deadline(timeout).poll(lambda: all(pcsd_listening(b) for b in boxes),
                                  interval=0.05, max_interval=0.25):
        missing = [b.name for b in boxes if not pcsd_listening(b)]
        raise LabError(f"pcsd did not start on {', '.join(missing)} within {timeout:.0f}s "
                       f"(see {lab.root}/boxes/<box>/root/var/log/okl-pcsd.console)")


def setup_cluster(lab, shell, hacluster_password):
    """pcs host auth, pcs cluster setup, seeded CIB, pcs cluster start, qnetd setup.

    Three things run side by side: n1 authenticates and sets up the cluster, the qnetd
    host sets up qnetd, n2 prepares the seed CIB offline (``pcs -f``).
    """
    n1, n2 = lab.nodes[0], lab.nodes[1]
    progress = shell.progress
    with progress.step("pcsd on every box"):
        wait_pcsd(lab)
    names = [box.name for box in lab.booted_boxes]
    with progress.step("set up the cluster and the quorum arbiter"):
        qnetd_setup = shell.background(lab.qnetd, ["pcs", "qdevice", "setup", "model", "net",
                                                   "--enable", "--start"])
        seed = shell.background_call(prepare_seed, lab, shell, n2)
        shell.run(n1, ["pcs", "host", "auth", *names, "-u", "hacluster"],
                  input=hacluster_password + "\n")
        setup = ["pcs", "cluster", "setup", lab.name]
        for node in lab.nodes:
            setup += [node.name, f"addr={node.public_ip}"]
        setup += ["totem", f"token={lab.token_ms}", "--enable"]
        shell.run(n1, setup)
        install_seed(lab, shell, seed())
        qnetd_setup()
    with progress.step("start the cluster"):
        shell.run(n1, ["pcs", "cluster", "start", "--all"], timeout=120)
        wait_online(lab, shell)


def prepare_seed(lab, shell, box):
    """The CIB every node starts from: empty but for a few cluster options.

    dc-deadtime=2s: with Pacemaker's default 20s every fresh start waits 20s for a DC
    that does not exist yet. load-threshold: every node reads the whole machine's load
    average (/proc/loadavg is not per namespace), so with the default 80% a busy host
    makes each node throttle itself to one action at a time, and a failover starts
    the fence devices, then the VIP, then Apache one after another.
    Prepared in the box's /tmp, read through /proc/PID/root.
    """
    shell.progress.say("lab: seed the CIB before the first start (dc-deadtime=2s: the "
                       "default 20s makes every fresh start wait for a DC)")
    shell.progress.command(box.name, f"cibadmin --empty > {SEED}")
    empty = shell.run(box, ["cibadmin", "--empty"], show=False).stdout
    shell.run(box, ["tee", SEED], input=empty, show=False)
    shell.run(box, ["pcs", "-f", SEED, "property", "set", "dc-deadtime=2s",
                    "stonith-enabled=true", f"load-threshold={LOAD_THRESHOLD}"])
    shell.run(box, ["pcs", "-f", SEED, "resource", "defaults", "update",
                    "resource-stickiness=1"])
    with open(f"/proc/{power.init_pid(box)}/root{SEED}") as handle:
        return handle.read()


def install_seed(lab, shell, text):
    shell.progress.command(lab.nodes[0].name, f"copy {SEED} to /var/lib/pacemaker/cib/cib.xml "
                           "on " + ", ".join(node.name for node in lab.nodes))
    for node in lab.nodes:
        target = power.local_path(node, "/var/lib/pacemaker/cib/cib.xml")
        with open(target, "w") as handle:
            handle.write(text)
        shutil.chown(target, "hacluster", "haclient")
        os.chmod(target, 0o600)


def cluster_state(box):
    """(dc, {node: online}) from crm_mon's XML on ``box``, or (None, {})."""
    result = power.box_run(box, ["crm_mon", "-1", "--output-as=xml"], timeout=30)
    try:
        root = ET.fromstring(result.stdout)
    except ET.ParseError:
        return None, {}
    dc = None
    for item in root.iter("current_dc"):
        if item.get("present") == "true":
            dc = item.get("name")
    nodes = root.find("nodes")
    online = {item.get("name"): item.get("online") == "true"
              for item in (nodes if nodes is not None else ())}
    return dc, online


def wait_online(lab, shell, timeout=90.0, nodes=None):
    """Until there is a DC and every node in ``nodes`` (default: all) is online."""
    names = [node.name for node in (nodes or lab.nodes)]
    shell.progress.say("  (waiting until " + ", ".join(names) + " are online with a DC)")

    def ready():
        via = next((node for node in lab.nodes if power.is_on(node)), None)
        if via is None:
            return False
        dc, online = cluster_state(via)
        return dc is not None and all(online.get(name) for name in names)
    if not Deadline(timeout).poll(ready, interval=0.3, max_interval=0.5):
        raise LabError(f"nodes not online with a DC within {timeout:.0f}s: "
                       f"{', '.join(names)}")


def configure_services(lab, shell, agents):
    """Fencing, quorum device, the VIP and the web server, their constraints."""
    n1 = lab.nodes[0]
    progress = shell.progress
    with progress.step("fencing, quorum device, resources"):
        timeout_ms = qdevice_timeout_ms(lab.token_ms)
        qdevice = shell.background(n1, ["pcs", "quorum", "device", "add",
                                        f"timeout={timeout_ms}", "model", "net",
                                        f"host={lab.qnetd.name}", "algorithm=ffsplit"],
                                   timeout=120)
        for node in lab.nodes:
            shell.run(n1, ["pcs", "stonith", "create", f"fence-{node.name}", agents.fence.spec,
                           *agents.fence_args(lab, node)])
        create_services(lab, shell, agents)
        qdevice()


def create_services(lab, shell, agents):
    n1 = lab.nodes[0]
    shell.run(n1, ["pcs", "resource", "create", "vip", agents.vip.spec,
                   *agents.vip_args(lab)])
    # Disabled until its constraints exist, so it never starts on the wrong node first.
    shell.run(n1, ["pcs", "resource", "create", "webserver", agents.web.spec,
                   *agents.web_args(lab), "--disabled"])
    shell.run(n1, ["pcs", "constraint", "colocation", "add", "webserver", "with", "vip",
                   "INFINITY"])
    shell.run(n1, ["pcs", "constraint", "order", "vip", "then", "webserver"])
    shell.run(n1, ["pcs", "resource", "enable", "webserver"])


def replace_agents(lab, shell, agents):
    """Swap the cluster's resources and fence devices to another agent set, in place."""
    n1 = next(node for node in lab.nodes if power.is_on(node))
    with shell.progress.step(f"switch the cluster to the {agents.name} agents"):
        for rsc in ("webserver", "vip"):
            shell.run(n1, ["pcs", "resource", "delete", rsc, "--force"])
        for node in lab.nodes:
            shell.run(n1, ["pcs", "stonith", "delete", f"fence-{node.name}"])
        wait_idle(lab, shell)
        for node in lab.nodes:
            shell.run(n1, ["pcs", "stonith", "create", f"fence-{node.name}", agents.fence.spec,
                           *agents.fence_args(lab, node)])
        create_services(lab, shell, agents)


def wait_idle(lab, shell, timeout=120):
    """No pending actions (lab-notes trap 7: a drill must not race the DC's probes)."""
    via = next((node for node in lab.nodes if power.is_on(node)), None)
    if via is None:
        raise LabError("no node is powered on")
    shell.run(via, ["crm_resource", "--wait", f"--timeout={timeout}"], show=False,
              timeout=timeout + 10)


def wait_service(lab, timeout=60.0):
    """Until the client gets the page through the VIP."""
    deadline = Deadline(timeout)
    argv = ["nsenter", f"--net=/run/netns/{lab.client.netns}", "--", power.PYTHON, "-I",
            "-m", "ocfkit.lab.poller", lab.vip, "0.2", "1.0", "0.2"]
    while not deadline.expired:
        result = power.run(argv, timeout=10, env=power.ENV)
        if '"ok": true' in result.stdout:
            return result.stdout
        time.sleep(0.3)
    raise LabError(f"the client did not get the page from {lab.vip} within {timeout:.0f}s")


def show_status(lab, shell):
    n1 = next(node for node in lab.nodes if power.is_on(node))
    for argv in (["pcs", "status"], ["corosync-quorumtool", "-s"], ["corosync-cfgtool", "-s"]):
        shell.run(n1, argv, check=False, show_output=True)

