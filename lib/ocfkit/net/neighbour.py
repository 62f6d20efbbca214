"""Tell the neighbours where an address lives, and ask whether someone else has it.

- IPv4 announcement: per round, a gratuitous ARP request (sender = target = the
  address, target MAC zero) and a gratuitous ARP reply (target MAC = ours), both
  broadcast. Hosts differ in which of the two refreshes their cache; heartbeat's
  send_arp sends the same pair.
- IPv6 announcement: an unsolicited neighbour advertisement (override flag, target
  link-layer address option) from the address to all-nodes ff02::1, hop limit 255.
- IPv4 duplicate check: ARP probes (RFC 5227: sender address 0.0.0.0) and a short
  listen; an ARP from another MAC that claims the address is a conflict. IPv6 uses
  the kernel's own duplicate address detection instead (see the agent).

Raw sockets, no helper programs: ``AF_PACKET``/``SOCK_DGRAM`` (the kernel adds the
Ethernet header) for ARP, a raw ICMPv6 socket (the kernel computes the checksum) for
NA. Both need CAP_NET_RAW.
"""

import _socket
import struct
import time

ETH_P_ARP = 0x0806
BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\0" * 6
ARPOP_REQUEST, ARPOP_REPLY = 1, 2
PACKET_OUTGOING = 4
IPPROTO_IPV6, IPPROTO_ICMPV6 = 41, 58
IPV6_UNICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS = 16, 17, 18
ND_NEIGHBOR_ADVERT = 136
ND_NA_FLAG_OVERRIDE = 0x20000000
ND_OPT_TARGET_LINKADDR = 2
ALL_NODES = "ff02::1"

_ARP = struct.Struct("!HHBBH6s4s6s4s")  # htype, ptype, hlen, plen, op, sha, spa, tha, tpa


def arp_packet(op, sender_mac, sender_ip, target_mac, target_ip):
    return _ARP.pack(1, 0x0800, 6, 4, op, sender_mac, sender_ip, target_mac, target_ip)


def parse_arp(data):
    """``(op, sha, spa, tha, tpa)`` of an Ethernet/IPv4 ARP packet, or None."""
    if len(data) < _ARP.size:
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(data, 0)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        return None
    return op, sha, spa, tha, tpa


def neighbour_advert(target, mac):
    """An unsolicited NA for ``target`` (16 bytes) at ``mac``; checksum left to the kernel."""
    return (struct.pack("!BBHI16s", ND_NEIGHBOR_ADVERT, 0, 0, ND_NA_FLAG_OVERRIDE, target)
            + struct.pack("!BB6s", ND_OPT_TARGET_LINKADDR, 1, mac))


def cannot_announce(link):
    """Why neighbours cannot be told about an address on ``link`` (None when they can)."""
    if link.is_loopback:
        return f"{link.name} is a loopback interface"
    if link.flags & 0x80:  # IFF_NOARP
        return f"{link.name} does not use ARP/neighbour discovery (NOARP)"
    if link.hwtype != 1 or len(link.mac) != 6:
        return f"{link.name} is not an Ethernet interface"
    return None


class Announcer:
    """Sends announcements for one address on one link; keep it for several rounds."""

    def __init__(self, link, ip):
        self.link, self.ip = link, ip
        if ip.family == _socket.AF_INET:
            self.sock = _socket.socket(_socket.AF_PACKET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC,
                                       _socket.htons(ETH_P_ARP))
            self.frames = (
                arp_packet(ARPOP_REQUEST, link.mac, ip.packed, ZERO_MAC, ip.packed),
                arp_packet(ARPOP_REPLY, link.mac, ip.packed, link.mac, ip.packed),
            )
            self.destination = (link.name, ETH_P_ARP, 0, 0, BROADCAST_MAC)
        else:
            self.sock = _socket.socket(_socket.AF_INET6, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC,
                                       IPPROTO_ICMPV6)
            for option in (IPV6_MULTICAST_HOPS, IPV6_UNICAST_HOPS):
                self.sock.setsockopt(IPPROTO_IPV6, option, 255)
            self.sock.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF, link.index)
            scope = link.index if ip.is_link_local else 0
            # The advert must come from the address itself (EADDRNOTAVAIL while the
            # kernel still runs duplicate address detection on it).
            self.sock.bind((ip.text, 0, 0, scope))
            self.frames = (neighbour_advert(ip.packed, link.mac),)
            self.destination = (ALL_NODES, 0, 0, link.index)

    def send(self):
        for frame in self.frames:
            self.sock.sendto(frame, self.destination)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def announce(link, ip, count, interval, deadline=None, still_ours=None, pause_first=False):
    """Send ``count`` rounds, ``interval`` seconds apart; returns the rounds sent.

    ``pause_first``: wait one interval before the first round too (the caller sent
    one already). Stops early when ``deadline`` would pass during the next pause, or
    when ``still_ours()`` (checked after every pause) says the address has gone:
    announcing an address this node no longer holds would misdirect traffic.
    """
    sent = 0
    with Announcer(link, ip) as announcer:
        for round_number in range(count):
            if round_number or pause_first:
                if deadline is not None and deadline.remaining() < interval:
                    break
                time.sleep(interval)
                if still_ours is not None and not still_ours():
                    break
            announcer.send()
            sent += 1
    return sent


def probe_ipv4(link, ip, deadline, probes=2, listen=0.5):
    """ARP-probe for ``ip`` on ``link``: the MAC (bytes) of a host that holds it, or None.

    Sends ``probes`` probes and listens ``listen`` seconds after each (less when the
    deadline is nearer). A reply, an announcement or a probe of our own from another
    MAC for the same address is a conflict. Frames this host sent are ignored.
    """
    sock = _socket.socket(_socket.AF_PACKET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC,
                          _socket.htons(ETH_P_ARP))
    try:
        sock.bind((link.name, ETH_P_ARP))
        probe = arp_packet(ARPOP_REQUEST, link.mac, b"\0\0\0\0", ZERO_MAC, ip.packed)
        for _ in range(probes):
            sock.sendto(probe, (link.name, ETH_P_ARP, 0, 0, BROADCAST_MAC))
            window_end = time.monotonic() + min(listen, deadline.remaining())
            while True:
                left = window_end - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    data, address = sock.recvfrom(128)
                except TimeoutError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue
                parsed = parse_arp(data)
                if parsed is None:
                    continue
                op, sha, spa, _tha, tpa = parsed
                if sha == link.mac:
                    continue
                if spa == ip.packed:
                    return sha
                if op == ARPOP_REQUEST and spa == b"\0\0\0\0" and tpa == ip.packed:
                    return sha  # someone else is probing for it right now
            if deadline.expired:
                break
        return None
    finally:
        sock.close()


def format_mac(mac):
    return ":".join(f"{b:02x}" for b in mac)
