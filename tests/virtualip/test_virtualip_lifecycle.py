"""VirtualIP against the real kernel: what start, monitor and stop leave in ``ip -j addr``."""

import os

import pytest
from vip_helpers import A4, VIP4, VIP6, wait_for

pytestmark = pytest.mark.netns
MON = {"interval_ms": 10000}
DEEP = {"interval_ms": 60000, "check_level": 10}


def vip(node, address, ifname=None):
    """The kernel's record of ``address`` on the node (``ip -j addr``), or None."""
    for local, _prefix, info in node.addresses(ifname):
        if local == address:
            return info
    return None


def test_ipv4_lifecycle_in_the_kernel(net, run):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1"}
    assert run("monitor", params).rc == 7
    started = run("start", params)
    assert started.rc == 0, started.stderr
    info = vip(a, VIP4, a.nic)
    assert info["prefixlen"] == 24
    assert info["broadcast"] == "198.51.100.255"
    assert info["label"] == a.nic
    assert run("monitor", params, **MON).rc == 0
    assert run("monitor", params, **DEEP).rc == 0
    assert run("start", params).rc == 0
    assert [x[0] for x in a.addresses(a.nic)].count(VIP4) == 1
    assert run("stop", params).rc == 0
    assert vip(a, VIP4) is None
    assert vip(a, A4) is not None  # the interface's own address is untouched
    assert run("stop", params).rc == 0
    assert run("monitor", params, **MON).rc == 7


def test_ipv6_lifecycle_waits_for_duplicate_detection(net, run):
    a = net.nodes["a"]
    params = {"ip": "2001:DB8:0:0::10", "nic": a.nic, "arp_count": "1"}
    started = run("start", params)
    assert started.rc == 0, started.stderr
    info = vip(a, VIP6, a.nic)
    assert info["prefixlen"] == 64  # from the connected route
    assert not info.get("tentative") and not info.get("dadfailed")
    assert run("monitor", params, **DEEP).rc == 0
    assert run("stop", params).rc == 0
    assert vip(a, VIP6) is None


def test_address_options_reach_the_kernel(net, run):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "255.255.255.0", "nic": f"{a.nic}:web",
              "broadcast": "-", "noprefixroute": "true", "preferred_lft": "0",
              "arp_count": "1"}
    assert run("start", params).rc == 0
    info = vip(a, VIP4)
    assert (info["prefixlen"], info["label"]) == (24, f"{a.nic}:web")
    assert info["broadcast"] == "198.51.100.0"
    assert info.get("noprefixroute") is True
    assert not info.get("deprecated")  # preferred_lft is for IPv6 only, as in IPaddr2
    assert run("monitor", params, **DEEP).rc == 0
    assert run("stop", params).rc == 0

    six = {"ip": VIP6, "cidr_netmask": "80", "nic": a.nic, "nodad": "true",
           "preferred_lft": "300", "arp_count": "1"}
    assert run("start", six).rc == 0
    info = vip(a, VIP6)
    assert (info["prefixlen"], info.get("nodad"), info["preferred_life_time"]) == (80, True, 300)
    assert run("stop", six).rc == 0
    assert run("start", dict(six, preferred_lft="0")).rc == 0
    assert vip(a, VIP6).get("deprecated") is True  # never chosen as a source address
    assert run("stop", six).rc == 0


def test_nic_and_prefix_come_from_the_routing_table(net, run):
    a = net.nodes["a"]
    for ip, prefix in ((VIP4, 24), (VIP6, 64)):
        params = {"ip": ip, "arp_count": "1", "nodad": "true"}
        assert run("start", params).rc == 0
        assert vip(a, ip, a.nic)["prefixlen"] == prefix
        assert run("monitor", params, **MON).rc == 0
        assert run("stop", params).rc == 0
        assert vip(a, ip) is None


