"""A small rtnetlink client: links, addresses and routes, nothing else.

Written by hand rather than taken from pyroute2 because of start-up cost (see the
package docstring): an agent's monitor must cost well under an IPaddr2 monitor, and
pyroute2's import alone costs several times that. This covers exactly the requests
an address agent makes, with the kernel's own filtering ("strict checking", Linux
4.20+; older kernels get the same answers filtered here):

- one link by name or index (``RTM_GETLINK``);
- the addresses of one family on one link (dump), one IPv6 address (``RTM_GETADDR``
  request, the kernel answers it directly for IPv6), add and delete an address;
- the routes of one table (dump), to find the interface an address belongs on;
- bring a link up;
- address notifications (to wait for IPv6 duplicate address detection).

Every call that changes something asks for an acknowledgement and raises
``NetlinkError`` (an ``OSError`` with the kernel's errno and its extended-ack
message, when it gave one) on failure.
"""

import _socket
import os
import struct

# ---------------------------------------------------------------- constants (linux/*.h)
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG = 1

RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x10, 0x100

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_OPERSTATE, IFLA_EXT_MASK = 1, 3, 4, 16, 29
RTEXT_FILTER_SKIP_STATS = 1 << 3

IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_DADFAILED = 0x08
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
IFA_F_NOPREFIXROUTE = 0x200
INFINITY_LIFE_TIME = 0xFFFFFFFF

RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_MULTIPATH, RTA_TABLE, RTA_VIA = (
    1, 4, 5, 6, 9, 15, 18)
RT_TABLE_MAIN, RT_TABLE_LOCAL = 254, 255
RTM_F_FIB_MATCH = 0x2000
RTN_UNICAST, RTN_LOCAL = 1, 2
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST = 0, 253, 254

IFF_UP, IFF_LOOPBACK, IFF_NOARP, IFF_LOWER_UP = 0x1, 0x8, 0x80, 0x10000
IF_OPER_NOTPRESENT, IF_OPER_DOWN, IF_OPER_LOWERLAYERDOWN = 1, 2, 3
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
ARPHRD_ETHER = 1

AF_INET, AF_INET6 = _socket.AF_INET, _socket.AF_INET6

_NLMSGHDR = struct.Struct("=IHHII")       # len, type, flags, seq, pid
_NLATTR = struct.Struct("=HH")            # len, type
_IFINFOMSG = struct.Struct("=BxHiII")     # family, type, index, flags, change
_IFADDRMSG = struct.Struct("=BBBBI")      # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")      # family, dst_len, src_len, tos, table, protocol,
#                                           scope, type, flags
_U32 = struct.Struct("=I")
_I32 = struct.Struct("=i")
_CACHEINFO = struct.Struct("=IIII")       # preferred, valid, created, updated


class NetlinkError(OSError):
    """The kernel refused a request: ``errno`` and, when given, its own explanation."""

    def __init__(self, errno, message=None):
        text = os.strerror(errno)
        if message:
            text = f"{text} ({message})"
        super().__init__(errno, text)
        self.kernel_message = message


def _align(length):
    return (length + 3) & ~3


def attr(kind, data):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(data)
    return _NLATTR.pack(length, kind) + data + b"\0" * (_align(length) - length)


def parse_attrs(data, offset, end):
    """``{type: bytes}`` of the attributes in ``data[offset:end]`` (nested flag stripped)."""
    found = {}
    while offset + 4 <= end:
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < 4:
            break
        found[kind & 0x3FFF] = data[offset + 4:offset + length]
        offset += _align(length)
    return found


def _cstring(raw):
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


