"""fence_ocfkit_redfish when things go wrong: each failure is one line that says what to
fix, within the timeouts, with nothing leaked (password, session token) and no session
left open on the BMC."""

import socket

import pytest
from fixtures.libvirtd import Libvirtd
from fixtures.sushy import PASSWORD, Sushy
from redfish_helpers import fence, needs_root, options

pytestmark = [needs_root, pytest.mark.slow]


def one_line(result):
    lines = result.stderr.strip().splitlines()
    assert result.rc == 1, result
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_wrong_password(domains, multi):
    line = one_line(fence(options(multi, domains, "okx-a", action="off", password="nope")))
    assert "authentication failed for user 'okx-admin'" in line and "HTTP 401" in line
    assert domains.state("okx-a") == "on"


def test_wrong_certificate_with_verification_on(domains, multi):
    multi.clear_requests()
    result = fence(options(multi, domains, "okx-a", action="off",
                           ssl_ca_bundle=multi.other_ca_file))
    line = one_line(result)
    assert f"TLS certificate of https://127.0.0.1:{multi.port} is not trusted" in line
    assert "ssl_ca_bundle=" in line and "ssl_insecure=1" in line
    assert domains.state("okx-a") == "on"
    assert not any(path.endswith("ComputerSystem.Reset") for _, path, _ in multi.requests())


def test_emulator_that_accepts_and_never_answers(domains):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel; nobody ever answers
        opts = {"ip": "127.0.0.1", "ipport": silent.getsockname()[1], "username": "u",
                "password": "p", "action": "status", "login_timeout": "1",
                "http_timeout": "2"}
        result = fence(opts, timeout=20)
    line = one_line(result)
    assert "did not answer" in line and "timed out" in line
    assert result.wall < 4


@pytest.mark.parametrize("status, message, expected", [
    (500, "Internal failure of the power controller", "the BMC failed reading the power "
     "state (HTTP 500): Internal failure of the power controller"),
    (403, "Insufficient privilege", "is not allowed to do this while reading the power "
     "state (HTTP 403): the BMC account needs more privileges"),
    (503, "Service temporarily unavailable", "(HTTP 503): Service temporarily unavailable"),
])
def test_http_errors_are_one_clear_line(domains, multi, status, message, expected):
    multi.control(fail={"match": "/Systems/", "status": status, "message": message})
    assert expected in one_line(fence(options(multi, domains, "okx-a", action="status")))


@pytest.mark.parametrize("status", [400, 409])
def test_refused_action_gives_the_service_message(domains, multi, status):
    multi.control(fail={"match": "ComputerSystem.Reset", "status": status,
                        "message": "ResetType ForceOff is not allowed now"})
    line = one_line(fence(options(multi, domains, "okx-a", action="off")))
    assert f"the BMC refused requesting ForceOff (HTTP {status}): ResetType ForceOff is " \
           "not allowed now" in line
    assert domains.state("okx-a") == "on"


def test_a_real_500_when_libvirtd_behind_the_emulator_is_gone(tmp_path):
    libvirtd = Libvirtd(tmp_path / "lv", {"okx-z": True}).start()
    emulator = Sushy(tmp_path / "sushy", libvirtd.uri)
    try:
        emulator.start()
        opts = options(emulator, libvirtd, "okx-z", action="status")
        assert fence(opts).rc == 0
        libvirtd.stop()
        line = one_line(fence(opts))
    finally:  # also when the emulator fails to start: never leave libvirtd behind
        emulator.stop()
        libvirtd.stop()
    assert "(HTTP 500)" in line and "the BMC failed reading the power state" in line


def test_password_never_leaks_even_when_verbose(domains, multi):
    for extra in ({"action": "status"}, {"action": "status", "password": PASSWORD + "x"},
                  {"action": "off"}):
        result = fence(options(multi, domains, "okx-a", verbose="1", **extra))
        assert PASSWORD not in result.stdout + result.stderr


# ------------------------------------------------------------------ sessions
def test_session_is_used_and_closed(domains, multi):
    multi.control(sessions=True)
    before = multi.sessions()
    multi.clear_requests()
    result = fence(options(multi, domains, "okx-a", action="reboot", verbose="1"))
    assert result.rc == 0
    created, deleted = multi.sessions()
    assert (created - before[0], deleted - before[1]) == (1, 1)
    auth = {kind for method, path, kind in multi.requests()
            if "/Systems/" in path}
    assert auth == {"token"}  # no password on any request after the login
    for token in multi.tokens():
        assert token not in result.stderr + result.stdout


def test_session_is_closed_after_a_failure(domains, multi):
    multi.control(sessions=True, fail={"match": "ComputerSystem.Reset", "status": 409,
                                       "message": "busy"})
    before = multi.sessions()
    assert fence(options(multi, domains, "okx-a", action="off")).rc == 1
    created, deleted = multi.sessions()
    assert created - before[0] == 1 and deleted - before[1] == 1


def test_session_login_with_wrong_password(domains, multi):
    multi.control(sessions=True)
    before = multi.sessions()
    line = one_line(fence(options(multi, domains, "okx-a", action="status",
                                  password="nope")))
    assert "while logging in (HTTP 401)" in line
    assert multi.sessions() == before


def test_session_refused_falls_back_to_basic_auth(domains, multi):
    multi.control(sessions=True, fail={"match": "SessionService/Sessions", "status": 405,
                                       "methods": ["POST"], "message": "not here"})
    multi.clear_requests()
    assert fence(options(multi, domains, "okx-a", action="status")).rc == 0
    assert ("GET", f"/redfish/v1/Systems/{domains.uuids['okx-a']}", "basic") in \
        multi.requests()


def test_monitor_fails_when_the_system_is_ambiguous(domains, multi, single):
    line = one_line(fence(options(multi, action="monitor")))
    assert "the service has 3 systems: set systems_uri" in line
    assert fence(options(single, action="monitor")).rc == 0
