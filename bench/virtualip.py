"""VirtualIP against ocf:heartbeat:IPaddr2, in one run, in a test network namespace.

Run as root from the repository root:  /usr/bin/python3 -m bench.virtualip [--runs N]

The benchmark builds a two-node network (tests/fixtures/netns.py), moves itself into
node a's namespace (so neither agent pays for an ``ip netns exec`` wrapper), and times
both agents the way Pacemaker runs them (bench/harness.py: executed through their first
line, execd's environment, own process group, interleaved runs, medians). Each agent
manages its own address with the same parameters (ip, cidr_netmask=24, nic). Rows:

- monitor of a running address; start (from stopped: ``before`` runs the agent's own
  stop); stop (from started: ``before`` runs the agent's own start); start with
  arp_bg=false (five announcements 200 ms apart, in the foreground); IPv6 monitor;
- monitor with 1000 more addresses on the interface (flatness: ours at 1000 vs at 1);
- 100 monitors in a row, total CPU per agent.

Peak RSS comes from the harness (GNU time's %M, the agent's own peak). Targets
(issue #3): monitor CPU <= 0.5x, start and stop <= 0.5x, no process forked (start with
arp_bg forks exactly its background announcer), peak RSS <= 15 MB, monitor flat from 1
to 1000 addresses, 100 monitors <= 0.5x. The machine is shared: medians, noisy.
"""

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile

from bench.harness import Command, compare, measure, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(ROOT, "agents", "VirtualIP")
IPADDR2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
CLONE_NEWNET = 0x40000000


def enter_namespace(name):
    """Move this (single-threaded) process into network namespace ``name``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


class Side:
    """One agent with its own address and state directory."""

    def __init__(self, label, path, params, rsctmp):
        from ocfkit.testing import execd_environment

        self.label, self.path, self.params = label, path, params
        self.rsctmp = rsctmp
        self.execd_environment = execd_environment

    def env(self, action, interval_ms=None, **extra_params):
        params = dict(self.params, **extra_params)
        return self.execd_environment(params, action=action, interval_ms=interval_ms,
                                      agent_type=os.path.basename(self.path),
                                      extra={"HA_RSCTMP": self.rsctmp})

    def run(self, action, **extra_params):
        subprocess.run([self.path, action], env=self.env(action, **extra_params),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def command(self, action, label=None, expect=(0,), before=None, interval_ms=None,
                **extra_params):
        return Command(f"{self.label} {label or action}", [self.path, action],
                       env=self.env(action, interval_ms=interval_ms, **extra_params),
                       before=before, expect=expect)


def cpu_of_series(command, count):
    """Total CPU seconds of ``count`` runs in a row."""
    return sum(measure(command).cpu for _ in range(count))


def add_addresses(node, count):
    """``count`` extra /32 addresses on node's interface (203.0.113.0/24 and beyond)."""
    lines = []
    for n in range(count):
        third, fourth = divmod(n, 250)
        lines.append(f"address add 203.0.{113 + third}.{fourth + 1}/32 dev {node.nic}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".batch") as batch:
        batch.writelines(lines)
        batch.flush()
        node.ip("-batch", batch.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.virtualip: run as root (it builds network namespaces)")
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fixtures.netns import Network

    with Network("okv") as net, tempfile.TemporaryDirectory() as tmp:
        a = net.node("a", "198.51.100.1/24", "2001:db8::1/64")
        net.node("b", "198.51.100.2/24", "2001:db8::2/64")
        enter_namespace(a.namespace)
        ours = Side("VirtualIP", AGENT, {"ip": "198.51.100.10", "cidr_netmask": "24",
                                         "nic": a.nic}, os.path.join(tmp, "ours"))
        ref = Side("IPaddr2", IPADDR2, {"ip": "198.51.100.11", "cidr_netmask": "24",
                                        "nic": a.nic}, os.path.join(tmp, "ref"))
        ours6 = Side("VirtualIP", AGENT, {"ip": "2001:db8::10", "cidr_netmask": "64",
                                          "nic": a.nic, "nodad": "true", "arp_count": "1"},
                     os.path.join(tmp, "ours6"))
        ref6 = Side("IPaddr2", IPADDR2, {"ip": "2001:db8::11", "cidr_netmask": "64",
                                         "nic": a.nic, "nodad": "true", "arp_count": "1"},
                    os.path.join(tmp, "ref6"))
        for side in (ours, ref, ours6, ref6):
            os.makedirs(side.rsctmp)
            side.run("start")

        def pair(action, label=None, before=None, **kw):
            return tuple(side.command(action, label, before=before(side) if before else None,
                                      **kw) for side in (ours, ref))

        start_from_stopped = lambda side: (lambda: side.run("stop"))  # noqa: E731
        stop_from_started = lambda side: (lambda: side.run("start"))  # noqa: E731
        monitor = pair("monitor", interval_ms=10000)
        rows = compare([
            monitor,
            pair("start", before=start_from_stopped),
            pair("stop", before=stop_from_started),
            pair("start", "start arp_bg=false", before=start_from_stopped, arp_bg="false"),
            (ours6.command("monitor", "IPv6 monitor", interval_ms=10000),
             ref6.command("monitor", "IPv6 monitor", interval_ms=10000)),
        ], runs=args.runs)
        for side in (ours, ref):
            side.run("start")

        # The same monitor again, then with 1000 more addresses on the interface.
        one = compare([monitor], runs=args.runs)[0]
        add_addresses(a, 1000)
        many = compare([tuple(side.command("monitor", "monitor, 1000 addresses",
                                           interval_ms=10000) for side in (ours, ref))],
                       runs=args.runs)[0]
        rows.append(many)

        series = {side.label: cpu_of_series(cmd, 100) for side, cmd in zip((ours, ref), monitor)}
        for side in (ours, ref, ours6, ref6):
            side.run("stop")

    print_table(rows)
    flat = many["ours_stats"]["cpu_ms"] / one["ours_stats"]["cpu_ms"]
    ref_growth = many["ref_stats"]["cpu_ms"] / one["ref_stats"]["cpu_ms"]
    print()
    print(f"peak RSS (median): VirtualIP monitor {rows[0]['ours_stats']['maxrss_mb']:.1f} MB, "
          f"start {rows[1]['ours_stats']['maxrss_mb']:.1f} MB; IPaddr2 monitor "
          f"{rows[0]['ref_stats']['maxrss_mb']:.1f} MB")
    print(f"monitor CPU with 1000 more addresses / with 1: VirtualIP {flat:.2f}x "
          f"({one['ours_stats']['cpu_ms']:.1f} -> {many['ours_stats']['cpu_ms']:.1f} ms), "
          f"IPaddr2 {ref_growth:.2f}x ({one['ref_stats']['cpu_ms']:.1f} -> "
          f"{many['ref_stats']['cpu_ms']:.1f} ms)")
    print(f"100 monitors in a row: VirtualIP {series['VirtualIP']:.2f} s CPU, IPaddr2 "
          f"{series['IPaddr2']:.2f} s CPU, ratio {series['VirtualIP'] / series['IPaddr2']:.2f}x")


if __name__ == "__main__":
    main()
