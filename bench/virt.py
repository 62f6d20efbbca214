"""fence_ocfkit_virt against fence_virsh, fence_xvm and fence_virt, in one run.

Run as root from the repository root:  /usr/bin/python3 -m bench.virt [--runs N]

Starts its own libvirtd (test driver), a fence_virtd with a TCP listener on loopback
and one with a multicast listener inside a test namespace, and a local shell standing
in for ssh so fence_virsh drives virsh against the same libvirtd. Every agent is run
the way pacemaker-fenced runs it (no arguments, options on stdin, clean environment).
Reboots are checked: after each one the domain must be running again.

Targets (issue #6): libvirt status <= 0.2x fence_virsh; fence_virt status <= 5x
fence_xvm; reboot <= 1.0x fence_xvm's, with the state verified.
"""

import argparse
import os
import sys
import tempfile

from ocfkit.testing import fence_stdin

from bench.harness import Command, compare, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from fixtures.fence_virtd import FenceVirtd, MulticastNamespace, write_key  # noqa: E402
from fixtures.libvirtd import Libvirtd  # noqa: E402

AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_virt")
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="okx-bench-") as tmp:
        libvirtd = Libvirtd(os.path.join(tmp, "libvirtd"), {"okx-a": True}).start()
        namespace = MulticastNamespace().create()
        daemons = []
        try:
            key = write_key(os.path.join(tmp, "key"))
            tcp = FenceVirtd(os.path.join(tmp, "tcp"), libvirtd.uri, key).start()
            daemons.append(tcp)
            mcast = FenceVirtd(os.path.join(tmp, "mcast"), libvirtd.uri, key,
                               listener="multicast", netns=namespace).start()
            daemons.append(mcast)
            ssh = write_fake_ssh(tmp, libvirtd.uri)
            run(args.runs, libvirtd, namespace, key, tcp, ssh)
        finally:
            for daemon in daemons:
                daemon.stop()
            namespace.delete()
            libvirtd.stop()


def write_fake_ssh(tmp, uri):
    path = os.path.join(tmp, "ssh")
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n"
                     f"export LIBVIRT_DEFAULT_URI='{uri}'\n"
                     "export PS1='[EXPECT]# '\n"
                     "exec /bin/bash --noprofile --norc\n")
    os.chmod(path, 0o755)
    identity = os.path.join(tmp, "id")
    open(identity, "w").close()
    return {"ip": "127.0.0.1", "username": "root", "identity_file": identity,
            "ssh_path": path}


def run(runs, libvirtd, namespace, key, tcp, ssh):
    def running():  # checked before every run: each reboot must have left it on
        if libvirtd.state("okx-a") != "on":
            raise RuntimeError("okx-a is not running after a reboot")

    libvirt_opts = dict(uri=libvirtd.uri, plug="okx-a")
    virsh_opts = dict(ssh, plug="okx-a")
    mcast_opts = dict(transport="fence_virt", key_file=key, plug="okx-a")
    xvm_opts = dict(key_file=key, port="okx-a")
    tcp_opts = dict(mcast_opts, ip="127.0.0.1", ipport=tcp.port)
    virt_opts = dict(xvm_opts, ipaddr="127.0.0.1", ipport=tcp.port)

    def ours(label, netns=None, **options):
        return Command(f"fence_ocfkit_virt {label}", [AGENT], env=ENV, netns=netns,
                       stdin=fence_stdin(options), expect=(0,))

    def ref(label, path, netns=None, **options):
        return Command(label, [path], env=ENV, netns=netns, stdin=fence_stdin(options),
                       expect=(0,))

    ns = namespace.name
    pairs = [
        (ours("libvirt status", action="status", **libvirt_opts),
         ref("fence_virsh status", "/usr/sbin/fence_virsh", action="status", **virsh_opts)),
        (ours("fence_virt multicast status", ns, action="status", **mcast_opts),
         ref("fence_xvm status", "/usr/sbin/fence_xvm", ns, action="status", **xvm_opts)),
        (ours("fence_virt tcp status", action="status", **tcp_opts),
         ref("fence_virt tcp status", "/usr/sbin/fence_virt", action="status", **virt_opts)),
    ]
    rows = compare(pairs, runs=runs)
    reboots = []
    for our, theirs in [
        (ours("fence_virt multicast reboot", ns, action="reboot", **mcast_opts),
         ref("fence_xvm reboot", "/usr/sbin/fence_xvm", ns, action="reboot", **xvm_opts)),
        (ours("libvirt reboot", action="reboot", **libvirt_opts),
         ref("fence_virsh reboot", "/usr/sbin/fence_virsh", action="reboot", **virsh_opts)),
    ]:
        for command in (our, theirs):
            command.before = running
        reboots.append((our, theirs))
    # Reboots of the references take ~1 s each: fewer runs, each one verified.
    rows += compare(reboots, runs=max(5, runs // 3), warmup=1)
    running()
    print("Medians; the machine is shared, so single numbers are noisy.\n")
    print_table(rows)
    targets = {"fence_ocfkit_virt libvirt status": 0.2,
               "fence_ocfkit_virt fence_virt multicast status": 5.0,
               "fence_ocfkit_virt fence_virt multicast reboot": 1.0}
    for row in rows:
        if row["ours"] in targets:
            ratio = row["ratio"]["wall_ms"]
            verdict = "ok" if ratio <= targets[row["ours"]] else "MISSED"
            print(f"{row['ours']}: {ratio:.2f}x {row['ref']} (target <= "
                  f"{targets[row['ours']]}x) {verdict}")


if __name__ == "__main__":
    main()
