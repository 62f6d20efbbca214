"""VirtualIP and ocf:heartbeat:IPaddr2 (Debian resource-agents 4.12) side by side.

Each case builds a fresh network for each agent, puts it in the same state, runs the
same actions with the same parameters and compares the exit codes. Where VirtualIP
deliberately answers differently, the case says what each returns and why; all
other cases must match exactly.
"""

import pytest
from fixtures.netns import Network
from vip_helpers import A4, A6, AGENT, B4, B6, IPADDR2, VIP4, VIP6, Runner, fast_dad

pytestmark = [pytest.mark.netns, pytest.mark.slow]

BASE4 = {"ip": VIP4, "cidr_netmask": "24", "arp_count": "1"}
BASE6 = {"ip": VIP6, "cidr_netmask": "64", "arp_count": "1", "nodad": "true"}
PROBE = {"interval_ms": 0}
RECURRING = {"interval_ms": 10000}


def with_nic(params):
    return lambda net: dict(params, nic=net.nodes["a"].nic)


# --------------------------------------------------------------------- states
def pull_cable(net):
    net.set_cable(net.nodes["a"], False)


def delete_nic(net):
    a = net.nodes["a"]
    a.ip("link", "del", a.nic)


def own_vip_locally(net):
    a = net.nodes["a"]
    a.ip("addr", "add", f"{VIP4}/24", "dev", a.nic)


def own_vip_on_other_interface(net):
    a = net.nodes["a"]
    other = net.connect(a, f"{A4.rsplit('.', 1)[0]}.3/32", bridge=0)
    a.ip("addr", "add", f"{VIP4}/32", "dev", other)


def peer_owns_vip4(net):
    b = net.nodes["b"]
    b.ip("addr", "add", f"{VIP4}/24", "dev", b.nic)


def peer_owns_vip6(net):
    b = net.nodes["b"]
    b.ip("addr", "add", f"{VIP6}/64", "dev", b.nic, "nodad")


def second_interface_same_network(net):
    net.bridge()
    net.connect(net.nodes["a"], "198.51.100.3/24", bridge=1)


class Case:
    """``steps``: (action, execd-environment keywords). ``ours``/``ref``: expected exit
    codes per step; ``why`` explains a deliberate difference (ours != ref)."""

    def __init__(self, name, params, steps, expect, *, setup=None, ref=None, why=None,
                 after_start=None):
        self.name, self.params, self.steps = name, params, steps
        self.ours = expect
        self.ref = expect if ref is None else ref
        self.why = why
        self.setup, self.after_start = setup, after_start
        assert (self.ours != self.ref) == bool(why), f"{name}: a difference needs a reason"

    def __repr__(self):
        return self.name


S = ("start", {})
STOP = ("stop", {})
MON = ("monitor", RECURRING)
PRB = ("monitor", PROBE)

