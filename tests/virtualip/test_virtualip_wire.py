"""What VirtualIP puts on the wire, seen from a neighbour's raw socket; duplicate detection
against a neighbour that really owns the address."""

import os
import socket
import struct

import pytest
from fixtures.netns import ETH_P_ARP, ETH_P_IPV6
from ocfkit.process import cmdline, is_alive
from vip_helpers import VIP4, VIP6, wait_for

pytestmark = pytest.mark.netns
BROADCAST = b"\xff" * 6


def arps(frames, mac):
    """(op, sha, spa, tha, tpa, eth_dst) of the ARP frames sent by ``mac``."""
    found = []
    for frame in frames:
        if frame[6:12] != mac or frame[12:14] != b"\x08\x06":
            continue
        _h, _p, _hl, _pl, op, sha, spa, tha, tpa = struct.unpack_from("!HHBBH6s4s6s4s",
                                                                       frame, 14)
        found.append((op, sha, socket.inet_ntoa(spa), tha, socket.inet_ntoa(tpa), frame[:6]))
    return found


def neighbour_adverts(frames, mac):
    """Dicts describing the ICMPv6 neighbour advertisements sent by ``mac``."""
    found = []
    for frame in frames:
        if frame[6:12] != mac or frame[12:14] != b"\x86\xdd":
            continue
        packet = frame[14:]
        length, next_header, hop_limit = struct.unpack_from("!HBB", packet, 4)
        src, dst = packet[8:24], packet[24:40]
        icmp = packet[40:40 + length]
        if next_header != 58 or icmp[0] != 136:
            continue
        pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
        found.append({
            "eth_dst": frame[:6], "src": socket.inet_ntop(socket.AF_INET6, src),
            "dst": socket.inet_ntop(socket.AF_INET6, dst), "hop_limit": hop_limit,
            "flags": struct.unpack_from("!I", icmp, 4)[0],
            "target": socket.inet_ntop(socket.AF_INET6, icmp[8:24]), "option": icmp[24:32],
            "checksum_ok": _checksum(pseudo + icmp) == 0,
        })
    return found


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def check_gratuitous_pairs(found, mac, rounds):
    requests = [f for f in found if f[0] == 1]
    replies = [f for f in found if f[0] == 2]
    assert (len(requests), len(replies)) == (rounds, rounds), found
    for _op, sha, spa, tha, tpa, eth_dst in requests:
        assert (sha, spa, tpa, tha, eth_dst) == (mac, VIP4, VIP4, b"\0" * 6, BROADCAST)
    for _op, sha, spa, tha, tpa, eth_dst in replies:
        assert (sha, spa, tpa, tha, eth_dst) == (mac, VIP4, VIP4, mac, BROADCAST)


def test_gratuitous_arps_in_the_foreground(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_bg": "false",
              "arp_count": "3", "arp_interval": "100"}
    with b.capture(ETH_P_ARP) as cap:
        result = run("start", params)
        assert result.rc == 0, result.stderr
        assert result.wall >= 0.2  # two pauses of 100 ms: start returned after the last
        frames = cap.frames(0.3)   # and nothing comes later
        found = arps(frames, a.mac())
        check_gratuitous_pairs(found, a.mac(), 3)
        times = [t for f, t in zip(cap.received, cap.times) if f[6:12] == a.mac()]
        rounds = times[::2]
        assert all(later - earlier >= 0.08 for earlier, later in zip(rounds, rounds[1:]))
    assert run("stop", params).rc == 0


def test_gratuitous_arps_from_the_background(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "4",
              "arp_interval": "150"}
    with b.capture(ETH_P_ARP) as cap:
        result = run("start", params)
        assert result.rc == 0, result.stderr
        assert result.wall < 0.45  # the three later rounds (450 ms) are not waited for
        cap.frames(3.0, until=lambda frames: len(arps(frames, a.mac())) >= 8)
        frames = cap.frames(0.4)
        check_gratuitous_pairs(arps(frames, a.mac()), a.mac(), 4)
    assert run("stop", params).rc == 0


def test_background_sender_is_detached_and_stopped_by_stop(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1000",
              "arp_interval": "100"}
    assert run("start", params).rc == 0
    pidfile = os.path.join(run.rsctmp, "ocfkit-VirtualIP-test.announce.pid")
    pid = int(open(pidfile).read())
    argv = cmdline(pid)
    assert argv[0] == "/usr/bin/python3" and argv[2].endswith("/ocfkit/net/sender.py")
    assert "--instance=test" in argv
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    assert int(fields[3]) == pid  # its own session: Pacemaker's kill of the agent's group
    #                               cannot reach it
    # stdout is /dev/null (compared by device: under a chroot the link text differs)
    assert os.stat(f"/proc/{pid}/fd/1").st_rdev == os.stat("/dev/null").st_rdev
    with b.capture(ETH_P_ARP) as cap:
        assert len(arps(cap.frames(1.0, until=lambda f: len(f) >= 2), a.mac())) >= 2
        assert run("stop", params).rc == 0
        assert not is_alive(pid)
        assert not os.path.exists(pidfile)
        cap.received.clear()
        assert arps(cap.frames(0.3), a.mac()) == []


