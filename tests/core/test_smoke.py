"""The example agents keep the contract when run as Pacemaker runs them."""

import os

from ocfkit.testing import run_fence_agent, run_resource_agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = os.path.join(ROOT, "agents", "ExampleService")
SWITCH = os.path.join(ROOT, "fence", "fence_ocfkit_example")


def test_example_service_lifecycle(tmp_path):
    params = {"path": str(tmp_path / "state")}
    assert run_resource_agent(SERVICE, "monitor", params).rc == 7
    assert run_resource_agent(SERVICE, "start", params).rc == 0
    assert run_resource_agent(SERVICE, "monitor", params, interval_ms=10000).rc == 0
    assert run_resource_agent(SERVICE, "stop", params).rc == 0
    assert run_resource_agent(SERVICE, "stop", params).rc == 0
    assert run_resource_agent(SERVICE, "monitor", params, interval_ms=10000).rc == 7


def test_example_service_invalid_environment():
    params = {"path": "/nonexistent-dir/state"}
    assert run_resource_agent(SERVICE, "stop", params).rc == 0
    assert run_resource_agent(SERVICE, "monitor", params).rc == 7
    recurring = run_resource_agent(SERVICE, "monitor", params, interval_ms=10000)
    assert recurring.rc == 1 and "nonexistent-dir" in recurring.exit_reason
    assert run_resource_agent(SERVICE, "start", params).rc == 2
    assert run_resource_agent(SERVICE, "start", {}).rc == 6


def test_example_switch(tmp_path):
    (tmp_path / "n1").write_text("on")
    opts = {"directory": str(tmp_path), "plug": "n1", "nodename": "n1"}
    assert run_fence_agent(SWITCH, dict(opts, action="status")).rc == 0
    assert run_fence_agent(SWITCH, dict(opts, action="off")).rc == 0
    assert (tmp_path / "n1").read_text() == "off"
    status = run_fence_agent(SWITCH, dict(opts, action="status"))
    assert status.rc == 2 and "Status: OFF" in status.stdout
