"""fence_ocfkit_ipmi against fence_ipmilan (--lanplus --cipher=3), on the same ipmi_sim.

Run (as root, from the repository root):  /usr/bin/python3 -m bench.ipmi [--runs N]

Both agents get the same options on stdin, the way pacemaker-fenced runs them, with
their default timing options. Reported, in one run:
- status, monitor and reboot: medians of wall, CPU, peak RSS; ratios ours / reference;
- that our reboot read "off" back from the BMC before powering on (the hook's call log);
- successes out of 20 reboots through a UDP proxy losing 5 % and 10 % of datagrams;
- how long each agent takes to fail against a silent (SIGSTOPped) BMC.
Targets (issue #5): status <= 0.8x, reboot <= 0.25x, RSS <= 1.0x, 20/20 at 10 % loss,
silent BMC failure within login_timeout + 1 s.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

from bench.harness import Command, compare, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from fixtures.ipmi_sim import IpmiSim  # noqa: E402
from fixtures.udp_proxy import UdpProxy  # noqa: E402
from ocfkit.testing import fence_stdin  # noqa: E402

OURS = os.path.join(ROOT, "fence", "fence_ocfkit_ipmi")
REFERENCE = "/usr/sbin/fence_ipmilan"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}


def run_once(agent, options, timeout=120):
    start = time.monotonic()
    process = subprocess.run([agent], input=fence_stdin(options), capture_output=True,
                             env=ENV, timeout=timeout)
    return process.returncode, time.monotonic() - start, process.stderr.decode(errors="replace")


def peak_rss_mb(agent, options, runs=7):
    """Median peak RSS of the agent (and the children it waited for), in MB.

    posix_spawn, not fork: a forked child's peak RSS would include the copy of this
    benchmark process it was before exec (the harness's RSS column has that floor).
    """
    peaks = []
    for _ in range(runs):
        read, write = os.pipe()
        os.write(write, fence_stdin(options))
        os.close(write)
        actions = [(os.POSIX_SPAWN_DUP2, read, 0),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        pid = os.posix_spawn(agent, [agent], ENV, file_actions=actions)
        os.close(read)
        _, _, usage = os.wait4(pid, 0)
        peaks.append(usage.ru_maxrss / 1024)
    peaks.sort()
    return peaks[len(peaks) // 2]


def pair(label, sim, action, expect):
    stdin = fence_stdin(sim.options(action=action))
    return (Command(f"fence_ocfkit_ipmi {label}", [OURS], env=ENV, stdin=stdin,
                    expect=expect),
            Command(f"fence_ipmilan {label}", [REFERENCE], env=ENV, stdin=stdin,
                    expect=expect))


def success_under_loss(sim, loss, runs, ref_runs):
    """Reboots through the lossy proxy. fence_ipmilan takes ~20 s per reboot at 5 % loss
    (ipmitool's long resend timeouts), so it gets fewer runs."""
    counts = {}
    with UdpProxy((sim.host, sim.port), loss=loss, seed=7) as proxy:
        options = sim.options(action="reboot", ipport=proxy.port)
        for name, agent, count in (("ours", OURS, runs), ("fence_ipmilan", REFERENCE,
                                                          ref_runs)):
            ok, walls = 0, []
            for _ in range(count):
                rc, wall, _ = run_once(agent, options)
                ok += rc == 0
                walls.append(wall)
            walls.sort()
            counts[name] = (ok, count, walls[len(walls) // 2])
        dropped = proxy.dropped
    return counts, dropped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per status/monitor")
    parser.add_argument("--reboot-runs", type=int, default=7)
    parser.add_argument("--loss-runs", type=int, default=20)
    parser.add_argument("--ref-loss-runs", type=int, default=5)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    # a timeout(1) or Ctrl-C must still stop the simulator (finally blocks below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp:
        sim = IpmiSim(os.path.join(tmp, "bmc")).start()
        try:
            rows = compare([pair("status", sim, "status", (0,)),
                            pair("monitor", sim, "monitor", (0,))], runs=args.runs)
            rows += compare([pair("reboot", sim, "reboot", (0,))], runs=args.reboot_runs,
                            warmup=1)
            print_table(rows)
            for row in rows:
                ratio = row["ratio"]
                print(f"{row['ours']}: wall {ratio['wall_ms']:.2f}x, CPU "
                      f"{ratio['cpu_ms']:.2f}x, RSS {ratio['maxrss_mb']:.2f}x")

            print()
            for action in ("status", "reboot"):
                ours = peak_rss_mb(OURS, sim.options(action=action))
                ref = peak_rss_mb(REFERENCE, sim.options(action=action), runs=3)
                print(f"peak RSS (posix_spawn), {action}: ours {ours:.1f} MB, fence_ipmilan "
                      f"{ref:.1f} MB, ratio {ours / ref:.2f}x")

            sim.clear_journal()
            rc, wall, _ = run_once(OURS, sim.options(action="reboot"))
            calls = sim.calls()
            off, on = calls.index("set power 0"), calls.index("set power 1")
            verified = "get power" in calls[off + 1:on]
            print(f"\nours reboot rc={rc} {wall * 1000:.0f} ms; off read back from the BMC "
                  f"before power on: {verified}; BMC calls: {calls}")

            print()
            for loss in (0.05, 0.10):
                counts, dropped = success_under_loss(sim, loss, args.loss_runs,
                                                     args.ref_loss_runs)
                for name, (ok, count, median) in counts.items():
                    print(f"{int(loss * 100)}% loss, reboot: {name} {ok}/{count} "
                          f"succeeded, median {median:.2f} s", flush=True)
                print(f"   ({dropped} datagrams dropped)")

            print()
            sim.pause()
            try:
                for name, agent in (("ours", OURS), ("fence_ipmilan", REFERENCE)):
                    rc, wall, err = run_once(agent, sim.options(action="status"))
                    last = err.strip().splitlines()[-1] if err.strip() else ""
                    print(f"silent BMC, status (login_timeout 5 s): {name} rc={rc} after "
                          f"{wall:.2f} s: {last[:160]}")
            finally:
                sim.resume()
        finally:
            sim.stop()
    print("\nThe machine is shared with other test runs: figures are medians and noisy.")


if __name__ == "__main__":
    main()
