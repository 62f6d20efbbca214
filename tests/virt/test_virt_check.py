"""``ocfkit check --fence`` (the project's conformance checker) passes on both transports,
with its lifecycle (off, on, reboot with status after each) against the real daemons."""

import subprocess

import pytest
from virt_helpers import AGENT, needs_root

pytestmark = [needs_root, pytest.mark.slow, pytest.mark.netns]


def check(*options, netns=None):
    argv = ["/usr/bin/python3", "-m", "ocfkit", "check", "--fence"]
    for option in options:
        argv += ["-o", option]
    argv.append(AGENT)
    if netns is not None:
        argv = netns.wrap(argv)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED: 0 rules broken, 0 warnings" in result.stdout, result.stdout
    return result


def test_check_libvirt_transport(domains):
    check(f"uri={domains.uri}", "plug=okx-a")
    assert domains.state("okx-a") == "on"  # left as found


def test_check_fence_virt_tcp(domains, tcp_daemon, key_file):
    check("transport=fence_virt", f"key_file={key_file}", "ip=127.0.0.1",
          f"ipport={tcp_daemon.port}", "plug=okx-b")
    assert domains.state("okx-b") == "off"


def test_check_fence_virt_multicast(domains, mcast_daemon, netns, key_file):
    check("transport=fence_virt", f"key_file={key_file}", "plug=okx-a", netns=netns)
    assert domains.state("okx-a") == "on"
