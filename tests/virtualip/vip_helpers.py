"""Constants and helpers of the VirtualIP tests (imported by tests and conftest).

Node ``a`` runs the agents; node ``b`` is its neighbour on the same bridge (it captures
frames, or owns an address to provoke a conflict). Only 198.51.100.0/24 and
2001:db8::/32 are used; no namespace has a default route.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "agents", "VirtualIP")
IPADDR2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
A4, B4 = "198.51.100.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8::2"
VIP4, VIP6 = "198.51.100.10", "2001:db8::10"


def fast_dad(node, ifname=None):
    """Make IPv6 duplicate address detection on a node take ~0.1 s instead of 1-2 s."""
    nic = ifname or node.nic
    node.run(["sysctl", "-qw", f"net.ipv6.conf.{nic}.router_solicitation_delay=0",
              f"net.ipv6.neigh.{nic}.retrans_time_ms=100"])


class Runner:
    """Runs an agent in a node with pacemaker-execd's environment and a private HA_RSCTMP."""

    def __init__(self, node, rsctmp):
        self.node = node
        self.rsctmp = str(rsctmp)

    def __call__(self, action, params, *, agent=AGENT, **kw):
        extra = dict(kw.pop("extra", {}), HA_RSCTMP=self.rsctmp)
        return self.node.run_agent(agent, action, params, extra=extra, **kw)


def wait_for(condition, timeout=5.0, interval=0.02):
    """Poll ``condition()`` until true or ``timeout`` seconds pass; its last value."""
    import time

    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= end:
            return value
        time.sleep(interval)
