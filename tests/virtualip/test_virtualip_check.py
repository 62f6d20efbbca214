"""``ocfkit check`` (the project's conformance checker) passes on VirtualIP, run inside a
test namespace so its start/stop cycle touches only that namespace."""

import pytest
from vip_helpers import AGENT, VIP4, VIP6

pytestmark = pytest.mark.netns


@pytest.mark.parametrize("params", [
    {"ip": VIP4},
    {"ip": VIP6, "nodad": "true", "arp_count": "1"},
], ids=["IPv4", "IPv6"])
def test_ocfkit_check_passes(net, run, params):
    a = net.nodes["a"]
    options = [arg for name, value in params.items() for arg in ("-o", f"{name}={value}")]
    result = a.run(["/usr/bin/python3", "-m", "ocfkit", "check", *options, AGENT],
                   check=False, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                                     "HA_RSCTMP": run.rsctmp})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "0 rules broken" in result.stdout
    assert not a.has_address(params["ip"])
