"""Helpers of the Redfish driver tests (a module with a unique name: every test directory
has a conftest.py, and `from conftest import ...` would pick any of them)."""

import os

import pytest
from fixtures.sushy import PASSWORD, USER
from ocfkit.testing import run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_redfish")
REFERENCE = "/usr/sbin/fence_redfish"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}
DOMAINS = {"okx-a": True, "okx-b": False, "okx-c": True}


def stdin_of(options):
    return "".join(f"{key}={value}\n" for key, value in options.items()
                   if value is not None).encode()


def fence(options, *, path=AGENT, timeout=60, raw=None, env=None):
    """Run a fence agent as pacemaker-fenced does: no arguments, options on stdin."""
    environment = dict(ENV, **(env or {}))
    return run([path], environment, stdin=raw if raw is not None else stdin_of(options),
               timeout=timeout)


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


# Every test here starts daemons, namespaces or installs files: root only.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
