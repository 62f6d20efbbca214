"""Helpers of the virt fence driver tests (a module with a unique name: every test
directory has a conftest.py, and `from conftest import ...` would pick any of them)."""

import os
import stat

import pytest
from ocfkit.testing import run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "fence", "fence_ocfkit_virt")
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
       "PCMK_service": "pacemaker-fenced"}

# The domains every test starts from: name -> running.
DOMAINS = {"okx-a": True, "okx-b": False, "okx-c": True, "okx-d": True, "okx-e": True,
           "okx-f": True, "okx-g": True}


def stdin_of(options):
    return "".join(f"{key}={value}\n" for key, value in options.items()).encode()


def fence(options, *, netns=None, path=AGENT, timeout=60, raw=None):
    """Run a fence agent as pacemaker-fenced does: no arguments, options on stdin."""
    argv = [path] if netns is None else netns.wrap([path])
    return run(argv, ENV, stdin=raw if raw is not None else stdin_of(options), timeout=timeout)


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


# Every test here starts daemons, namespaces or installs files: root only.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
