"""The lab's wiring: network namespaces, the switch's bridges, veth cables, links.

Bridges live inside the switch namespace, never on the host (the host's own interface
may already use a documentation range). Each box's cable is a veth pair: the switch
end is named after the box (``n1``, ``m-n1`` on the management bridge), the box end
``eth0``/``eth1``. Interface names only exist inside namespaces, so labs never clash.
"""

import os

from ocfkit.lab.topology import LabError
from ocfkit.process import CommandError, run

NETNS_DIR = "/run/netns"


def ip(*args, netns=None, check=True, input=None, timeout=30):
    argv = ["ip"]
    if netns:
        argv += ["-n", netns]
    argv += list(args)
    try:
        return run(argv, check=check, input=input, timeout=timeout)
    except CommandError as exc:
        raise LabError(f"{' '.join(argv)}: {exc}") from None


def batch(netns, commands):
    """Run several ``ip`` commands in one process (one fork instead of dozens)."""
    if commands:
        ip("-batch", "-", netns=netns, input="\n".join(commands) + "\n")


def exists(name):
    return os.path.exists(f"{NETNS_DIR}/{name}")


def lab_namespaces(lab_name):
    """Existing namespaces that belong to lab ``lab_name`` (prefix ``<name>-``)."""
    try:
        entries = os.listdir(NETNS_DIR)
    except OSError:
        return []
    return sorted(entry for entry in entries if entry.startswith(f"{lab_name}-"))


def inode(name):
    try:
        return os.stat(f"{NETNS_DIR}/{name}").st_ino
    except OSError:
        return None


def create(lab):
    """Create every namespace, both bridges and every cable; configure static boxes.

    Nodes and the qnetd host configure their own addresses when they boot (so that a
    power-off can take them away); the client and the BMC namespace are set up here.
    """
    for name in lab.netns_names:
        ip("netns", "add", name)
    sw = lab.switch_netns
    cmds = ["link set lo up"]
    for bridge in ("pub", "mgmt"):
        # No STP: ports forward at once. No multicast snooping: knet is unicast anyway.
        cmds += [f"link add {bridge} type bridge stp_state 0 mcast_snooping 0",
                 f"link set {bridge} up"]
    for box in lab.boxes:
        for dev, port, bridge, _addrs in box.interfaces():
            cmds += [f"link add {port} type veth peer name {dev} netns {box.netns}",
                     f"link set {port} master {bridge}", f"link set {port} up"]
    batch(sw, cmds)
    for box in (lab.client, lab.bmc):
        configure(box)
    for box in lab.booted_boxes:
        batch(box.netns, ["link set lo up"])


def configure(box):
    """Loopback, addresses and links up for ``box`` (run from the host)."""
    batch(box.netns, box_commands(box))


def box_commands(box):
    cmds = ["link set lo up"]
    for dev, _port, _bridge, addrs in box.interfaces():
        for addr in addrs:
            # nodad: the lab's addresses are unique by construction; DAD would only add
            # a second of "tentative" state after every boot.
            cmds.append(f"addr add {addr} dev {dev}" + (" nodad" if ":" in addr else ""))
        cmds.append(f"link set {dev} up")
    return cmds


def power_cut(box):
    """The NICs of a node whose power is cut: link down first (instant silence)."""
    batch(box.netns, [f"link set {dev} down" for dev, *_ in box.interfaces()])


def flush(box):
    """Take every address off a powered-off node (a dead machine answers nothing)."""
    batch(box.netns, [f"addr flush dev {dev}" for dev, *_ in box.interfaces()])


def set_cable(lab, box, connected, bridge="pub"):
    """Plug or pull a box's cable on the switch (``bridge`` "pub" or "mgmt")."""
    for _dev, port, port_bridge, _addrs in box.interfaces():
        if port_bridge == bridge:
            ip("link", "set", port, "up" if connected else "down", netns=lab.switch_netns)
            return
    raise LabError(f"{box.name} has no cable on the {bridge} network")


def cable_connected(lab, box, bridge="pub"):
    for _dev, port, port_bridge, _addrs in box.interfaces():
        if port_bridge == bridge:
            out = ip("-o", "link", "show", port, netns=lab.switch_netns, check=False).stdout
            return ",UP" in out or "<UP" in out
    return False


def addresses(netns, dev=None):
    """IPv4/IPv6 addresses (without prefix) configured in ``netns``, or [] if it is gone."""
    args = ["-o", "addr", "show"] + (["dev", dev] if dev else [])
    result = ip(*args, netns=netns, check=False)
    found = []
    for line in result.stdout.splitlines():
        parts = line.split()
        for family in ("inet", "inet6"):
            if family in parts:
                found.append(parts[parts.index(family) + 1].split("/")[0])
    return found


def delete(names):
    for name in names:
        if exists(name):
            ip("netns", "del", name, check=False)
