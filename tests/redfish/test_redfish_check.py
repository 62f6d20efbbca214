"""``ocfkit check --fence`` (the project's conformance checker) passes against the emulator,
lifecycle included (off, on, reboot with status after each), with sessions and without."""

import subprocess

import pytest
from redfish_helpers import AGENT, needs_root, options

pytestmark = [needs_root, pytest.mark.slow]


def check(opts, warnings=0):
    argv = ["/usr/bin/python3", "-m", "ocfkit", "check", "--fence"]
    for name, value in opts.items():
        argv += ["-o", f"{name}={value}"]
    result = subprocess.run(argv + [AGENT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = f"PASSED: 0 rules broken, {warnings} warning{'s' if warnings != 1 else ''}"
    assert summary in result.stdout, result.stdout
    return result


def test_check_basic_auth(domains, multi):
    check(options(multi, domains, "okx-a"))
    assert domains.state("okx-a") == "on"  # left as found


def test_check_with_sessions(domains, multi):
    multi.control(sessions=True)
    before = multi.sessions()
    result = check(options(multi, domains, "okx-b"), warnings=1)
    assert domains.state("okx-b") == "off"
    # The checker passes an unknown node name as plug and sees "off". Like fence_redfish,
    # a BMC powers one machine: plug is not a target (only port_as_ip gives it meaning),
    # so status reports that machine, here powered off.
    assert "WARN  fence-status  status of an unknown target" in result.stdout
    created, deleted = multi.sessions()
    assert created - before[0] == deleted - before[1] > 0  # every session closed
