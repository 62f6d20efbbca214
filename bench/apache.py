"""ocf:ocfkit:Apache against ocf:heartbeat:apache on the same configuration, in one run.

Run as root from the repository root:  /usr/bin/python3 -m bench.apache [--runs N]

One throw-away site (tests/fixtures/apache.py: prefork, 4 workers, a free loopback
port) serves both agents, which are run alternately the way pacemaker-execd runs them
(through their first line, execd's environment, own process group). Measured:

- monitor of a running server (recurring, depth 0): CPU ratio, target <= 0.8;
- start from stopped: wall ratio, target <= 0.3;
- stop of a running, idle server (both ask for a graceful stop first): wall ratio,
  target <= 0.5;
- recurring monitor of a stopped server (no pid file): wall ratio, target <= 0.05.

The machine is shared with other test runs: numbers are medians and still noisy.
"""

import argparse
import os
import sys
import tempfile

from ocfkit.testing import execd_environment

from bench.harness import Command, compare, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from fixtures.apache import ApacheSite  # noqa: E402

OURS = os.path.join(ROOT, "agents", "Apache")
REFERENCE = "/usr/lib/ocf/resource.d/heartbeat/apache"
TIMEOUTS = {"start": 40000, "stop": 60000, "monitor": 20000}
TARGETS = {"monitor": ("cpu_ms", 0.8), "start": ("wall_ms", 0.3), "stop": ("wall_ms", 0.5),
           "monitor-stopped": ("wall_ms", 0.05)}


def environment(site, action, rsctmp, interval_ms=None):
    env = execd_environment(site.params(), action=action, instance="bench-apache",
                            timeout_ms=TIMEOUTS[action], interval_ms=interval_ms,
                            extra={"HA_RSCTMP": rsctmp})
    return env


def pair(site, label, action, rsctmp, before=None, interval_ms=None, expect=None):
    # strace -f would follow the started httpd and wait for it forever.
    trace = action != "start"
    ours = Command(f"Apache {label}", [OURS, action],
                   env=environment(site, action, rsctmp, interval_ms), before=before,
                   expect=expect, trace_forks=trace)
    ref = Command(f"apache {label}", [REFERENCE, action],
                  env=environment(site, action, rsctmp, interval_ms), before=before,
                  expect=expect, trace_forks=trace)
    return ours, ref


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per monitor case")
    parser.add_argument("--slow-runs", type=int, default=8,
                        help="runs per start/stop case (the reference takes seconds)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench.apache: run as root (it starts httpd)")
    with ApacheSite() as site, tempfile.TemporaryDirectory(prefix="bench-apache-") as rsctmp:
        def ensure_running():
            if site.master_pid() is None:
                site.kill_all()
                site.start_directly()

        def ensure_stopped():
            site.kill_all()
            # As after the agent's own stop: no pid file, no cached configuration facts
            # (the start reads the configuration and runs the env files again).
            for path in [site.pid_file, *(os.path.join(rsctmp, name)
                                          for name in os.listdir(rsctmp)
                                          if name.endswith(".site"))]:
                if os.path.exists(path):
                    os.unlink(path)

        ensure_running()
        rows = compare([pair(site, "monitor", "monitor", rsctmp, before=ensure_running,
                             interval_ms=10000, expect=(0,))],
                       runs=args.runs)
        start_ours, start_ref = pair(site, "start", "start", rsctmp, before=ensure_stopped,
                                     expect=(0,))
        # Kept samples: the reference's start is bimodal (~0.1 s when its monitor finds
        # the pid file at once, ~1.1 s when it sleeps first).
        rows.append(compare([(start_ours, start_ref)], runs=args.slow_runs, warmup=1)[0])
        rows += compare([pair(site, "stop", "stop", rsctmp, before=ensure_running,
                              expect=(0,))],
                        runs=args.slow_runs, warmup=1)
        rows += compare([pair(site, "monitor (stopped)", "monitor", rsctmp,
                              before=ensure_stopped, interval_ms=10000, expect=(7,))],
                        runs=3, warmup=0)
        ensure_stopped()
    print_table(rows)
    print()
    start = rows[1]
    slept = sum(1 for sample in start["ref_samples"] if sample.wall > 1.0)
    walls = sorted(f"{sample.wall * 1000:.0f}" for sample in start["ref_samples"])
    print(f"reference start: {slept} of {len(walls)} runs lost the pid-file race and slept "
          f"1 s (walls ms: {' '.join(walls)}); ours: "
          f"{' '.join(sorted(f'{x.wall * 1000:.0f}' for x in start['ours_samples']))}")
    for row, case in zip(rows, ("monitor", "start", "stop", "monitor-stopped")):
        key, target = TARGETS[case]
        ratio = row["ratio"][key]
        verdict = "meets" if ratio <= target else "MISSES"
        print(f"{case}: {key.split('_')[0]} ratio {ratio:.3f} (target <= {target}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
