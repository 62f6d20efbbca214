"""The password (and the BMC key) never leave the agent: not on any process's command
line, not in a log line (debug included), not in the debug file, not in an error.

The /proc scanner is shown to catch a password on a command line. (fence_ipmilan puts
it on ipmitool's, contract C1; ipmitool overwrites it with X's once it has parsed its
options, so that window is short and a test of it would be flaky.)"""

import os
import subprocess
import threading
import time

import pytest
from fixtures.ipmi_sim import ADMIN, IpmiSim
from ipmi_helpers import AGENT, run
from ocfkit.testing import fence_stdin

KEY = "K_g-s3cr3t"


def scan_cmdlines(secret, stop, found):
    """Read every process's argv (and environment) until ``stop`` is set."""
    needle = secret.encode()
    while not stop.is_set():
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            for part in ("cmdline", "environ"):
                try:
                    with open(f"/proc/{pid}/{part}", "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                if needle in data:
                    found.add((pid, part, data.replace(b"\0", b" ")[:200]))
        time.sleep(0.005)


def run_watched(agent, options, secret, timeout=60):
    """Run ``agent`` with options on stdin while scanning /proc for ``secret``."""
    stop, found = threading.Event(), set()
    scanner = threading.Thread(target=scan_cmdlines, args=(secret, stop, found))
    scanner.start()
    try:
        process = subprocess.run([agent], input=fence_stdin(options), capture_output=True,
                                 timeout=timeout, env={"PATH": os.environ["PATH"]})
    finally:
        stop.set()
        scanner.join()
    return process, found


@pytest.fixture
def slow_sim(tmp_path):
    # slow enough (every power call takes 0.2 s) for the scanner to see every process
    with IpmiSim(tmp_path / "bmc", kg=KEY) as bmc:
        bmc.set_delay(0.2)
        yield bmc


def test_password_never_on_a_command_line_or_in_any_output(slow_sim, tmp_path):
    debug = tmp_path / "debug.log"
    script = tmp_path / "pw"
    script.write_text(f"#!/bin/sh\necho '{ADMIN[1]}'\n")
    script.chmod(0o700)
    key = KEY.encode().hex()
    for extra in ({}, {"password_script": str(script)}):
        options = slow_sim.options(action="reboot", verbose="1", debug_file=str(debug),
                                   hexadecimal_kg=key, **extra)
        if extra:
            options["password"] = ""  # the script supplies it
        process, found = run_watched(AGENT, options, ADMIN[1])
        assert process.returncode == 0, process.stderr
        assert found == set()
        output = process.stdout + process.stderr + debug.read_bytes()
        assert b"DEBUG" in output  # verbose logging was really on
        assert ADMIN[1].encode() not in output
        assert key.encode() not in output and KEY.encode() not in output
    assert slow_sim.transitions() == [("on", "off"), ("off", "on")] * 2


def test_the_scanner_sees_a_password_on_a_command_line():
    stop, found = threading.Event(), set()
    scanner = threading.Thread(target=scan_cmdlines, args=(ADMIN[1], stop, found))
    scanner.start()
    try:
        subprocess.run(["/bin/sh", "-c", "sleep 0.3", "sh", ADMIN[1]], check=True)
    finally:
        stop.set()
        scanner.join()
    assert any(b"sleep 0.3" in line for _, _, line in found), found


@pytest.mark.parametrize("change", [
    {"password": "Wr0ng-but-s3cret"},
    {"username": "mallory"},
    {"password": "x" * 25},
    {"cipher": "17"},
    {"hexadecimal_kg": "00" * 20},
    {"ipport": "1"},
    {"privlvl": "user", "action": "off"},
    {"login_timeout": "1", "silent": True},
])
def test_secrets_absent_from_every_failure(tmp_path, change):
    change = dict(change)
    with IpmiSim(tmp_path / "bmc", kg=KEY) as sim:
        if change.pop("silent", False):
            sim.pause()
        debug = tmp_path / "debug.log"
        options = sim.options(action="status", verbose="1", debug_file=str(debug),
                              hexadecimal_kg=KEY.encode().hex())
        options.update(change)
        result = run(options)
        assert result.rc == 1, result
        output = result.stdout + result.stderr + (debug.read_text() if debug.exists() else "")
        for secret in (ADMIN[1], options["password"], KEY, KEY.encode().hex()):
            assert secret not in output, (secret, output)
