"""Fixtures of the VirtualIP tests: a fresh two-node network per test (see vip_helpers)."""

import pytest
from fixtures.netns import Network
from vip_helpers import A4, A6, B4, B6, Runner, fast_dad


@pytest.fixture
def net():
    with Network("okv") as network:
        a = network.node("a", f"{A4}/24", f"{A6}/64")
        network.node("b", f"{B4}/24", f"{B6}/64")
        fast_dad(a)
        yield network


@pytest.fixture
def run(net, tmp_path):
    rsctmp = tmp_path / "rsctmp"
    rsctmp.mkdir()
    return Runner(net.nodes["a"], rsctmp)
