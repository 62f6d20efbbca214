"""The ``ocfkit`` command: check agents, print metadata and man pages, run the lab."""

import argparse
import sys


def _metadata(args):
    from ocfkit.fence.agent import FenceAgent
    from ocfkit.loader import load_agent_class

    cls = load_agent_class(args.path)
    if issubclass(cls, FenceAgent):
        from ocfkit.fence.metadata import to_manpage, to_xml

        sys.stdout.write(to_xml(cls) if args.command == "metadata" else to_manpage(cls))
    else:
        from ocfkit.ocf.metadata import to_manpage, to_xml

        sys.stdout.write(to_xml(cls) if args.command == "metadata"
                         else to_manpage(cls, args.provider))
    return 0


def _check(args):
    from ocfkit.check import main as check_main

    return check_main(args)


def _lab(args, rest):
    try:
        from ocfkit.lab.cli import main as lab_main
    except ImportError:
        print("ocfkit: the lab is not available in this installation", file=sys.stderr)
        return 1
    return lab_main(rest)


def build_parser():
    from ocfkit import __version__

    parser = argparse.ArgumentParser(
        prog="ocfkit", description="OCF resource agents and fence agents for Pacemaker.")
    parser.add_argument("--version", action="version", version=f"ocfkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="run an agent as Pacemaker would and report every "
                                         "contract rule it breaks")
    check.add_argument("--fence", action="store_true", help="PATH is a fence agent")
    check.add_argument("-o", "--option", action="append", default=[], metavar="NAME=VALUE",
                       help="agent parameter (repeatable)")
    check.add_argument("--no-lifecycle", action="store_true",
                       help="only static checks: do not start or stop anything")
    check.add_argument("-v", "--verbose", action="store_true", help="show passing checks too")
    check.add_argument("--json", action="store_true",
                       help="print the findings as one JSON document (for tests and CI)")
    check.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="fence agents: bound on each run (default 60)")
    check.add_argument("path", metavar="PATH")

    for name, text in (("metadata", "print an ocfkit agent's metadata XML"),
                       ("manpage", "print an ocfkit agent's man page (troff)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--provider", default="ocfkit")
        cmd.add_argument("path", metavar="PATH")

    sub.add_parser("lab", help="a Pacemaker cluster in network namespaces (ocfkit lab --help)",
                   add_help=False)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["lab"]:
        return _lab(None, argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "check":
            return _check(args)
        return _metadata(args)
    except Exception as exc:
        from ocfkit.loader import LoadError

        if isinstance(exc, LoadError):
            print(f"ocfkit: {exc}", file=sys.stderr)
            return 2
        raise
