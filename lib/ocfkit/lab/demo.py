"""``ocfkit lab demo``: bring up, run the story and the drills, report, tear down."""

import os
import platform
import re
import time

from ocfkit import __version__
from ocfkit.lab import agents as agent_sets
from ocfkit.lab import drills as drill_module
from ocfkit.lab import lifecycle, power, report, story
from ocfkit.lab.topology import Lab, LabError


def corosync_runtime(lab, shell):
    """The token and consensus corosync really uses (runtime values, in ms)."""
    node = next(n for n in lab.nodes if power.is_on(n))
    values = {}
    for key in ("token", "consensus"):
        out = shell.run(node, ["corosync-cmapctl", "-g", f"runtime.config.totem.{key}"],
                        show=False, check=False).stdout
        match = re.search(r"=\s*(\d+)", out)
        values[f"{key}_ms"] = int(match.group(1)) if match else None
    return values


def run_demo(args, progress):
    lab = Lab(args.name, args.nodes, token_ms=args.token)
    names = ["ocfkit", "reference"] if args.agents == "both" else [args.agents]
    sets = {name: agent_sets.agent_set(name) for name in names}
    selected = drill_module.select(args.drills)
    if args.repeat < 1:
        raise LabError("--repeat must be at least 1")
    directory = report.prepare_dir(args.report or report.default_dir())
    started = time.time()
    results = []
    run = {"ocfkit_version": __version__, "lab": lab.name, "nodes": lab.node_count,
           "agent_sets": names, "agents": {n: s.describe() for n, s in sets.items()},
           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
           "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_before": list(os.getloadavg())},
           "drills_selected": selected, "repeat": args.repeat,
           "client_interval_s": 0.1}
    with lifecycle.locked(lab.name):
        shell, bringup = _bring_up(lab, sets[names[0]], progress)
        run["bringup_s"] = round(bringup, 1)
        run["boot_delay_s"] = lifecycle.boot_delay(lab)
        drills = None
        try:
            run["corosync"] = corosync_runtime(lab, shell)
            story.show_status(lab, shell)
            drills = drill_module.Drills(lab, shell, sets[names[0]], progress)
            current = names[0]
            for repetition in range(args.repeat):
                # Alternate which set goes first, so both see the same mix of load.
                order = names if repetition % 2 == 0 else list(reversed(names))
                for name in order:
                    if name != current:
                        story.replace_agents(lab, shell, sets[name])
                        current = name
                        drills.agents = sets[name]
                        lifecycle.write_state(lab, agents=name)
                    for drill in selected:
                        results.append(drills.run_drill(drill).to_json())
        except LabError as exc:
            progress.say(f"demo stopped: {exc}")
            run["error"] = str(exc)
        finally:
            if drills is not None:
                drills.close()
            run["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            run["loadavg_after"] = list(os.getloadavg())
            run.setdefault("corosync", {})
            with progress.step(f"report: {directory}"):
                report.collect_logs(lab, directory)
                data = report.write(directory, run, results,
                                    f"ocfkit lab {lab.name}: {lab.node_count} nodes, "
                                    f"agents {', '.join(names)}")
            if not args.keep:
                lifecycle.teardown(lab.name, progress)
    print()
    print(report.table(data))
    print()
    print(f"report: {os.path.join(directory, 'report.json')}, "
          f"{os.path.join(directory, 'timeline.svg')}, logs in {os.path.join(directory, 'logs')}")
    if args.keep:
        from ocfkit.lab.cli import enter_hint

        print(enter_hint(lab))
    failed = "error" in run or not all(d["ok"] for d in results)
    return 1 if failed else 0


def _bring_up(lab, agent_set, progress):
    from ocfkit.lab.cli import bring_up

    return bring_up(lab, agent_set, progress)