def test_background_sender_stops_when_the_address_goes(net, run):
    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_count": "1000",
              "arp_interval": "50"}
    assert run("start", params).rc == 0
    pid = int(open(os.path.join(run.rsctmp, "ocfkit-VirtualIP-test.announce.pid")).read())
    assert is_alive(pid)
    a.ip("addr", "del", f"{VIP4}/24", "dev", a.nic)
    assert wait_for(lambda: not is_alive(pid), timeout=2.0)
    assert run("stop", params).rc == 0


def test_stop_never_kills_a_stranger_with_the_senders_pid(net, run):
    a = net.nodes["a"]
    stranger = a.spawn(["sleep", "30"])
    pidfile = os.path.join(run.rsctmp, "ocfkit-VirtualIP-test.announce.pid")
    with open(pidfile, "w") as handle:
        handle.write(f"{stranger.pid}\n")
    assert run("stop", {"ip": VIP4, "nic": a.nic}).rc == 0
    assert stranger.poll() is None  # still running: its command line is not a sender's
    assert not os.path.exists(pidfile)


def test_monitor_refreshes_arp_caches(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "arp_bg": "false",
              "arp_count": "1", "arp_count_refresh": "2", "arp_interval": "20"}
    assert run("start", params).rc == 0
    with b.capture(ETH_P_ARP) as cap:
        assert run("monitor", params, interval_ms=10000).rc == 0
        check_gratuitous_pairs(arps(cap.frames(0.3), a.mac()), a.mac(), 2)
    assert run("stop", params).rc == 0


@pytest.mark.parametrize("background", ["false", "true"])
def test_unsolicited_neighbour_advertisements(net, run, background):
    a, b = net.nodes["a"], net.nodes["b"]
    params = {"ip": VIP6, "cidr_netmask": "64", "nic": a.nic, "nodad": "true",
              "arp_count": "3", "arp_interval": "50", "arp_bg": background}
    with b.capture(ETH_P_IPV6) as cap:
        result = run("start", params)
        assert result.rc == 0, result.stderr
        cap.frames(2.0, until=lambda frames: len(neighbour_adverts(frames, a.mac())) >= 3)
        found = neighbour_adverts(cap.frames(0.3), a.mac())
    assert len(found) == 3
    for advert in found:
        assert advert["eth_dst"] == bytes.fromhex("333300000001")
        assert (advert["src"], advert["dst"], advert["target"]) == (VIP6, "ff02::1", VIP6)
        assert advert["hop_limit"] == 255
        assert advert["flags"] == 0x20000000  # override; not router, not solicited
        assert advert["option"] == b"\x02\x01" + a.mac()
        assert advert["checksum_ok"]
    assert run("stop", params).rc == 0


def test_duplicate_ipv4_refuses_to_start(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    b.ip("addr", "add", f"{VIP4}/24", "dev", b.nic)
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "run_arping": "true"}
    with b.capture(ETH_P_ARP) as cap:
        result = run("start", params)
        frames = cap.frames(0.2)
    assert result.rc == 1
    owner = ":".join(f"{x:02x}" for x in b.mac())
    assert owner in result.exit_reason and "in use" in result.exit_reason
    probes = [f for f in arps(frames, a.mac()) if f[2] == "0.0.0.0"]
    assert probes and all(f[4] == VIP4 and f[0] == 1 for f in probes)
    assert [f for f in arps(frames, a.mac()) if f[2] == VIP4] == []  # never announced
    assert not a.has_address(VIP4)
    assert run("monitor", params).rc == 7


def test_ipv4_probe_without_conflict(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic, "run_arping": "true",
              "arp_bg": "false", "arp_count": "1"}
    with b.capture(ETH_P_ARP) as cap:
        result = run("start", params)
        frames = arps(cap.frames(0.2), a.mac())
    assert result.rc == 0, result.stderr
    assert [f[2] for f in frames] == ["0.0.0.0", "0.0.0.0", VIP4, VIP4]  # probes, then ours
    assert a.has_address(VIP4)
    assert run("stop", params).rc == 0


def test_duplicate_ipv6_fails_dad_and_leaves_nothing(net, run):
    a, b = net.nodes["a"], net.nodes["b"]
    b.ip("addr", "add", f"{VIP6}/64", "dev", b.nic, "nodad")
    params = {"ip": VIP6, "cidr_netmask": "64", "nic": a.nic}
    result = run("start", params)
    assert result.rc == 1 and "duplicate address detection failed" in result.exit_reason
    assert not a.has_address(VIP6)
    # nodad skips the check, like IPaddr2: the address is then on both nodes.
    assert run("start", dict(params, nodad="true", arp_count="1")).rc == 0
    assert run("stop", params).rc == 0
