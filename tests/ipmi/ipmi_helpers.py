"""Paths and runners for the IPMI tests (a module with a unique name, so that
``import ipmi_helpers`` cannot pick up another area's helper)."""

import os
import shutil

import pytest
from ocfkit.testing import run_fence_agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_ipmi")
IPMILAN = "/usr/sbin/fence_ipmilan"

needs_ipmilan = pytest.mark.skipif(not os.path.exists(IPMILAN) or not shutil.which("ipmitool"),
                                   reason="fence_ipmilan/ipmitool (Debian fence-agents, "
                                          "ipmitool) are not installed")


def run(options=None, *, args=None, stdin=None, timeout=60, agent=AGENT, env=None):
    """Run an agent the way pacemaker-fenced does (options on stdin), or with ``args``."""
    return run_fence_agent(agent, options, args=args, stdin=stdin, timeout=timeout, env=env)


def run_ipmilan(options=None, **kw):
    return run(options, agent=IPMILAN, **kw)