# ----------------------------------------------------------------------------- objects
class Link:
    """One network interface as the kernel describes it."""

    __slots__ = ("index", "name", "flags", "operstate", "mac", "hwtype", "mtu")

    def __init__(self, index, name, flags, operstate, mac, hwtype, mtu):
        self.index, self.name, self.flags = index, name, flags
        self.operstate, self.mac, self.hwtype, self.mtu = operstate, mac, hwtype, mtu

    @property
    def is_up(self):
        """Administratively up (``ip link set up``)."""
        return bool(self.flags & IFF_UP)

    @property
    def is_loopback(self):
        return bool(self.flags & IFF_LOOPBACK)

    @property
    def state_name(self):
        if 0 <= self.operstate < len(OPERSTATES):
            return OPERSTATES[self.operstate]
        return str(self.operstate)

    def down_reason(self):
        """Why traffic cannot flow on this link, or None when it can.

        Down means: not administratively up, no carrier (``LOWER_UP`` missing), or an
        operational state of DOWN/LOWERLAYERDOWN/NOTPRESENT (what ``ip link`` shows as
        ``state DOWN``). UNKNOWN (loopback, dummy, tun) with carrier counts as up.
        """
        if not self.flags & IFF_UP:
            return f"interface {self.name} is administratively down"
        if not self.flags & IFF_LOWER_UP:
            return f"interface {self.name} has no carrier (state {self.state_name})"
        if self.operstate in (IF_OPER_NOTPRESENT, IF_OPER_DOWN, IF_OPER_LOWERLAYERDOWN):
            return f"interface {self.name} is in state {self.state_name}"
        return None

    def __repr__(self):
        return f"<Link {self.index}:{self.name} flags={self.flags:#x} {self.state_name}>"


class Address:
    """One address on one interface."""

    __slots__ = ("family", "prefixlen", "flags", "scope", "index", "local", "label",
                 "broadcast", "preferred", "valid")

    def __init__(self, family, prefixlen, flags, scope, index, local, label=None,
                 broadcast=None, preferred=INFINITY_LIFE_TIME, valid=INFINITY_LIFE_TIME):
        self.family, self.prefixlen, self.flags, self.scope = family, prefixlen, flags, scope
        self.index, self.local, self.label, self.broadcast = index, local, label, broadcast
        self.preferred, self.valid = preferred, valid

    @property
    def text(self):
        return _socket.inet_ntop(self.family, self.local)

    @property
    def tentative(self):
        return bool(self.flags & IFA_F_TENTATIVE) and not self.flags & IFA_F_DADFAILED

    @property
    def dadfailed(self):
        return bool(self.flags & IFA_F_DADFAILED)

    def __repr__(self):
        return (f"<Address {self.text}/{self.prefixlen} if={self.index} "
                f"flags={self.flags:#x} label={self.label}>")


class Route:
    __slots__ = ("family", "dst", "dst_len", "table", "type", "scope", "oif", "gateway",
                 "multipath", "priority")

    def __init__(self, family, dst, dst_len, table, rtype, scope, oif, gateway, multipath,
                 priority):
        self.family, self.dst, self.dst_len, self.table = family, dst, dst_len, table
        self.type, self.scope, self.oif, self.gateway = rtype, scope, oif, gateway
        self.multipath, self.priority = multipath, priority

    def contains(self, packed):
        """True when ``packed`` (an address of this family) lies inside the destination."""
        if self.dst_len == 0:
            return True
        if self.dst is None:
            return False
        full, rest = divmod(self.dst_len, 8)
        if packed[:full] != self.dst[:full]:
            return False
        if rest:
            mask = (0xFF << (8 - rest)) & 0xFF
            return (packed[full] & mask) == (self.dst[full] & mask)
        return True

    def __repr__(self):
        dst = _socket.inet_ntop(self.family, self.dst) if self.dst else "default"
        return f"<Route {dst}/{self.dst_len} table={self.table} oif={self.oif}>"


def _parse_link(body):
    _family, hwtype, index, flags, _change = _IFINFOMSG.unpack_from(body, 0)
    attrs = parse_attrs(body, _IFINFOMSG.size, len(body))
    name = _cstring(attrs.get(IFLA_IFNAME, b""))
    operstate = attrs[IFLA_OPERSTATE][0] if IFLA_OPERSTATE in attrs else 0
    mtu = _U32.unpack(attrs[IFLA_MTU][:4])[0] if IFLA_MTU in attrs else 0
    return Link(index, name, flags, operstate, bytes(attrs.get(IFLA_ADDRESS, b"")), hwtype, mtu)