def test_ambiguous_and_missing_routes_are_explained(net, run):
    a = net.nodes["a"]
    net.bridge()
    other = net.connect(a, "198.51.100.3/24", bridge=1)
    result = run("start", {"ip": VIP4})
    assert result.rc == 2
    assert a.nic in result.exit_reason and other in result.exit_reason
    assert "set nic" in result.exit_reason
    assert run("monitor", {"ip": VIP4}).rc == 7  # probe: not running here
    recurring = run("monitor", {"ip": VIP4}, **MON)
    assert recurring.rc == 1 and recurring.exit_reason
    assert run("start", {"ip": VIP4, "nic": other, "arp_count": "1"}).rc == 0
    assert vip(a, VIP4, other)["prefixlen"] == 24
    assert run("stop", {"ip": VIP4, "nic": other}).rc == 0

    nowhere = run("start", {"ip": "203.0.113.10"})
    assert nowhere.rc == 2 and "no directly connected network" in nowhere.exit_reason
    no_prefix = run("start", {"ip": "203.0.113.10", "nic": a.nic})
    assert no_prefix.rc == 2 and "cidr_netmask" in no_prefix.exit_reason
    assert run("start", {"ip": "203.0.113.10", "nic": a.nic, "cidr_netmask": "28",
                         "arp_count": "1"}).rc == 0
    assert vip(a, "203.0.113.10", a.nic)["prefixlen"] == 28
    assert run("stop", {"ip": "203.0.113.10", "nic": a.nic}).rc == 0
    assert vip(a, "203.0.113.10") is None


def test_link_local_ipv6_with_zone(net, run):
    a = net.nodes["a"]
    params = {"ip": f"fe80::10%{a.nic}", "nodad": "true", "arp_count": "1"}
    assert run("start", params).rc == 0
    assert vip(a, "fe80::10", a.nic)["prefixlen"] == 64
    assert run("monitor", params, **MON).rc == 0
    assert run("stop", params).rc == 0
    assert vip(a, "fe80::10") is None


def test_link_down(net, run):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1"}
    assert run("start", params).rc == 0
    net.set_cable(a, False)
    down = run("monitor", params, **MON)
    assert down.rc == 7 and "carrier" in down.exit_reason
    assert run("monitor", dict(params, check_link_status="false"), **MON).rc == 0
    assert run("stop", params).rc == 0
    refused = run("start", params)
    assert refused.rc == 5 and "carrier" in refused.exit_reason
    assert vip(a, VIP4) is None  # nothing half-done
    net.set_cable(a, True)

    a.ip("link", "set", a.nic, "down")
    assert run("start", params).rc == 5
    assert vip(a, VIP4) is None
    forced = dict(params, check_link_status="false")
    assert run("start", forced).rc == 0  # like IPaddr2: add it and bring the link up
    assert a.ip("-j", "link", "show", a.nic)[0]["operstate"] == "UP"
    assert run("monitor", params, **MON).rc == 0
    assert run("stop", params).rc == 0


def test_stop_removes_the_address_whatever_else_is_wrong(net, run):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1"}
    assert run("start", params).rc == 0
    broken = dict(params, arp_count="many", preferred_lft="soon")
    assert run("start", broken).rc == 6
    assert run("stop", broken).rc == 0
    assert vip(a, VIP4) is None

    # nic unset and its routes gone with the link (administratively down): the
    # address is still configured, and stop still finds and removes it.
    derived = {"ip": VIP4, "arp_count": "1"}
    assert run("start", derived).rc == 0
    a.ip("link", "set", a.nic, "down")
    assert vip(a, VIP4) is not None
    assert run("monitor", derived).rc == 7
    assert run("stop", derived).rc == 0
    assert vip(a, VIP4) is None


def test_stop_when_address_or_interface_is_gone(net, run):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1"}
    assert run("start", params).rc == 0
    a.ip("addr", "del", f"{VIP4}/24", "dev", a.nic)
    assert run("monitor", params, **MON).rc == 7
    assert run("stop", params).rc == 0
    assert run("start", params).rc == 0
    a.ip("link", "del", a.nic)
    assert run("monitor", params, **MON).rc == 7
    assert run("stop", params).rc == 0
    assert run("monitor", params).rc == 7


def test_address_elsewhere_on_the_node_is_not_duplicated(net, run):
    a = net.nodes["a"]
    other = net.connect(a, "198.51.100.3/32")
    a.ip("addr", "add", f"{VIP4}/32", "dev", other)
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1"}
    result = run("start", params)
    assert result.rc == 1 and other in result.exit_reason
    assert vip(a, VIP4, a.nic) is None
    assert run("monitor", params).rc == 7  # not ours: it is not on our interface


