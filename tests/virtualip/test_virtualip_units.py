"""VirtualIP's building blocks without a kernel: address parsing, packets, netlink encoding."""

import struct

import pytest
from ocfkit.net import neighbour, rtnl, sender
from ocfkit.net.addr import AF_INET, AF_INET6, network_bytes, parse_ip, parse_prefix


@pytest.mark.parametrize("text, family, canonical", [
    ("198.51.100.10", AF_INET, "198.51.100.10"),
    (" 203.0.113.7 ", AF_INET, "203.0.113.7"),
    ("2001:DB8::10", AF_INET6, "2001:db8::10"),
    ("2001:0db8:0000:0000:0000:0000:0000:0010", AF_INET6, "2001:db8::10"),
    ("2001:db8:0:0:1:0:0:1", AF_INET6, "2001:db8::1:0:0:1"),
    ("2001:db8::198.51.100.1", AF_INET6, "2001:db8::c633:6401"),
    ("FE80::1", AF_INET6, "fe80::1"),
])
def test_addresses_are_normalised(text, family, canonical):
    ip = parse_ip(text)
    assert (ip.family, ip.text) == (family, canonical)


def test_zone_is_kept_apart():
    ip = parse_ip("fe80::10%eth1")
    assert (ip.text, ip.zone, ip.is_link_local) == ("fe80::10", "eth1", True)


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("198.51.100", "not an IPv4"),
    ("198.51.100.256", "not an IP"),
    ("198.051.100.1", "leading zeros"),
    ("0.0.0.0", "0.0.0.0/8"),
    ("224.0.0.1", "multicast"),
    ("255.255.255.255", "limited broadcast"),
    ("2001:db8::g", "not an IPv6"),
    ("::", "unspecified"),
    ("ff02::1", "multicast"),
    ("::ffff:198.51.100.1", "IPv4-mapped"),
    ("198.51.100.1%eth0", "only valid on an IPv6"),
    ("fe80::1%", "empty zone"),
])
def test_impossible_addresses_are_refused(text, words):
    with pytest.raises(ValueError, match=words):
        parse_ip(text)


@pytest.mark.parametrize("text, family, length", [
    ("24", AF_INET, 24), ("/32", AF_INET, 32), ("255.255.255.0", AF_INET, 24),
    ("255.255.255.255", AF_INET, 32), ("128.0.0.0", AF_INET, 1), ("64", AF_INET6, 64),
    ("128", AF_INET6, 128),
])
def test_prefixes(text, family, length):
    assert parse_prefix(text, family) == length


@pytest.mark.parametrize("text, family", [
    ("33", AF_INET), ("0", AF_INET), ("129", AF_INET6), ("-1", AF_INET), ("24a", AF_INET),
    ("255.0.255.0", AF_INET), ("255.255.255.0", AF_INET6), ("", AF_INET), ("0024", AF_INET),
])
def test_bad_prefixes(text, family):
    with pytest.raises(ValueError):
        parse_prefix(text, family)


def test_broadcast_and_network():
    packed = parse_ip("198.51.100.10").packed
    assert network_bytes(packed, 24, True) == bytes([198, 51, 100, 255])
    assert network_bytes(packed, 24, False) == bytes([198, 51, 100, 0])
    assert network_bytes(packed, 30, True) == bytes([198, 51, 100, 11])


def test_gratuitous_arp_layout():
    mac, ip = bytes.fromhex("020000000001"), parse_ip("198.51.100.10").packed
    request = neighbour.arp_packet(neighbour.ARPOP_REQUEST, mac, ip, neighbour.ZERO_MAC, ip)
    assert len(request) == 28
    assert neighbour.parse_arp(request) == (1, mac, ip, b"\0" * 6, ip)
    assert neighbour.parse_arp(b"\0" * 27) is None


def test_neighbour_advert_layout():
    target, mac = parse_ip("2001:db8::10").packed, bytes.fromhex("020000000001")
    packet = neighbour.neighbour_advert(target, mac)
    kind, code, checksum, flags = struct.unpack_from("!BBHI", packet)
    assert (kind, code, checksum) == (136, 0, 0)
    assert flags == 0x20000000  # override only: not a router, not solicited
    assert packet[8:24] == target
    assert packet[24:] == b"\x02\x01" + mac


