"""IP addresses and prefixes as administrators write them, checked and normalised.

``inet_pton``/``inet_ntop`` rather than the ``ipaddress`` module: the module costs
about 2.5 ms to import, more than the rest of an address agent's monitor.
"""

import _socket

AF_INET, AF_INET6 = _socket.AF_INET, _socket.AF_INET6


class IP:
    """An address: ``family``, ``packed`` bytes, canonical ``text``, optional ``zone``."""

    __slots__ = ("family", "packed", "text", "zone")

    def __init__(self, family, packed, zone=None):
        self.family, self.packed, self.zone = family, packed, zone
        self.text = _socket.inet_ntop(family, packed)

    @property
    def version(self):
        return 4 if self.family == AF_INET else 6

    @property
    def bits(self):
        return len(self.packed) * 8

    @property
    def is_link_local(self):
        if self.family == AF_INET6:
            return self.packed[0] == 0xFE and self.packed[1] & 0xC0 == 0x80
        return self.packed[:2] == b"\xa9\xfe"

    @property
    def is_loopback(self):
        if self.family == AF_INET6:
            return self.packed == b"\0" * 15 + b"\1"
        return self.packed[0] == 127

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"<IP {self.text}{'%' + self.zone if self.zone else ''}>"


def parse_ip(text):
    """An ``IP`` from any textual form; ``ValueError`` with the reason otherwise.

    IPv4: dotted quad only (leading zeros are refused: some tools read them as
    octal). IPv6: any RFC 4291 form (compressed or not, any case, embedded IPv4),
    optionally with a ``%zone``. Addresses that cannot be an interface's address
    (unspecified, multicast, limited broadcast, IPv4-mapped) are refused.
    """
    value = text.strip()
    if not value:
        raise ValueError("is empty")
    zone = None
    if "%" in value:
        value, zone = value.split("%", 1)
        if not zone:
            raise ValueError(f"'{text}' has an empty zone after '%'")
    if ":" in value:
        try:
            packed = _socket.inet_pton(AF_INET6, value)
        except OSError:
            raise ValueError(f"'{text}' is not an IPv6 address") from None
        ip = IP(AF_INET6, packed, zone)
        if packed == bytes(16):
            raise ValueError(f"'{text}' is the unspecified address")
        if packed[0] == 0xFF:
            raise ValueError(f"'{text}' is a multicast address")
        if packed[:12] == b"\0" * 10 + b"\xff\xff":
            raise ValueError(f"'{text}' is an IPv4-mapped address; give the IPv4 form "
                             f"({_socket.inet_ntop(AF_INET, packed[12:])})")
        return ip
    if zone is not None:
        raise ValueError(f"'{text}': a zone (%...) is only valid on an IPv6 address")
    parts = value.split(".")
    if len(parts) != 4 or any(len(p) > 1 and p[0] == "0" for p in parts):
        raise ValueError(f"'{text}' is not an IPv4 address (dotted quad, no leading zeros)")
    try:
        packed = _socket.inet_pton(AF_INET, value)
    except OSError:
        raise ValueError(f"'{text}' is not an IP address") from None
    if packed == bytes(4) or packed[0] == 0:
        raise ValueError(f"'{text}' is in 0.0.0.0/8, which no interface can hold")
    if 224 <= packed[0] <= 239:
        raise ValueError(f"'{text}' is a multicast address")
    if packed == b"\xff" * 4:
        raise ValueError(f"'{text}' is the limited broadcast address")
    return IP(AF_INET, packed)


def parse_prefix(text, family):
    """A prefix length for ``family`` from ``24``, ``/24`` or (IPv4) ``255.255.255.0``.

    0 is refused like IPaddr2 refuses it: an address whose network is everything.
    """
    value = text.strip()
    if value.startswith("/"):
        value = value[1:]
    limit = 32 if family == AF_INET else 128
    if family == AF_INET and value.count(".") == 3:
        try:
            mask = int.from_bytes(_socket.inet_pton(AF_INET, value), "big")
        except OSError:
            raise ValueError(f"'{text}' is not a netmask") from None
        length = 32 - (~mask & 0xFFFFFFFF).bit_length()
        if mask != (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF:
            raise ValueError(f"'{text}' is not a contiguous netmask")
        value = str(length)
    if not value.isdigit() or len(value) > 3:
        raise ValueError(f"'{text}' is not a prefix length (1-{limit})")
    length = int(value)
    if not 1 <= length <= limit:
        raise ValueError(f"prefix length {length} is out of range for IPv{4 if limit == 32 else 6}"
                         f" (1-{limit})")
    return length


def network_bytes(packed, prefixlen, host_bits_set):
    """``packed`` with its host bits all set (broadcast) or all cleared (network)."""
    bits = len(packed) * 8
    value = int.from_bytes(packed, "big")
    host = (1 << (bits - prefixlen)) - 1
    value = value | host if host_bits_set else value & ~host
    return value.to_bytes(len(packed), "big")
