"""Bad input: one clear reason, the contract's exit code, no traceback, nothing configured.

6 = wrong on every node (syntax, impossible values, contradictions); 2 = wrong on this
node (an interface or network it lacks). The same input on stop gives 0 and on a probe
7 (contract A5).
"""

import pytest
from vip_helpers import AGENT, VIP4, VIP6

NIC = "<nic>"  # replaced by node a's interface


CASES = [
    # (id, parameters, start's exit code, words of the reason)
    ("ip missing", {"nic": NIC}, 6, "required parameter not set: ip"),
    ("ip not an address", {"ip": "vip.example.com", "nic": NIC}, 6, "not an IPv4 address"),
    ("ip octet 256", {"ip": "198.51.100.256", "nic": NIC}, 6, "not an IP address"),
    ("ip leading zero", {"ip": "198.51.100.010", "nic": NIC}, 6, "leading zeros"),
    ("ip multicast", {"ip": "224.0.0.5", "nic": NIC}, 6, "multicast"),
    ("ipv6 garbage", {"ip": "2001:db8::zz", "nic": NIC}, 6, "not an IPv6 address"),
    ("ipv6 mapped", {"ip": "::ffff:198.51.100.10", "nic": NIC}, 6, "IPv4-mapped"),
    ("prefix 33", {"ip": VIP4, "nic": NIC, "cidr_netmask": "33"}, 6, "out of range"),
    ("prefix 0", {"ip": VIP4, "nic": NIC, "cidr_netmask": "0"}, 6, "out of range"),
    ("prefix 129", {"ip": VIP6, "nic": NIC, "cidr_netmask": "129"}, 6, "out of range"),
    ("prefix text", {"ip": VIP4, "nic": NIC, "cidr_netmask": "big"}, 6, "not a prefix length"),
    ("netmask holes", {"ip": VIP4, "nic": NIC, "cidr_netmask": "255.0.255.0"}, 6,
     "not a contiguous netmask"),
    ("netmask and cidr_netmask disagree", {"ip": VIP4, "nic": NIC, "cidr_netmask": "24",
                                           "netmask": "16"}, 6, "disagree"),
    ("unknown interface", {"ip": VIP4, "nic": "okvnosuchif", "cidr_netmask": "24"}, 2,
     "does not exist on this node"),
    ("impossible interface name", {"ip": VIP4, "nic": "eth/0", "cidr_netmask": "24"}, 6,
     "cannot be an interface name"),
    ("interface name too long", {"ip": VIP4, "nic": "x" * 16, "cidr_netmask": "24"}, 6,
     "cannot be an interface name"),
    ("label longer than the kernel allows", {"ip": VIP4, "nic": NIC, "cidr_netmask": "24",
                                             "iflabel": "waytoolong"}, 6, "15 characters"),
    ("label that cannot fit any interface", {"ip": VIP4, "iflabel": "l" * 14}, 6,
     "too long"),
    ("label too long for this node's interface", {"ip": VIP4, "iflabel": "lbl456"}, 2,
     "15 characters"),
    ("label characters", {"ip": VIP4, "nic": NIC, "iflabel": "a b"}, 6, "may only contain"),
    ("zone contradicts nic", {"ip": "fe80::10%okvother", "nic": NIC}, 6, "but nic is"),
    ("link-local without nic", {"ip": "fe80::10"}, 6, "nic is required"),
    ("broadcast with IPv6", {"ip": VIP6, "nic": NIC, "broadcast": "+"}, 6,
     "only valid with an IPv4"),
    ("broadcast garbage", {"ip": VIP4, "nic": NIC, "broadcast": "everyone"}, 6,
     "not an IPv4 address"),
    ("arp_count 0", {"ip": VIP4, "nic": NIC, "arp_count": "0"}, 6, "arp_count"),
    ("arp_count text", {"ip": VIP4, "nic": NIC, "arp_count": "five"}, 6, "not an integer"),
    ("arp_interval negative", {"ip": VIP4, "nic": NIC, "arp_interval": "-200"}, 6,
     "arp_interval"),
    ("arp_bg not a boolean", {"ip": VIP4, "nic": NIC, "arp_bg": "sometimes"}, 6,
     "not a boolean"),
    ("preferred_lft text", {"ip": VIP6, "nic": NIC, "preferred_lft": "soon"}, 6,
     "preferred_lft"),
    ("unsupported IPaddr2 feature", {"ip": VIP4, "nic": NIC, "lvs_support": "true"}, 6,
     "lvs_support"),
    ("no network for the address", {"ip": "203.0.113.10"}, 2,
     "no directly connected network"),
    ("several problems at once", {"ip": VIP4, "nic": NIC, "cidr_netmask": "40",
                                  "arp_count": "-1"}, 6, "cidr_netmask"),
]


def _params(case_params, net):
    nic = net.nodes["a"].nic
    return {k: (nic if v == NIC else v) for k, v in case_params.items()}


@pytest.mark.netns
@pytest.mark.parametrize("name, params, code, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input(net, run, name, params, code, words):
    a = net.nodes["a"]
    params = _params(params, net)
    before = sorted(x[:2] for x in a.addresses())
    result = run("start", params)
    assert result.rc == code, result.stderr
    reasons = [line for line in result.stderr.splitlines()
               if line.startswith("ocf-exit-reason:")]
    assert len(reasons) == 1 and words in reasons[0], result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(x[:2] for x in a.addresses()) == before  # nothing half-configured
    assert run("stop", params).rc == 0
    assert run("monitor", params).rc == 7


def test_clone_with_load_sharing_is_refused(tmp_path):
    from ocfkit.testing import run_resource_agent

    result = run_resource_agent(AGENT, "validate-all", {"ip": VIP4},
                                meta={"clone_max": "2", "clone_node_max": "2"})
    assert result.rc == 6 and "CLUSTERIP" in result.exit_reason


@pytest.mark.parametrize("name, params, code, words",
                         [c for c in CASES if c[2] == 6], ids=[c[0] for c in CASES if c[2] == 6])
def test_syntax_errors_without_a_node(name, params, code, words):
    """validate-all at check level 0 (pcs) sees the same 6 on any machine, even as non-root
    and outside the cluster, because it never looks at the node."""
    from ocfkit.testing import run_resource_agent

    params = {k: ("okvnic123456" if v == NIC else v) for k, v in params.items()}
    result = run_resource_agent(AGENT, "validate-all", params)
    assert result.rc == 6, result.stderr
    assert words in result.exit_reason and "Traceback" not in result.stderr


@pytest.mark.netns
@pytest.mark.parametrize("action", ["start", "stop"])
def test_not_root_is_a_permission_error_like_ipaddr2(net, run, action):
    from ocfkit.testing import execd_environment
    from vip_helpers import IPADDR2

    a = net.nodes["a"]
    params = {"ip": VIP4, "cidr_netmask": "24", "nic": a.nic}
    codes = []
    for agent in (AGENT, IPADDR2):
        env = execd_environment(params, action=action, extra={"HA_RSCTMP": run.rsctmp})
        result = a.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        agent, action], env=env, check=False)
        assert "Traceback" not in result.stderr
        codes.append(result.returncode)
    assert codes == [4, 4]
    assert not a.has_address(VIP4)