def test_netlink_attributes_round_trip():
    data = rtnl.attr(3, b"eth0\0") + rtnl.attr(4, struct.pack("=I", 1500))
    assert len(data) % 4 == 0
    assert rtnl.parse_attrs(data, 0, len(data)) == {3: b"eth0\0", 4: struct.pack("=I", 1500)}


@pytest.mark.parametrize("dst, length, address, inside", [
    ("198.51.100.0", 24, "198.51.100.77", True),
    ("198.51.100.0", 24, "198.51.101.1", False),
    ("198.51.100.0", 25, "198.51.100.200", False),
    ("198.51.100.128", 25, "198.51.100.200", True),
    ("2001:db8::", 64, "2001:db8::10", True),
    ("2001:db8:1::", 48, "2001:db8:2::1", False),
])
def test_route_contains(dst, length, address, inside):
    ip, net = parse_ip(address), parse_ip(dst)
    route = rtnl.Route(ip.family, net.packed, length, 254, 1, 253, 2, False, False, 0)
    assert route.contains(ip.packed) is inside


def test_link_down_reasons():
    up = rtnl.IFF_UP | rtnl.IFF_LOWER_UP
    assert rtnl.Link(2, "eth0", up, 6, b"", 1, 1500).down_reason() is None
    assert rtnl.Link(1, "lo", up | rtnl.IFF_LOOPBACK, 0, b"", 772, 65536).down_reason() is None
    assert "administratively" in rtnl.Link(2, "eth0", 0, 2, b"", 1, 1500).down_reason()
    assert "carrier" in rtnl.Link(2, "eth0", rtnl.IFF_UP, 3, b"", 1, 1500).down_reason()


def test_sender_is_recognised_by_its_command_line_only(tmp_path, monkeypatch):
    import ocfkit.process

    lines = {
        10: ["/usr/bin/python3", "-IS", "/x/lib/ocfkit/net/sender.py", "--instance=vip",
             "--ip=198.51.100.10"],
        11: ["/usr/bin/python3", "-IS", "/x/lib/ocfkit/net/sender.py", "--instance=vip2"],
        12: ["/usr/bin/python3", "-I", "/usr/lib/ocf/resource.d/ocfkit/VirtualIP", "start"],
    }
    monkeypatch.setattr(ocfkit.process, "cmdline", lines.get)
    assert sender.is_sender(10, "vip")
    assert not sender.is_sender(11, "vip")  # another resource's sender
    assert not sender.is_sender(12, "vip")  # the agent itself
    assert not sender.is_sender(13, "vip")  # gone
    pidfile = tmp_path / "pid"
    pidfile.write_text("11\n")
    assert sender.running(str(pidfile), "vip") is None


@pytest.mark.parametrize("pidfds", [True, False], ids=["pidfd", "pid"])
def test_sender_stop_signals_only_a_sender(tmp_path, monkeypatch, pidfds):
    import subprocess
    import sys

    from ocfkit.deadline import Deadline

    fake = tmp_path / "ocfkit" / "net" / "sender.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("import time\ntime.sleep(30)\n")
    if not pidfds:
        def no_pidfd(pid):
            raise OSError(38, "Function not implemented")
        monkeypatch.setattr("os.pidfd_open", no_pidfd)
    pidfile = tmp_path / "pid"
    mine = subprocess.Popen([sys.executable, "-IS", str(fake), "--instance=unit"])
    other = subprocess.Popen([sys.executable, "-IS", str(fake), "--instance=another"])
    try:
        pidfile.write_text(f"{other.pid}\n")
        assert sender.stop(str(pidfile), "unit", Deadline(5)) is False
        assert other.poll() is None and not pidfile.exists()
        pidfile.write_text(f"{mine.pid}\n")
        assert sender.stop(str(pidfile), "unit", Deadline(5)) is True
        assert mine.wait(timeout=5) == -15
    finally:
        for process in (mine, other):
            process.kill()
            process.wait()
