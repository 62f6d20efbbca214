"""``ocfkit lab up|down|status|demo|shell``: the lab from the command line."""

import argparse
import os
import signal
import sys
import time

from ocfkit.lab import agents as agent_sets
from ocfkit.lab import lifecycle, power, story
from ocfkit.lab.progress import Progress
from ocfkit.lab.topology import DEFAULT_NAME, MAX_NODES, TOKEN_MS, Lab, LabError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ocfkit lab",
        description="A real Pacemaker/Corosync cluster in network namespaces on this "
                    "machine (root), running the two-node web HA story.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(cmd, nodes=True):
        cmd.add_argument("--name", default=DEFAULT_NAME,
                         help="lab name, prefix of its namespaces (default: %(default)s)")
        if nodes:
            cmd.add_argument("--nodes", type=int, default=2, metavar="N",
                             help=f"cluster nodes, 2..{MAX_NODES} (default: %(default)s)")
            cmd.add_argument("--token", type=int, default=TOKEN_MS, metavar="MS",
                             help="corosync totem token in ms (default: %(default)s, "
                                  "corosync's own default)")
            cmd.add_argument("--agents", default="ocfkit",
                             choices=("ocfkit", "reference", "both"),
                             help="ocfkit's agents, the reference agents (IPaddr2, apache, "
                                  "fence_ipmilan), or both in turn (demo only) "
                                  "(default: %(default)s)")

    common(sub.add_parser("up", help="bring the lab up and run the story (cluster, "
                                     "fencing, quorum device, VIP, web server)"))
    common(sub.add_parser("down", help="tear the lab down (also a half-built one)"), False)
    common(sub.add_parser("status", help="what runs where"), False)
    demo = sub.add_parser("demo", help="up, story, the five drills, report, down")
    common(demo)
    demo.add_argument("--report", metavar="DIR",
                      help="where to write report.json, timeline.svg and the nodes' logs "
                           "(default: a new folder reports/lab-<time> here)")
    demo.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    demo.add_argument("--drills", default="all", metavar="LIST",
                      help="comma-separated drill names or numbers (default: all five)")
    demo.add_argument("--repeat", type=int, default=1, metavar="N",
                      help="run the drills N times per agent set (default: 1)")
    shell = sub.add_parser("shell", help="a shell (or COMMAND) inside a box")
    common(shell, False)
    shell.add_argument("box", help="n1, n2, ... or qnetd")
    shell.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND")
    return parser


def enter_hint(lab):
    return (f"enter a node: ocfkit lab shell {lab.nodes[0].name}   "
            f"(or: nsenter -t {power.init_pid(lab.nodes[0])} -n -m -u -i -p bash)   "
            f"tear down: ocfkit lab down" + ("" if lab.name == DEFAULT_NAME
                                             else f" --name {lab.name}"))


def bring_up(lab, agent_set, progress):
    """Build the lab and run the story; on any failure, tear down what was built."""
    lifecycle.preflight(lab)
    started = time.monotonic()
    try:
        lifecycle.build(lab, progress, agent_set)
        shell = story.Shell(lab, progress)
        story.setup_cluster(lab, shell, lifecycle.read_secret(lab, "hacluster"))
        story.configure_services(lab, shell, agent_set)
        with progress.step("wait until every resource runs and the client gets the page"):
            story.wait_service(lab)
            story.wait_idle(lab, shell)
        bringup = time.monotonic() - started
        lifecycle.write_state(lab, phase="up", bringup_s=round(bringup, 1))
        progress.say(f"lab {lab.name} is up: {lab.node_count} nodes + qnetd, "
                     f"{agent_set.name} agents, in {bringup:.1f}s")
        return shell, bringup
    except BaseException as exc:
        progress.say(f"bring-up failed ({_reason(exc)}): cleaning up")
        try:
            lifecycle.teardown(lab.name, progress)
        except LabError as cleanup_error:
            progress.say(f"cleanup failed too: {cleanup_error}")
        raise