CASES = [
    Case("fresh probe", with_nic(BASE4), [PRB], [7]),
    Case("fresh recurring monitor", with_nic(BASE4), [MON], [7]),
    Case("start then monitor", with_nic(BASE4), [S, MON, PRB], [0, 0, 0]),
    Case("double start", with_nic(BASE4), [S, S, MON], [0, 0, 0]),
    Case("start, stop, probe", with_nic(BASE4), [S, STOP, PRB], [0, 0, 7]),
    Case("double stop", with_nic(BASE4), [S, STOP, STOP, MON], [0, 0, 0, 7]),
    Case("stop never started", with_nic(BASE4), [STOP], [0]),
    Case("IPv6 lifecycle", with_nic(BASE6), [S, MON, STOP, PRB], [0, 0, 0, 7]),
    Case("IPv6 in long upper-case form", with_nic(dict(
        BASE6, ip="2001:0DB8:0000:0000:0000:0000:0000:0010")), [S, MON, STOP, PRB],
        [0, 0, 0, 7]),
    Case("nic and prefix from the routing table", lambda net: {"ip": VIP4, "arp_count": "1"},
         [S, MON, STOP, PRB], [0, 0, 0, 7]),
    Case("nic from the routing table, prefix given", lambda net: dict(BASE4),
         [S, MON, STOP], [0, 0, 0]),
    Case("IPv6 nic and prefix from the routing table",
         lambda net: {"ip": VIP6, "arp_count": "1", "nodad": "true"}, [S, MON, STOP],
         [0, 0, 0]),
    Case("dotted netmask", with_nic(dict(BASE4, cidr_netmask="255.255.255.0")),
         [S, MON, STOP], [0, 0, 0]),
    Case("legacy netmask parameter", lambda net: {
        "ip": VIP4, "netmask": "24", "nic": net.nodes["a"].nic, "arp_count": "1"},
        [S, MON, STOP], [0, 0, 0]),
    Case("legacy nic:label", lambda net: dict(BASE4, nic=f"{net.nodes['a'].nic}:v"),
         [S, MON, STOP], [0, 0, 0]),
    Case("broadcast +", with_nic(dict(BASE4, broadcast="+")), [S, MON], [0, 0]),
    Case("address already configured by hand", with_nic(BASE4), [PRB, S, MON],
         [0, 0, 0], setup=own_vip_locally),
    Case("interface missing: start", lambda net: dict(BASE4, nic="okvnosuchif"), [S], [2],
         ref=[6], why="an interface absent on this node is a local problem (2 bans the "
                      "resource from this node only); 6 would ban it from every node"),
    Case("interface missing: probe, monitor, stop",
         lambda net: dict(BASE4, nic="okvnosuchif"), [PRB, MON, STOP], [7, 7, 0]),
    Case("interface deleted while running", with_nic(BASE4), [S, MON, STOP, PRB],
         [0, 7, 0, 7], after_start=delete_nic),
    Case("cable pulled while running", with_nic(BASE4), [S, MON], [0, 7],
         ref=[0, 0], after_start=pull_cable,
         why="check_link_status (default true, as in IPaddr2 4.13+): an address on a link "
             "without carrier serves nobody; Debian's IPaddr2 4.12 predates the check"),
    Case("start with the cable pulled", with_nic(BASE4), [S], [5], ref=[0],
         setup=pull_cable,
         why="check_link_status: refuse a link without carrier so the address starts on a "
             "node whose link works (exit 5 like IPaddr2 4.13+); 4.12 adds it anyway"),
    Case("cable pulled, check_link_status=false", with_nic(dict(
        BASE4, check_link_status="false")), [S, MON], [0, 0], setup=pull_cable),
    Case("bad address", with_nic(dict(BASE4, ip="198.51.100.256")), [S], [6]),
    Case("bad address: probe and stop", with_nic(dict(BASE4, ip="198.51.100.256")),
         [PRB, STOP], [7, 0]),
    Case("netmask 33", with_nic(dict(BASE4, cidr_netmask="33")), [S, PRB, STOP],
         [6, 7, 0]),
    Case("netmask 33: recurring monitor", with_nic(dict(BASE4, cidr_netmask="33")), [MON],
         [1], ref=[7],
         why="a configuration that can never work is a monitor failure the admin must see "
             "(contract A5), not a clean 'stopped'"),
    Case("IPv6 prefix 129", with_nic(dict(BASE6, cidr_netmask="129")), [S], [6]),
    Case("IPv6 link-local without nic", lambda net: {"ip": "fe80::10", "nodad": "true"},
         [S, PRB, STOP], [6, 7, 0]),
    Case("label longer than the kernel allows",
         with_nic(dict(BASE4, iflabel="toolonglabel")), [S], [6]),
    Case("ip missing", with_nic({"cidr_netmask": "24"}), [S, PRB, STOP], [6, 7, 0],
         ref=[6, 6, 0],
         why="a probe runs on every node, configured or not: 7 (contract A5); a 6 from a "
             "probe bans the resource from the whole cluster"),
    Case("arp_count 0", with_nic(dict(BASE4, arp_count="0")), [S], [6]),
    Case("address owned by a peer, no duplicate check", with_nic(BASE4), [S, MON], [0, 0],
         setup=peer_owns_vip4),
    Case("address owned by a peer, run_arping", with_nic(dict(BASE4, run_arping="true")),
         [S, PRB], [1, 7], setup=peer_owns_vip4),
    Case("IPv6 address owned by a peer (DAD)", with_nic(dict(BASE6, nodad="false")),
         [S, PRB], [1, 7], setup=peer_owns_vip6),
    Case("address on another interface of this node", with_nic(BASE4), [S], [1], ref=[0],
         setup=own_vip_on_other_interface,
         why="IPaddr2 adds the address a second time, on a second interface; VirtualIP "
             "refuses to create that duplicate"),
    Case("no connected network for the address",
         lambda net: {"ip": "203.0.113.10", "arp_count": "1"}, [S, PRB, STOP], [2, 7, 0],
         ref=[1, 7, 0],
         why="this node has no network for the address, others may: 2 (wrong on this "
             "node) rather than a generic failure"),
    Case("two interfaces on the address's network", lambda net: dict(BASE4), [S], [2],
         ref=[0], setup=second_interface_same_network,
         why="IPaddr2 silently picks one of the interfaces; VirtualIP names both and asks "
             "for nic"),
    Case("validate-all", with_nic(BASE4), [("validate-all", {})], [0]),
    Case("validate-all, interface missing", lambda net: dict(BASE4, nic="okvnosuchif"),
         [("validate-all", {})], [0], ref=[6],
         why="validate-all at check level 0 (how pcs calls it, on any node) checks syntax "
             "only (contract A4); start on this node returns 2"),
    Case("unknown action", with_nic(BASE4), [("frobnicate", {})], [3]),
]


def _run_case(case, agent, tmp_path):
    with Network("okv") as net:
        a = net.node("a", f"{A4}/24", f"{A6}/64")
        net.node("b", f"{B4}/24", f"{B6}/64")
        fast_dad(a)
        if case.setup:
            case.setup(net)
        rsctmp = tmp_path / f"rsctmp-{len(list(tmp_path.iterdir()))}"
        rsctmp.mkdir()
        run = Runner(a, rsctmp)
        params = case.params(net)
        codes, reasons = [], []
        for action, env_kw in case.steps:
            result = run(action, params, agent=agent, **env_kw)
            codes.append(result.rc)
            reasons.append(result.exit_reason)
            assert "Traceback" not in result.stderr, result.stderr
            if action == "start" and case.after_start and result.rc == 0:
                case.after_start(net)
        run("stop", params, agent=agent)  # whatever the case left, a background sender too
        return codes, reasons


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_same_exit_codes_as_ipaddr2(case, tmp_path):
    ref, ref_reasons = _run_case(case, IPADDR2, tmp_path)
    ours, our_reasons = _run_case(case, AGENT, tmp_path)
    assert ref == case.ref, f"IPaddr2 changed behaviour: {ref} {ref_reasons}"
    assert ours == case.ours, f"VirtualIP: {ours} {our_reasons}"
    for code, reason in zip(ours, our_reasons):
        if code not in (0, 7):
            assert reason, "every failure carries an exit reason"


def test_table_is_large_enough():
    assert len(CASES) >= 25
