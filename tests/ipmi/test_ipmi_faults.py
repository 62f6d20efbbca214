"""fence_ocfkit_ipmi when things go wrong: bad credentials, no BMC, a silent, slow,
failing or rebooting BMC, a lossy network, a full session table. Each failure must be
one clear line and exit 1, in bounded time; each success must show in the journal."""

import os
import subprocess
import time

import pytest
from fixtures.ipmi_sim import ADMIN, free_udp_port
from fixtures.udp_proxy import UdpProxy
from ipmi_helpers import AGENT, run
from ocfkit.testing import fence_stdin


def one_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_wrong_password(sim):
    result = run(sim.options(action="off", password="Wr0ng-pass"))
    assert result.rc == 1
    assert "wrong password for user 'admin'" in one_line(result)
    assert "Wr0ng-pass" not in result.stderr
    assert sim.journal() == []


def test_wrong_user(sim):
    result = run(sim.options(action="off", username="mallory"))
    assert result.rc == 1
    line = one_line(result)
    assert "refused user 'mallory'" in line and "unknown user" in line
    assert sim.journal() == []


def test_nothing_listening_fails_fast():
    port = free_udp_port()
    options = {"ip": "127.0.0.1", "ipport": port, "username": "admin", "password": "x",
               "action": "status"}
    result = run(options)
    assert result.rc == 1
    assert f"nothing listening at 127.0.0.1:{port}" in one_line(result)
    assert result.wall < 2.0, result


def test_unresolvable_address():
    result = run({"ip": "no-such-bmc.invalid", "username": "admin", "password": "x",
                  "action": "status"})
    assert result.rc == 1
    assert "cannot resolve BMC address 'no-such-bmc.invalid'" in one_line(result)


@pytest.mark.parametrize("login_timeout", [2, pytest.param(5, marks=pytest.mark.slow)])
def test_silent_bmc_fails_within_login_timeout(sim, login_timeout):
    sim.pause()
    options = sim.options(action="off")
    if login_timeout != 5:
        options["login_timeout"] = login_timeout
    result = run(options)
    assert result.rc == 1
    line = one_line(result)
    assert "no answer from BMC" in line and f"login_timeout {login_timeout}s" in line, line
    assert login_timeout - 0.1 <= result.wall <= login_timeout + 1.0, result
    sim.resume()
    assert sim.journal() == []


@pytest.mark.slow
def test_bmc_restarted_in_the_middle_of_a_reboot(sim):
    sim.set_delay(0.3)  # slow enough for the test to strike between off and on
    agent = subprocess.Popen([AGENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"]},
                             start_new_session=True)
    agent.stdin.write(fence_stdin(sim.options(action="reboot", verbose=1)))
    agent.stdin.close()
    agent.stdin = None  # communicate() below must not touch it
    try:
        deadline = time.monotonic() + 15
        while ("on", "off") not in sim.transitions():
            assert time.monotonic() < deadline, "the agent never powered off"
            time.sleep(0.01)
        first = sim.pid
        sim.kill()
        time.sleep(0.5)
        sim.start()
        assert sim.pid != first
        out, err = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0, err
    assert sim.power == "on"
    assert [t for t in sim.transitions()] == [("on", "off"), ("off", "on")]
    assert b"logging in again" in err, err


@pytest.mark.slow
def test_slow_bmc(sim):
    sim.set_delay(0.5)
    result = run(sim.options(action="reboot"))
    assert result.rc == 0, result
    assert sim.transitions() == [("on", "off"), ("off", "on")]


def test_failing_bmc(sim):
    sim.set_failing(True)
    for action in ("status", "off", "monitor"):
        result = run(sim.options(action=action))
        assert result.rc == 1
        assert "refused Get Chassis Status: completion code 0xFF" in one_line(result)
    sim.set_failing(False)
    assert sim.transitions() == []


def test_session_limit_reached(sim):
    assert sim.fill_session_table() > 0
    result = run(sim.options(action="status", login_timeout=1))
    assert result.rc == 1
    assert "session limit reached" in one_line(result)


def test_sessions_are_always_closed(sim):
    """More runs than ipmi_sim has session slots: a leak would fail the last ones."""
    slots = 70
    for number in range(slots):
        if number % 2:
            assert run(sim.options(action="status", password="not-it")).rc == 1
        else:
            assert run(sim.options(action="status")).rc == 0, number


@pytest.mark.slow
@pytest.mark.parametrize("loss", [0.05, 0.10])
def test_packet_loss(sim, loss):
    with UdpProxy((sim.host, sim.port), loss=loss, seed=int(loss * 100)) as proxy:
        options = sim.options(ipport=proxy.port)
        for _ in range(8):
            result = run(dict(options, action="status"))
            assert result.rc == 0, result
        for _ in range(2):
            result = run(dict(options, action="reboot"))
            assert result.rc == 0, result
        assert proxy.dropped > 0
    assert sim.transitions() == [("on", "off"), ("off", "on")] * 2


@pytest.mark.slow
def test_packet_loss_ipmi_v15(sim):
    # v1.5 BMCs ignore a resent Activate Session, like RAKP 3: a lost answer must not
    # be taken for a wrong password
    with UdpProxy((sim.host, sim.port), loss=0.10, seed=3) as proxy:
        for _ in range(4):
            result = run(sim.options(action="reboot", lanplus=0, ipport=proxy.port))
            assert result.rc == 0, result
    assert sim.transitions() == [("on", "off"), ("off", "on")] * 4


def test_ipmi_v15_silent_bmc(sim):
    sim.pause()
    result = run(sim.options(action="status", lanplus=0, login_timeout=1.5))
    assert result.rc == 1
    assert "no answer from BMC" in one_line(result)
    assert result.wall < 3.0, result
    sim.resume()


def test_admin_password_never_printed_on_failure(sim):
    for change in ({"username": "mallory"}, {"cipher": "17"}, {"privlvl": "user",
                                                               "action": "off"}):
        result = run(dict(sim.options(action="status"), **change))
        assert ADMIN[1] not in result.stderr + result.stdout
