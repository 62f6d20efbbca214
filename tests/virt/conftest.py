"""Fixtures of the virt fence driver tests: a real libvirtd (test driver), real fence_virtd
daemons (TCP on loopback, multicast inside a test namespace), and fence_virsh talking
to the same libvirtd through a local shell that stands in for ssh.

The daemons are shared by a module (starting them takes ~0.1 s, but the domains'
states are reset before every test by the ``domains`` fixture). Helpers the tests
import live in virt_helpers.py.
"""

import pytest
from fixtures.fence_virtd import FenceVirtd, MulticastNamespace, write_key
from fixtures.libvirtd import Libvirtd
from virt_helpers import DOMAINS, make_fake_ssh


@pytest.fixture(scope="module")
def libvirtd(tmp_path_factory):
    daemon = Libvirtd(tmp_path_factory.mktemp("libvirtd"), DOMAINS)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def domains(libvirtd):
    """Reset every test domain to its initial state; return the fixture."""
    for name in [n for n in libvirtd.domains if n not in DOMAINS]:
        libvirtd.undefine(name)
    for name, running in DOMAINS.items():
        if libvirtd.state(name) is None:
            libvirtd.define(name, running)
        libvirtd.set_state(name, "on" if running else "off")
    return libvirtd


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return write_key(tmp_path_factory.mktemp("key") / "fence_xvm.key")


@pytest.fixture(scope="module")
def tcp_daemon(libvirtd, key_file, tmp_path_factory):
    daemon = FenceVirtd(tmp_path_factory.mktemp("fvtcp"), libvirtd.uri, key_file)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def netns():
    namespace = MulticastNamespace()
    namespace.create()
    yield namespace
    namespace.delete()


@pytest.fixture(scope="module")
def mcast_daemon(libvirtd, key_file, netns, tmp_path_factory):
    daemon = FenceVirtd(tmp_path_factory.mktemp("fvmcast"), libvirtd.uri, key_file,
                        listener="multicast", netns=netns)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def fake_ssh(libvirtd, tmp_path_factory):
    return make_fake_ssh(tmp_path_factory.mktemp("fakessh"), libvirtd.uri)
