"""The lab's drills, ocfkit's agents against the reference agents, in one run.

    /usr/bin/python3 -m bench.lab --repeat 3              # run the demo, then summarise
    /usr/bin/python3 -m bench.lab --from reports/lab-X    # summarise an earlier run

One lab, one cluster: ``ocfkit lab demo --agents both --repeat N`` runs every drill
with ocfkit's agents, swaps the cluster's resources and fence devices to IPaddr2,
apache and fence_ipmilan in place, runs them again, and alternates which set goes
first on every repetition. This prints the medians side by side as a Markdown table
(the lab section of docs/benchmarks.md). A benchmark, not a test: it asserts nothing.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

FIELDS = (("outage_s", "outage s"), ("failed_requests", "failed requests"),
          ("fence_s", "fence op s"))


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(report):
    drills = [d for d in report["drills"] if not d.get("skipped")]
    names = []
    for d in drills:
        if d["name"] not in names:
            names.append(d["name"])
    sets = report["run"]["agent_sets"]
    lines = ["| drill | " + " | ".join(f"{label} ({s})" for _f, label in FIELDS[:2]
                                         for s in sets)
             + " | outage ratio | fence op s (" + "/".join(sets) + ") | dual VIP | ok |",
             "|---" * (2 + 2 * len(sets) + 3) + "|"]
    for name in names:
        cells = []
        medians = {}
        for field, _label in FIELDS[:2]:
            for agent_set in sets:
                values = [d[field] for d in drills if d["name"] == name
                          and d["agents"] == agent_set]
                medians[(field, agent_set)] = _median(values)
                value = medians[(field, agent_set)]
                cells.append("-" if value is None else f"{value:.2f}" if field == "outage_s"
                             else f"{value:g}")
        ratio = "-"
        if len(sets) == 2:
            a, b = medians[("outage_s", sets[0])], medians[("outage_s", sets[1])]
            if a is not None and b:
                ratio = f"{a / b:.2f}x"
        fence = "/".join(
            "-" if (v := _median([d["fence_s"] for d in drills if d["name"] == name
                                  and d["agents"] == s])) is None else f"{v:.2f}"
            for s in sets)
        runs = [d for d in drills if d["name"] == name]
        dual = sum(1 for d in runs if d["dual_vip"])
        ok = sum(1 for d in runs if d["ok"])
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {ratio} | {fence} | {dual}/{len(runs)} | {ok}/{len(runs)} |")
    run = report["run"]
    lines.append("")
    lines.append(f"{run['nodes']} nodes, corosync token {run['corosync'].get('token_ms')} ms "
                 f"(consensus {run['corosync'].get('consensus_ms')} ms), bring-up "
                 f"{run.get('bringup_s')} s with {sets[0]}'s agents, {run.get('repeat')} "
                 f"repetition(s) per set, load average {run['host']['loadavg_before'][0]:.1f} "
                 f"before / {run.get('loadavg_after', [0])[0]:.1f} after.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m bench.lab", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--from", dest="source", metavar="DIR",
                        help="summarise the report in DIR instead of running")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--drills", default="all")
    parser.add_argument("--agents", default="both")
    parser.add_argument("--report", metavar="DIR")
    args = parser.parse_args(argv)
    directory = args.source
    if directory is None:
        directory = args.report or os.path.join(
            "reports", time.strftime("bench-lab-%Y%m%d-%H%M%S"))
        subprocess.run(["/usr/bin/python3", "-m", "ocfkit", "lab", "demo", "--agents",
                        args.agents, "--repeat", str(args.repeat), "--drills", args.drills,
                        "--report", directory], check=False)
    with open(os.path.join(directory, "report.json")) as handle:
        report = json.load(handle)
    print(summarise(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
