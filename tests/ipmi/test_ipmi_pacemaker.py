"""Pacemaker's and pcs's own tools accept fence_ocfkit_ipmi: its metadata, its options,
its validate-all. The launcher is installed into /usr/sbin (where pacemaker-fenced looks
for agents) under a unique name for the test and removed afterwards."""

import os
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET

import pytest
from ipmi_helpers import AGENT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="installs into /usr/sbin"),
    pytest.mark.skipif(not shutil.which("pcs") or not shutil.which("stonith_admin"),
                       reason="pcs and pacemaker-cli-utils are not installed"),
]


@pytest.fixture
def installed():
    name = f"fence_ocfkit_ipmi_t{os.getpid()}{uuid.uuid4().hex[:6]}"
    path = os.path.join("/usr/sbin", name)
    shutil.copy2(AGENT, path)
    try:
        yield name
    finally:
        os.unlink(path)


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_stonith_admin_reads_the_metadata(installed):
    result = sh("stonith_admin", "--metadata", "--agent", installed)
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(result.stdout)
    assert root.get("name") == "fence_ocfkit_ipmi"
    assert {a.get("name") for a in root.iter("action")} >= {
        "on", "off", "reboot", "status", "monitor", "list", "metadata", "validate-all"}
    result = sh("stonith_admin", "--validate", "--agent", installed, "--option",
                "ip=127.0.0.1", "--option", "username=admin", "--option", "password=x")
    assert result.returncode == 0, result.stdout + result.stderr


def test_pcs_creates_the_device_without_warning(installed, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(sh("cibadmin", "--empty").stdout)
    result = sh("pcs", "-f", str(cib), "stonith", "create", "fence-n1", installed,
                "ip=127.0.0.1", "ipport=6230", "username=admin", "password=s3cret",
                "lanplus=1", "cipher=3", "privlvl=operator", "method=onoff",
                "pcmk_host_list=n1", "--agent-validation")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""
    assert f'type="{installed}"' in cib.read_text()


def test_pcs_reports_the_agents_own_validation_error(installed, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(sh("cibadmin", "--empty").stdout)
    result = sh("pcs", "-f", str(cib), "stonith", "create", "fence-n1", installed,
                "ip=127.0.0.1", "cipher=three", "pcmk_host_list=n1", "--agent-validation")
    assert result.returncode != 0
    assert "option 'cipher': 'three' is not an integer" in result.stderr