def _parse_address(body):
    family, prefixlen, flags, scope, index = _IFADDRMSG.unpack_from(body, 0)
    attrs = parse_attrs(body, _IFADDRMSG.size, len(body))
    local = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS) or b""
    if IFA_FLAGS in attrs:  # the 8-bit header field cannot hold NOPREFIXROUTE and above
        flags = _U32.unpack(attrs[IFA_FLAGS][:4])[0]
    label = _cstring(attrs[IFA_LABEL]) if IFA_LABEL in attrs else None
    preferred = valid = INFINITY_LIFE_TIME
    if IFA_CACHEINFO in attrs:
        preferred, valid, _, _ = _CACHEINFO.unpack(attrs[IFA_CACHEINFO][:16])
    return Address(family, prefixlen, flags, scope, index, bytes(local), label,
                   attrs.get(IFA_BROADCAST), preferred, valid)


def _parse_route(body):
    (family, dst_len, _src_len, _tos, table, _proto, scope, rtype,
     _flags) = _RTMSG.unpack_from(body, 0)
    attrs = parse_attrs(body, _RTMSG.size, len(body))
    if RTA_TABLE in attrs:
        table = _U32.unpack(attrs[RTA_TABLE][:4])[0]
    oif = _U32.unpack(attrs[RTA_OIF][:4])[0] if RTA_OIF in attrs else 0
    priority = _U32.unpack(attrs[RTA_PRIORITY][:4])[0] if RTA_PRIORITY in attrs else 0
    dst = bytes(attrs[RTA_DST]) if RTA_DST in attrs else None
    return Route(family, dst, dst_len, table, rtype, scope, oif,
                 RTA_GATEWAY in attrs or RTA_VIA in attrs, RTA_MULTIPATH in attrs, priority)


