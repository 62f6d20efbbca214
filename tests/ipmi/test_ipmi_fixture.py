"""The ipmi_sim fixture's extension points that the lab relies on: a per-BMC power
command, and a BMC inside a network namespace."""

import os
import subprocess
import uuid

import pytest
from fixtures.ipmi_sim import IpmiSim
from ipmi_helpers import AGENT, run
from ocfkit.testing import fence_stdin


def test_on_power_command_runs_on_every_change(tmp_path):
    log = tmp_path / "node.log"
    with IpmiSim(tmp_path / "bmc", on_power=f'echo "power $1" >> {log}') as sim:
        assert run(sim.options(action="reboot")).rc == 0
        assert log.read_text() == "power 0\npower 1\n"
    with IpmiSim(tmp_path / "bmc2", on_power="exit 1") as sim:
        result = run(sim.options(action="off"))
        assert result.rc == 1 and "completion code" in result.stderr, result


@pytest.mark.netns
def test_bmc_in_a_network_namespace(tmp_path):
    netns = f"ipmi{os.getpid()}{uuid.uuid4().hex[:4]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        with IpmiSim(tmp_path / "bmc", netns=netns) as sim:
            assert sim.port == 623
            options = sim.options(action="off")
            agent = subprocess.run(["ip", "netns", "exec", netns, AGENT],
                                   input=fence_stdin(options), capture_output=True,
                                   timeout=60, env={"PATH": os.environ["PATH"]})
            assert agent.returncode == 0, agent.stderr
            assert sim.transitions() == [("on", "off")]
    finally:
        subprocess.run(["ip", "netns", "delete", netns], check=True)
