import shutil

import pytest
from fixtures.ipmi_sim import IpmiSim


@pytest.fixture
def sim(tmp_path):
    """A fresh ipmi_sim BMC (power on) on a free loopback port; stopped by PID after."""
    if shutil.which("ipmi_sim") is None:
        pytest.skip("ipmi_sim (Debian openipmi) is not installed")
    bmc = IpmiSim(tmp_path / "bmc").start()
    yield bmc
    bmc.stop()
