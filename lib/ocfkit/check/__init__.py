"""``ocfkit check``: run any OCF resource agent or fence agent as Pacemaker would and
report every contract rule it breaks (docs/checker.md).

Exit status: 0 no rule broken (warnings allowed), 1 at least one rule broken,
2 the check could not be done (no such file, bad option).
"""

import os
import sys


def parse_options(pairs):
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"option {pair!r} is not NAME=VALUE")
        options[name] = value
    return options


def check(path, *, fence=False, options=None, lifecycle=True, timeout=None):
    """Run every check on ``path``; returns the Report."""
    from ocfkit.check.report import Report

    report = Report(path, "fence" if fence else "ocf")
    if fence:
        from ocfkit.check.fence_actions import FenceCheck

        checker = FenceCheck(path, options or {}, report, lifecycle=lifecycle,
                             timeout=timeout or 60.0)
    else:
        from ocfkit.check.ocf_actions import OcfCheck

        checker = OcfCheck(path, options or {}, report, lifecycle=lifecycle)
    checker.check()
    return report


def main(args):
    try:
        options = parse_options(args.option)
    except ValueError as exc:
        print(f"ocfkit check: {exc}", file=sys.stderr)
        return 2
    path = os.path.abspath(args.path)
    if not os.path.exists(path):
        print(f"ocfkit check: {args.path}: no such file", file=sys.stderr)
        return 2
    fence = bool(args.fence)
    if not fence and os.path.basename(path).startswith("fence_"):
        print(f"ocfkit check: {os.path.basename(path)} looks like a fence agent; checking it "
              "as an OCF resource agent (add --fence to check it as a fence agent)",
              file=sys.stderr)
    report = check(path, fence=fence, options=options,
                   lifecycle=not args.no_lifecycle, timeout=getattr(args, "timeout", None))
    if getattr(args, "json", False):
        sys.stdout.write(report.render_json())
    else:
        sys.stdout.write(report.render_text(verbose=args.verbose))
    return 1 if report.failed else 0
