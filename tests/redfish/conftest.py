"""Fixtures of the Redfish driver tests: a real libvirtd (test driver) behind real
sushy-emulator instances (HTTPS with a test CA, basic auth), and fence-agents'
fence_redfish as the reference. Helpers the tests import live in redfish_helpers.py.

Two emulators share the libvirtd: ``multi`` serves every domain as a system, ``single``
serves okx-a only (a BMC with one system, where systems_uri may be left unset).
"""

import pytest
from fixtures.libvirtd import Libvirtd
from fixtures.sushy import Sushy
from redfish_helpers import DOMAINS


@pytest.fixture(scope="session")
def libvirtd(tmp_path_factory):
    daemon = Libvirtd(tmp_path_factory.mktemp("rf-libvirtd"), DOMAINS)
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def domains(libvirtd):
    for name, running in DOMAINS.items():
        libvirtd.set_state(name, "on" if running else "off")
    return libvirtd


@pytest.fixture(scope="session")
def multi(libvirtd, tmp_path_factory):
    emulator = Sushy(tmp_path_factory.mktemp("sushy-multi"), libvirtd.uri)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def single(libvirtd, tmp_path_factory):
    emulator = Sushy(tmp_path_factory.mktemp("sushy-single"), libvirtd.uri,
                     allowed=[libvirtd.uuids["okx-a"]])
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def plain_emulators(request):
    """Every test starts with the emulators' test layer switched off."""
    yield
    for name in ("multi", "single"):
        if name in request.fixturenames:
            request.getfixturevalue(name).control()


