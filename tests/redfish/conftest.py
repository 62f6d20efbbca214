"""Fixtures of the Redfish driver tests: a real libvirtd (test driver) behind real
sushy-emulator instances (HTTPS with a test CA, basic auth), and fence-agents'
fence_redfish as the reference.

Two emulators share the libvirtd: ``multi`` serves every domain as a system, ``single``
serves okx-a only (a BMC with one system, where systems_uri may be left unset).
"""

import os

import pytest
from fixtures.libvirtd import Libvirtd
from fixtures.sushy import PASSWORD, USER, Sushy
from ocfkit.testing import run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_redfish")
REFERENCE = "/usr/sbin/fence_redfish"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}
DOMAINS = {"okx-a": True, "okx-b": False, "okx-c": True}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def stdin_of(options):
    return "".join(f"{key}={value}\n" for key, value in options.items()
                   if value is not None).encode()


def fence(options, *, path=AGENT, timeout=60, raw=None, env=None):
    """Run a fence agent as pacemaker-fenced does: no arguments, options on stdin."""
    environment = dict(ENV, **(env or {}))
    return run([path], environment, stdin=raw if raw is not None else stdin_of(options),
               timeout=timeout)


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


def system_uri(libvirtd, name):
    return f"/redfish/v1/Systems/{libvirtd.uuids[name]}"


def options(emulator, libvirtd=None, name=None, **extra):
    """Options for ours: verification on, with the test CA."""
    opts = {"ip": emulator.ip, "ipport": emulator.port, "username": USER,
            "password": PASSWORD, "ssl_ca_bundle": emulator.ca_file}
    if name is not None:
        opts["systems_uri"] = system_uri(libvirtd, name)
    opts.update(extra)
    return opts


def reference_options(emulator, libvirtd=None, name=None, **extra):
    """Options for fence_redfish; it verifies TLS through requests' REQUESTS_CA_BUNDLE."""
    opts = options(emulator, libvirtd, name, **extra)
    opts.pop("ssl_ca_bundle", None)
    return opts


def reference(emulator, opts, **kw):
    return fence(opts, path=REFERENCE, env={"REQUESTS_CA_BUNDLE": emulator.ca_file}, **kw)
