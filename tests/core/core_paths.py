"""Paths used by the framework-core tests (a module with a unique name, so that
``import core_paths`` cannot pick up another area's helper)."""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SERVICE = os.path.join(ROOT, "agents", "ExampleService")
SWITCH = os.path.join(ROOT, "fence", "fence_ocfkit_example")
TEST_AGENTS = os.path.join(HERE, "agents")
PYTHON = "/usr/bin/python3"


def test_agent(name):
    """Path of one of the small agents in tests/core/agents/."""
    return os.path.join(TEST_AGENTS, name)


test_agent.__test__ = False  # a helper, not a test