def _reason(exc):
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return str(exc) or type(exc).__name__


def cmd_up(args, progress):
    lab = Lab(args.name, args.nodes, token_ms=args.token)
    if args.agents == "both":
        raise LabError("--agents both is for 'demo'; 'up' runs one set")
    agent_set = agent_sets.agent_set(args.agents)
    with lifecycle.locked(lab.name):
        existing = lifecycle.load(lab.name)
        if existing is not None and existing.state.get("phase") == "up":
            # Idempotent: the same lab again is nothing to do; a different one is an error.
            wanted = (lab.node_count, agent_set.name, lab.token_ms)
            have = (existing.node_count, existing.state.get("agents"), existing.token_ms)
            if wanted != have:
                raise LabError(f"lab {lab.name} is already up with {have[0]} nodes, "
                               f"{have[1]} agents and token {have[2]} ms: 'ocfkit lab down' "
                               "first to change that")
            progress.say(f"lab {lab.name} is already up ({have[0]} nodes, {have[1]} "
                         "agents): nothing to do")
            print(enter_hint(existing))
            return 0
        shell, _ = bring_up(lab, agent_set, progress)
        story.show_status(lab, shell)
    print(enter_hint(lab))
    return 0


def cmd_down(args, progress):
    Lab(args.name)  # validates the name
    with lifecycle.locked(args.name):
        lifecycle.teardown(args.name, progress)
    return 0


def cmd_status(args, progress):
    Lab(args.name)
    lab = lifecycle.load(args.name)
    leftovers = lifecycle.leftovers_of(args.name)
    if lab is None:
        if leftovers:
            print(f"lab {args.name}: half-built ({', '.join(leftovers)}): "
                  "'ocfkit lab down' cleans it up")
            return 1
        print(f"lab {args.name}: not running")
        return 3
    from ocfkit.lab import bmc, netns

    state = lab.state
    print(f"lab {lab.name}: {state.get('phase')}, {lab.node_count} nodes, "
          f"{state.get('agents')} agents, token {state.get('token_ms')} ms, "
          f"bring-up {state.get('bringup_s', '?')}s")
    for box in lab.booted_boxes:
        pid = power.init_pid(box)
        cable = "cable in" if netns.cable_connected(lab, box) else "cable pulled"
        extra = ""
        if box.kind == "node":
            extra = f", BMC {box.bmc_ip} " + ("up" if bmc.pid(lab, box) else "down")
        print(f"  {box.name:6} {box.public_ip:15} "
              f"{'on  (init PID ' + str(pid) + ')' if pid else 'off':24} {cable}{extra}")
    live = next((node for node in lab.nodes if power.is_on(node)), None)
    if live is not None:
        result = power.box_run(live, ["crm_mon", "-1", "--exclude=summary"], timeout=30)
        print(result.stdout.rstrip())
    print(enter_hint(lab))
    return 0


def cmd_shell(args, progress):
    lab = lifecycle.load(args.name)
    if lab is None:
        raise LabError(f"lab {args.name} is not up")
    box = lab.box(args.box)
    if not box.booted:
        argv = ["nsenter", f"--net=/run/netns/{box.netns}", "--", *(args.argv or ["bash"])]
    else:
        argv = power.enter_argv(box, args.argv or ["bash"])
    os.execvpe(argv[0], argv, {**power.ENV, "TERM": os.environ.get("TERM", "xterm"),
                               "PS1": f"[{lab.name} {box.name}] \\w# "})


def cmd_demo(args, progress):
    from ocfkit.lab.demo import run_demo

    return run_demo(args, progress)


def _terminate(_signum, _frame):
    raise KeyboardInterrupt


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "demo": cmd_demo,
            "shell": cmd_shell}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    progress = Progress()
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so that a half-built lab is
    # torn down instead of being left running.
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces, mounts, daemons): "
                           "run it as root")
        return COMMANDS[args.command](args, progress)
    except LabError as exc:
        print(f"ocfkit lab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ocfkit lab: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
