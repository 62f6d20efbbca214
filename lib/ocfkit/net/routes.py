"""Which interface, and which prefix length, an address belongs on (IPaddr2's findif).

The answer comes from the main routing table: the most specific directly connected
route (no gateway; IPv4 routes of link scope) that contains the address. Unlike
IPaddr2, a tie between interfaces is an error with both names, not a silent pick of
the last one, and IPv6 routes through a gateway are never taken for a connected
network.
"""

from ocfkit.net import rtnl
from ocfkit.net.addr import AF_INET


class Unresolved(Exception):
    """The routing table does not say where the address belongs; the message says why."""


def _candidates(nl, ip, prefixlen, index):
    routes = []
    for route in nl.routes(ip.family, rtnl.RT_TABLE_MAIN, oif=index):
        if (route.type != rtnl.RTN_UNICAST or route.gateway or route.multipath
                or not route.oif or route.dst_len == 0 or not route.contains(ip.packed)):
            continue
        if ip.family == AF_INET and route.scope != rtnl.RT_SCOPE_LINK:
            continue
        if prefixlen is not None and route.dst_len > prefixlen:
            continue
        routes.append(route)
    if not routes and ip.family == AF_INET and ip.is_loopback:
        # 127.0.0.0/8 lives in the local table only (IPaddr2 handles it the same way).
        for route in nl.routes(ip.family, rtnl.RT_TABLE_LOCAL, oif=index):
            if (route.type == rtnl.RTN_LOCAL and 0 < route.dst_len < 32
                    and route.contains(ip.packed)):
                routes.append(route)
    return routes


def find_interface(nl, ip, prefixlen=None, index=0):
    """``(ifindex, prefixlen)`` for ``ip``; ``index`` limits the search to one link.

    ``prefixlen`` (when the administrator gave one) limits the search to networks
    at least that large, like ``ip route list match ADDR/PREFIX``. Raises
    ``Unresolved`` with a reason an administrator can act on.
    """
    routes = _candidates(nl, ip, prefixlen, index)
    where = ""
    if index:
        link = nl.link(index=index)
        where = f" on {link.name if link else index}"
    if not routes:
        raise Unresolved(
            f"no directly connected network{where} in the main routing table contains "
            f"{ip.text}; set " + ("cidr_netmask" if index else "nic and cidr_netmask"))
    longest = max(route.dst_len for route in routes)
    best = {route.oif for route in routes if route.dst_len == longest}
    if len(best) > 1:
        names = sorted((nl.link(index=oif) or rtnl.Link(oif, str(oif), 0, 0, b"", 0, 0)).name
                       for oif in best)
        raise Unresolved(f"{ip.text} is on a /{longest} network reachable through "
                         f"{' and '.join(names)}; set nic to choose")
    return best.pop(), longest
