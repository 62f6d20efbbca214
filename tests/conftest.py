import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENTS = os.path.join(ROOT, "agents")
FENCE = os.path.join(ROOT, "fence")
PYTHON = "/usr/bin/python3"


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root")
        for item in items:
            if "netns" in item.keywords or "cluster" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def agents_dir():
    return AGENTS


@pytest.fixture
def fence_dir():
    return FENCE


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