def test_depth_10_checks_prefix_label_and_dad(net, run):
    a = net.nodes["a"]
    a.ip("addr", "add", f"{VIP4}/16", "dev", a.nic)
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic}
    assert run("monitor", params, **MON).rc == 0  # the address is there...
    deep = run("monitor", params, **DEEP)
    assert deep.rc == 1 and "/16" in deep.exit_reason  # ...but not as configured
    assert run("stop", params).rc == 0
    assert vip(a, VIP4) is None

    a.ip("addr", "add", f"{VIP4}/24", "dev", a.nic, "label", f"{a.nic}:x")
    labelled = dict(params, iflabel="y")
    assert run("monitor", labelled, **DEEP).rc == 1
    assert run("monitor", dict(params, iflabel="x"), **DEEP).rc == 0
    assert run("stop", params).rc == 0

    # An IPv6 address that lost duplicate detection: there, but unusable.
    b = net.nodes["b"]
    b.ip("addr", "add", f"{VIP6}/64", "dev", b.nic, "nodad")
    a.ip("addr", "add", f"{VIP6}/64", "dev", a.nic)
    six = {"ip": VIP6, "nic": a.nic}
    assert wait_for(lambda: vip(a, VIP6).get("dadfailed"))
    assert run("monitor", six, **MON).rc == 0
    failed = run("monitor", six, **DEEP)
    assert failed.rc == 1 and "duplicate" in failed.exit_reason
    assert run("stop", six).rc == 0
    assert vip(a, VIP6) is None


def slow_dad(node, seconds):
    node.run(["sysctl", "-qw", f"net.ipv6.neigh.{node.nic}.retrans_time_ms={seconds * 1000}"])


def test_tentative_address_is_degraded_at_depth_10(net, run):
    a = net.nodes["a"]
    slow_dad(a, 30)  # duplicate detection now takes 30 s: the address stays tentative
    a.ip("addr", "add", f"{VIP6}/64", "dev", a.nic)
    params = {"ip": VIP6, "nic": a.nic}
    assert vip(a, VIP6).get("tentative")
    assert run("monitor", params, **MON).rc == 0
    assert run("monitor", params, **DEEP).rc == 190
    assert run("stop", params).rc == 0


def test_ipv6_start_gives_up_when_dad_cannot_finish_in_time(net, run):
    a = net.nodes["a"]
    slow_dad(a, 30)
    params = {"ip": VIP6, "nic": a.nic, "arp_count": "1"}
    result = run("start", params, timeout_ms=2000)  # 1.8 s of budget for 30 s of DAD
    assert result.rc == 1 and "did not finish" in result.exit_reason
    assert result.wall < 2.0
    assert vip(a, VIP6) is None


STRACE = ["strace", "-f", "-qq", "-s", "256", "-e", "trace=fork,vfork,clone,clone3,execve"]


def processes_created(node, tmp_path, action, params, rsctmp):
    """execve calls of processes the agent created (strace -f), excluding the agent itself."""
    from ocfkit.testing import execd_environment
    from vip_helpers import AGENT

    log = tmp_path / f"{action}.strace"
    env = execd_environment(params, action=action, agent_type="VirtualIP",
                            extra={"HA_RSCTMP": rsctmp})
    node.run([*STRACE, "-o", str(log), AGENT, action], env=env, check=False)
    lines = log.read_text().splitlines()
    first = lines[0].split()[0]
    return [line for line in lines if "execve(" in line and not line.startswith(first + " ")]


def test_no_child_processes(net, run, tmp_path):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_bg": "false",
              "arp_count": "2", "arp_interval": "20", "arp_count_refresh": "1"}
    for action in ("monitor", "start", "monitor", "stop", "stop"):
        assert processes_created(a, tmp_path, action, params, run.rsctmp) == [], action
    assert vip(a, VIP4) is None


def test_background_sender_is_the_only_process(net, run, tmp_path):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "3",
              "arp_interval": "50"}
    created = processes_created(a, tmp_path, "start", params, run.rsctmp)
    assert len(created) == 1
    assert "/usr/bin/python3" in created[0] and "ocfkit/net/sender.py" in created[0]
    assert "--instance=test" in created[0]
    assert run("stop", params).rc == 0
    assert os.listdir(run.rsctmp) == [] or all(
        not name.endswith(".pid") for name in os.listdir(run.rsctmp))


def test_start_replaces_an_address_that_failed_dad(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    b.ip("addr", "add", f"{VIP6}/64", "dev", b.nic, "nodad")
    a.ip("addr", "add", f"{VIP6}/64", "dev", a.nic)
    assert wait_for(lambda: vip(a, VIP6).get("dadfailed"))
    b.ip("addr", "del", f"{VIP6}/64", "dev", b.nic)  # the other owner went away
    params = {"ip": VIP6, "nic": a.nic, "arp_count": "1"}
    result = run("start", params)
    assert result.rc == 0, result.stderr
    info = vip(a, VIP6)
    assert not info.get("dadfailed") and not info.get("tentative")
    assert run("monitor", params, **DEEP).rc == 0
    assert run("stop", params).rc == 0
