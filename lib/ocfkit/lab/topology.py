"""Names, addresses and paths of one lab: a pure description, nothing is touched here.

Address plan (documentation ranges only, no default route, no NAT):

    public/cluster network 198.51.100.0/24 (bridge "pub" in the switch namespace)
        .10 the VIP, .2 the qnetd host, .11-.15 nodes n1-n5, .100 the client
    management network 203.0.113.0/24 (bridge "mgmt" in the switch namespace)
        .11-.15 nodes' second NIC, .111-.115 their BMCs (all in the "bmc" namespace)
    2001:db8:5100::/64 on the public network, 2001:db8:113::/64 on management: each
        box also gets an IPv6 address (::<same last octet>) so both families can be tried.

Every namespace name starts with the lab name (``okl`` by default, ``okl<suffix>`` for
tests), so several labs can exist side by side and teardown finds everything by prefix.
"""

import re

MAX_NODES = 5
DEFAULT_NAME = "okl"
NAME_RE = re.compile(r"^okl[a-z0-9]{0,6}$")
STATE_ROOT = "/var/lib/ocfkit-lab"

PUBLIC_NET = "198.51.100"
MGMT_NET = "203.0.113"
PUBLIC6 = "2001:db8:5100:"
MGMT6 = "2001:db8:113:"
PREFIX = 24
VIP = f"{PUBLIC_NET}.10"
QNETD_IP = f"{PUBLIC_NET}.2"
CLIENT_IP = f"{PUBLIC_NET}.100"
BMC_USER = "admin"
# corosync totem token (ms), corosync 3's default made explicit so that drill timings
# are predictable (lab-notes: figures).
TOKEN_MS = 3000  # corosync 3's default
# Below ~500 ms a busy 2-core host loses tokens spuriously; above 10 s drills crawl.
MIN_TOKEN_MS, MAX_TOKEN_MS = 500, 10000


class LabError(Exception):
    """A lab operation failed: the message is one line meant for the user."""


class Box:
    """A machine of the lab: a network namespace, maybe with its own PID/mount namespaces."""

    def __init__(self, lab, name, kind, public_ip=None, mgmt_ip=None, bmc_ip=None):
        self.lab = lab
        self.name = name
        self.kind = kind  # "node", "qnetd", "client", "bmc"
        self.netns = f"{lab.name}-{name}"
        self.public_ip = public_ip
        self.mgmt_ip = mgmt_ip
        self.bmc_ip = bmc_ip

    @property
    def hostname(self):
        return self.name

    @property
    def dir(self):
        return f"{self.lab.root}/boxes/{self.name}"

    @property
    def booted(self):
        """Has a PID 1 of its own (nodes and the qnetd host), not just a network namespace."""
        return self.kind in ("node", "qnetd")

    def interfaces(self):
        """[(device, switch port, bridge, [addresses])] as the box sees them."""
        result = []
        if self.public_ip:
            last = self.public_ip.rsplit(".", 1)[1]
            result.append(("eth0", self.name, "pub",
                           [f"{self.public_ip}/{PREFIX}", f"{PUBLIC6}:{last}/64"]))
        if self.kind == "node":
            last = self.mgmt_ip.rsplit(".", 1)[1]
            result.append(("eth1", f"m-{self.name}", "mgmt",
                           [f"{self.mgmt_ip}/{PREFIX}", f"{MGMT6}:{last}/64"]))
        if self.kind == "bmc":
            addrs = []
            for node in self.lab.nodes:
                last = node.bmc_ip.rsplit(".", 1)[1]
                addrs += [f"{node.bmc_ip}/{PREFIX}", f"{MGMT6}:{last}/64"]
            result.append(("eth0", "m-bmc", "mgmt", addrs))
        return result

    def __repr__(self):
        return f"<Box {self.name} {self.kind} {self.netns}>"


class Lab:
    """One lab's layout. ``nodes`` is 2..MAX_NODES."""

    def __init__(self, name=DEFAULT_NAME, nodes=2, root=STATE_ROOT, token_ms=TOKEN_MS):
        if not NAME_RE.match(name or ""):
            raise LabError(f"lab name {name!r} is not valid: 'okl' plus up to 6 lowercase "
                           "letters or digits")
        if not isinstance(nodes, int) or not 2 <= nodes <= MAX_NODES:
            raise LabError(f"--nodes must be between 2 and {MAX_NODES}, not {nodes}")
        if not isinstance(token_ms, int) or not MIN_TOKEN_MS <= token_ms <= MAX_TOKEN_MS:
            raise LabError(f"--token must be between {MIN_TOKEN_MS} and {MAX_TOKEN_MS} ms, "
                           f"not {token_ms}")
        self.name = name
        self.root = f"{root}/{name}"
        self.node_count = nodes
        self.nodes = [
            Box(self, f"n{i}", "node", public_ip=f"{PUBLIC_NET}.{10 + i}",
                mgmt_ip=f"{MGMT_NET}.{10 + i}", bmc_ip=f"{MGMT_NET}.{110 + i}")
            for i in range(1, nodes + 1)
        ]
        self.qnetd = Box(self, "qnetd", "qnetd", public_ip=QNETD_IP)
        self.client = Box(self, "client", "client", public_ip=CLIENT_IP)
        self.bmc = Box(self, "bmc", "bmc")
        self.switch_netns = f"{name}-sw"
        self.vip = VIP
        # What the story configures; corosync itself adds token_coefficient (650 ms)
        # per node beyond two: runtime_token_ms is what it then runs with.
        self.token_ms = token_ms
        self.runtime_token_ms = token_ms + 650 * max(0, nodes - 2)

    @property
    def boxes(self):
        return [*self.nodes, self.qnetd, self.client, self.bmc]

    @property
    def booted_boxes(self):
        return [box for box in self.boxes if box.booted]

    @property
    def netns_names(self):
        return [self.switch_netns, *(box.netns for box in self.boxes)]

    def node(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise LabError(f"no node {name!r} in this lab (nodes: "
                       f"{', '.join(n.name for n in self.nodes)})")

    def box(self, name):
        for box in self.boxes:
            if box.name == name:
                return box
        raise LabError(f"no box {name!r} in this lab (boxes: "
                       f"{', '.join(b.name for b in self.boxes)})")

    def hosts_file(self):
        """/etc/hosts of every box: each box's name resolves to its public address."""
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
        for box in (*self.nodes, self.qnetd, self.client):
            lines.append(f"{box.public_ip} {box.name}")
        for node in self.nodes:
            lines.append(f"{node.bmc_ip} {node.name}-bmc")
        return "\n".join(lines) + "\n"

    @property
    def state_file(self):
        return f"{self.root}/state.json"

    def describe(self):
        return {"name": self.name, "nodes": self.node_count}
