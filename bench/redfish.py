"""fence_ocfkit_redfish against fence-agents' fence_redfish, in one run.

Run as root from the repository root:  /usr/bin/python3 -m bench.redfish [--runs N]

Starts its own libvirtd (test driver) and sushy-emulator (HTTPS with a test CA, basic
auth). Both agents verify the certificate (ours with ssl_ca_bundle, fence_redfish through
requests' REQUESTS_CA_BUNDLE) and are run as pacemaker-fenced runs them (no arguments,
options on stdin). Every reboot is checked: the system must be on before the next run.

Targets (issue #9): status <= 0.8x fence_redfish, reboot <= 1.0x with verified states,
peak RSS <= 1.0x.
"""

import argparse
import os
import sys
import tempfile

from ocfkit.testing import fence_stdin

from bench.harness import Command, compare, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from fixtures.libvirtd import Libvirtd  # noqa: E402
from fixtures.sushy import PASSWORD, USER, Sushy  # noqa: E402

AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_redfish")
REFERENCE = "/usr/sbin/fence_redfish"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="okx-bench-") as tmp:
        libvirtd = Libvirtd(os.path.join(tmp, "libvirtd"), {"okx-a": True}).start()
        emulator = None
        try:
            emulator = Sushy(os.path.join(tmp, "sushy"), libvirtd.uri).start()
            run(args.runs, libvirtd, emulator)
        finally:
            if emulator is not None:
                emulator.stop()
            libvirtd.stop()


def run(runs, libvirtd, emulator):
    def running():  # checked before every run: each reboot must have left it on
        if libvirtd.state("okx-a") != "on":
            raise RuntimeError("okx-a is not running after a reboot")

    common = dict(ip=emulator.ip, ipport=emulator.port, username=USER, password=PASSWORD)
    system = f"/redfish/v1/Systems/{libvirtd.uuids['okx-a']}"
    ref_env = dict(ENV, REQUESTS_CA_BUNDLE=emulator.ca_file)

    def ours(label, **options):
        return Command(f"fence_ocfkit_redfish {label}", [AGENT], env=ENV, expect=(0,),
                       stdin=fence_stdin(dict(common, ssl_ca_bundle=emulator.ca_file,
                                                   **options)))

    def ref(label, **options):
        return Command(f"fence_redfish {label}", [REFERENCE], env=ref_env, expect=(0,),
                       stdin=fence_stdin(dict(common, **options)))

    pairs = [
        (ours("status", action="status", systems_uri=system),
         ref("status", action="status", systems_uri=system)),
        (ours("status, system discovered", action="status"),
         ref("status, system discovered", action="status")),
    ]
    rows = compare(pairs, runs=runs)
    reboot = (ours("reboot", action="reboot", systems_uri=system),
              ref("reboot", action="reboot", systems_uri=system))
    for command in reboot:
        command.before = running
    rows += compare([reboot], runs=max(10, runs // 2))
    running()
    print("Medians; the machine is shared, so single numbers are noisy.\n")
    print_table(rows)
    for row in rows:
        wall = row["ratio"]["wall_ms"]
        mine, theirs = row["ours_stats"]["maxrss_mb"], row["ref_stats"]["maxrss_mb"]
        target = 1.0 if "reboot" in row["ours"] else 0.8
        verdict = "ok" if wall <= target and mine <= theirs else "MISSED"
        print(f"{row['ours']}: wall {wall:.2f}x (target <= {target}x), peak RSS "
              f"{mine:.1f} / {theirs:.1f} MB = {mine / theirs:.2f}x (target <= 1.0x) {verdict}")


if __name__ == "__main__":
    main()
