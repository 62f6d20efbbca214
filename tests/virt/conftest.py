"""Fixtures of the virt fence driver tests: a real libvirtd (test driver), real fence_virtd
daemons (TCP on loopback, multicast inside a test namespace), and fence_virsh talking
to the same libvirtd through a local shell that stands in for ssh.

The daemons are shared by a module (starting them takes ~0.1 s, but the domains'
states are reset before every test by the ``domains`` fixture).
"""

import os
import stat

import pytest
from fixtures.fence_virtd import FenceVirtd, MulticastNamespace, write_key
from fixtures.libvirtd import Libvirtd
from ocfkit.testing import run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_virt")
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}

# The domains every test starts from: name -> running.
DOMAINS = {"okx-a": True, "okx-b": False, "okx-c": True, "okx-d": True, "okx-e": True,
           "okx-f": True, "okx-g": True}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def stdin_of(options):
    return "".join(f"{key}={value}\n" for key, value in options.items()).encode()


def fence(options, *, netns=None, path=AGENT, timeout=60, raw=None):
    """Run a fence agent as pacemaker-fenced does: no arguments, options on stdin."""
    argv = [path] if netns is None else netns.wrap([path])
    return run(argv, ENV, stdin=raw if raw is not None else stdin_of(options), timeout=timeout)


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


def make_fake_ssh(directory, uri):
    """An 'ssh' for fence_virsh: a local bash with the prompt fence_virsh expects, whose
    virsh talks to the libvirtd at ``uri``. Returns fence_virsh's options."""
    script = directory / "ssh"
    script.write_text(
        "#!/bin/sh\n"
        "# Stands in for ssh: fence_virsh logs in to this shell as to a hypervisor.\n"
        f"export LIBVIRT_DEFAULT_URI='{uri}'\n"
        "export PS1='[EXPECT]# '\n"
        "exec /bin/bash --noprofile --norc\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    identity = directory / "id"
    identity.write_text("not a key: the fake ssh never reads it\n")
    return {"ip": "127.0.0.1", "username": "root", "identity_file": str(identity),
            "ssh_path": str(script)}


@pytest.fixture(scope="module")
def fake_ssh(libvirtd, tmp_path_factory):
    return make_fake_ssh(tmp_path_factory.mktemp("fakessh"), libvirtd.uri)