# ----------------------------------------------------------------------------- client
class Rtnl:
    """One NETLINK_ROUTE socket. Use as a context manager, or call ``close()``.

    ``groups`` (``RTMGRP_*`` bits) subscribes the socket to notifications; use a
    separate instance for that, so notifications never mix with answers.
    """

    def __init__(self, groups=0):
        self.sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC,
                                   NETLINK_ROUTE)
        self.strict = True
        try:
            for option in (NETLINK_EXT_ACK, NETLINK_CAP_ACK):
                self.sock.setsockopt(SOL_NETLINK, option, 1)
        except OSError:
            pass  # kernels before 4.12 answer without the explanation; that is all
        if not groups:
            try:
                self.sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            except OSError:
                self.strict = False  # before 4.20: dumps are filtered here instead
        self.sock.bind((0, groups))
        self.seq = int.from_bytes(os.urandom(2), "little") << 8
        self.buf = bytearray(65536)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ------------------------------------------------------------------ transport
    def _send(self, msg_type, flags, payload):
        self.seq += 1
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type, flags, self.seq, 0)
        self.sock.sendto(header + payload, (0, 0))
        return self.seq

    def _messages(self):
        """Yield ``(type, flags, seq, body)`` for each message of the next datagram."""
        size = self.sock.recv_into(self.buf)
        data = bytes(self.buf[:size])
        offset = 0
        while offset + _NLMSGHDR.size <= size:
            length, msg_type, flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                break
            yield msg_type, flags, seq, data[offset + _NLMSGHDR.size:offset + length]
            offset += _align(length)

    @staticmethod
    def _error(flags, body):
        """errno and extended-ack message of an NLMSG_ERROR body (errno 0 = ack)."""
        error = -_I32.unpack_from(body, 0)[0]
        message = None
        if error and flags & NLM_F_ACK_TLVS:
            # With NETLINK_CAP_ACK only the request's header follows the error code.
            attrs = parse_attrs(body, 4 + _NLMSGHDR.size, len(body))
            if NLMSGERR_ATTR_MSG in attrs:
                message = _cstring(attrs[NLMSGERR_ATTR_MSG])
        return error, message

    def request(self, msg_type, payload, flags=0):
        """Send one request and collect its answer: a list of ``(type, body)``.

        A dump (``flags`` has NLM_F_DUMP) ends at NLMSG_DONE; any other request asks
        for an acknowledgement and ends there. Raises ``NetlinkError`` on a refusal.
        """
        dump = (flags & NLM_F_DUMP) == NLM_F_DUMP
        for _attempt in range(3):
            seq = self._send(msg_type, NLM_F_REQUEST | flags | (0 if dump else NLM_F_ACK),
                             payload)
            answers, interrupted = [], False
            while True:
                done = False
                for kind, mflags, mseq, body in self._messages():
                    if mseq != seq:
                        continue  # a late answer to an earlier request
                    if mflags & NLM_F_DUMP_INTR:
                        interrupted = True
                    if kind == NLMSG_ERROR:
                        error, message = self._error(mflags, body)
                        if error:
                            raise NetlinkError(error, message)
                        done = True
                    elif kind == NLMSG_DONE:
                        if len(body) >= 4:
                            error = -_I32.unpack_from(body, 0)[0]
                            if error:
                                raise NetlinkError(error)
                        done = True
                    else:
                        answers.append((kind, body))
                if done:
                    break
            if not interrupted:
                return answers
        return answers  # the table kept changing under a dump: the last view will do

    # ---------------------------------------------------------------------- links
    def link(self, name=None, index=0):
        """The link called ``name`` (or with ``index``), or None when there is none."""
        payload = _IFINFOMSG.pack(0, 0, index, 0, 0)
        if name is not None and not index:
            payload += attr(IFLA_IFNAME, name.encode() + b"\0")
        payload += attr(IFLA_EXT_MASK, _U32.pack(RTEXT_FILTER_SKIP_STATS))
        try:
            answers = self.request(RTM_GETLINK, payload)
        except NetlinkError as exc:
            if exc.errno in (19, 22):  # ENODEV; EINVAL for a name the kernel cannot hold
                return None
            raise
        for kind, body in answers:
            if kind == RTM_NEWLINK:
                return _parse_link(body)
        return None

    def set_link_up(self, index):
        self.request(RTM_NEWLINK, _IFINFOMSG.pack(0, 0, index, IFF_UP, IFF_UP))

    # ------------------------------------------------------------------ addresses
    def addresses(self, family, index=0):
        """Addresses of ``family`` (on link ``index`` only, when given)."""
        answers = self.request(RTM_GETADDR, _IFADDRMSG.pack(family, 0, 0, 0, index),
                               NLM_F_DUMP)
        found = []
        for kind, body in answers:
            if kind != RTM_NEWADDR:
                continue
            address = _parse_address(body)
            if address.family == family and (not index or address.index == index):
                found.append(address)
        return found

    def find_address(self, family, packed, index=0):
        """The addresses equal to ``packed`` (on link ``index`` when given).

        IPv6: the kernel looks the address up itself (one answer whatever the number
        of addresses). IPv4 has no such request, so the link's addresses are dumped,
        and only the messages that contain the address are decoded: the cost stays
        flat with a thousand addresses on the interface.
        """
        if family == AF_INET6:
            payload = _IFADDRMSG.pack(AF_INET6, 0, 0, 0, index) + attr(IFA_ADDRESS, packed)
            try:
                answers = self.request(RTM_GETADDR, payload)
            except NetlinkError as exc:
                if exc.errno in (99, 19):  # EADDRNOTAVAIL, ENODEV
                    return []
                raise
            return [a for a in (_parse_address(body) for kind, body in answers
                                if kind == RTM_NEWADDR)
                    if a.local == packed and (not index or a.index == index)]
        needle = packed
        answers = self.request(RTM_GETADDR, _IFADDRMSG.pack(family, 0, 0, 0, index),
                               NLM_F_DUMP)
        found = []
        for kind, body in answers:
            if kind != RTM_NEWADDR or needle not in body:
                continue
            address = _parse_address(body)
            if (address.family == family and address.local == packed
                    and (not index or address.index == index)):
                found.append(address)
        return found

    def add_address(self, family, index, packed, prefixlen, *, broadcast=None, label=None,
                    flags=0, preferred=INFINITY_LIFE_TIME, valid=INFINITY_LIFE_TIME,
                    scope=RT_SCOPE_UNIVERSE):
        """Add an address; ``NetlinkError`` EEXIST when it is already there."""
        payload = _IFADDRMSG.pack(family, prefixlen, flags & 0xFF, scope, index)
        payload += attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        if broadcast is not None:
            payload += attr(IFA_BROADCAST, broadcast)
        if label:
            payload += attr(IFA_LABEL, label.encode() + b"\0")
        if flags & ~0xFF:
            payload += attr(IFA_FLAGS, _U32.pack(flags))
        if preferred != INFINITY_LIFE_TIME or valid != INFINITY_LIFE_TIME:
            payload += attr(IFA_CACHEINFO, _CACHEINFO.pack(preferred, valid, 0, 0))
        self.request(RTM_NEWADDR, payload, NLM_F_CREATE | NLM_F_EXCL)

    def delete_address(self, family, index, packed, prefixlen):
        """Delete an address; False when it (or the link) was not there."""
        payload = _IFADDRMSG.pack(family, prefixlen, 0, 0, index)
        payload += attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
        try:
            self.request(RTM_DELADDR, payload)
        except NetlinkError as exc:
            if exc.errno in (99, 19, 2):  # EADDRNOTAVAIL, ENODEV, ENOENT
                return False
            raise
        return True

    # --------------------------------------------------------------------- routes
    def routes(self, family, table=RT_TABLE_MAIN, oif=0):
        """Routes of ``family`` in ``table`` (through link ``oif`` only, when given)."""
        payload = _RTMSG.pack(family, 0, 0, 0, table if table < 256 else 0, 0, 0, 0, 0)
        if table >= 256:
            payload += attr(RTA_TABLE, _U32.pack(table))
        if oif:
            payload += attr(RTA_OIF, _U32.pack(oif))
        try:
            answers = self.request(RTM_GETROUTE, payload, NLM_F_DUMP)
        except NetlinkError:
            if not self.strict:
                raise
            # A kernel with strict checking but without route dump filters (rare):
            # dump everything and filter here.
            answers = self.request(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0),
                                   NLM_F_DUMP)
        found = []
        for kind, body in answers:
            if kind != RTM_NEWROUTE:
                continue
            route = _parse_route(body)
            if route.family == family and route.table == table and (not oif or route.oif == oif):
                found.append(route)
        return found

    def local_route_oif(self, family, packed):
        """The link whose local route owns ``packed`` (0 when the address is not local).

        The kernel keeps one ``local`` route per configured address, on the link that
        holds it, while that link is administratively up. Looking it up is one trie
        walk, independent of how many addresses the node has (``ip route get
        fibmatch``).
        """
        bits = len(packed) * 8
        payload = _RTMSG.pack(family, bits, 0, 0, 0, 0, 0, 0, RTM_F_FIB_MATCH)
        payload += attr(RTA_DST, packed)
        try:
            answers = self.request(RTM_GETROUTE, payload)
        except NetlinkError as exc:
            if exc.errno in (101, 113, 22, 3):  # ENETUNREACH, EHOSTUNREACH, EINVAL, ESRCH
                return 0
            raise
        for kind, body in answers:
            if kind == RTM_NEWROUTE:
                route = _parse_route(body)
                if route.type == RTN_LOCAL and route.dst == packed:
                    return route.oif
        return 0

    # --------------------------------------------------------------- notifications
    def receive(self, timeout):
        """Wait up to ``timeout`` seconds for notifications: a list of Address changes
        as ``(type, Address)`` (``RTM_NEWADDR``/``RTM_DELADDR``); [] on timeout."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            messages = list(self._messages())
        except TimeoutError:
            return []
        except OSError as exc:
            if exc.errno == 105:  # ENOBUFS: notifications were lost; the caller re-reads
                return [(None, None)]
            raise
        return [(kind, _parse_address(body)) for kind, _flags, _seq, body in messages
                if kind in (RTM_NEWADDR, RTM_DELADDR)]
