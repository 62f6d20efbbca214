"""fence_ocfkit_redfish side by side with fence-agents' fence_redfish on the same
sushy-emulator: same exit codes and final power states, except for the documented
differences (docs/fence_ocfkit_redfish.md), which are asserted on both sides.

Both verify the emulator's certificate against the test CA (fence_redfish through
requests' REQUESTS_CA_BUNDLE, ours through ssl_ca_bundle).
"""

import socket

import pytest
from redfish_helpers import fence, needs_root, options, reference, reference_options, system_uri

pytestmark = [needs_root, pytest.mark.slow]


# (label, action, domain given as systems_uri or None, state before, extra options,
#  exit code, state after) — the same for both agents.
SAME = [
    ("status-on", "status", "okx-a", "on", {}, 0, "on"),
    ("status-off", "status", "okx-b", "off", {}, 2, "off"),
    ("off-on", "off", "okx-a", "on", {}, 0, "off"),
    ("off-off", "off", "okx-b", "off", {}, 0, "off"),
    ("on-off", "on", "okx-b", "off", {}, 0, "on"),
    ("on-on", "on", "okx-a", "on", {}, 0, "on"),
    ("reboot-on", "reboot", "okx-a", "on", {}, 0, "on"),
    ("reboot-off", "reboot", "okx-b", "off", {}, 0, "on"),
    ("reboot-cycle", "reboot", "okx-c", "on", {"method": "cycle"}, 0, "on"),
    ("monitor", "monitor", "okx-a", "on", {}, 0, "on"),
    ("validate-all", "validate-all", "okx-a", "on", {}, 0, "on"),
    ("ip-with-port", "status", "okx-a", "on", {"ipport": None, "ip": "IP:PORT"}, 0, "on"),
    ("wrong-password", "status", "okx-a", "on", {"password": "not-the-password"}, 1, "on"),
    ("wrong-password-off", "off", "okx-a", "on", {"password": "not-the-password"}, 1, "on"),
    ("unknown-user", "status", "okx-a", "on", {"username": "okx-nobody"}, 1, "on"),
    ("unknown-system", "status", None, None,
     {"systems_uri": "/redfish/v1/Systems/okx-no-such-system"}, 1, None),
    ("wrong-redfish-uri", "status", "okx-a", "on", {"redfish_uri": "/redfish/v9"}, 0, "on"),
    ("ssl-insecure", "status", "okx-a", "on", {"ssl_insecure": "1", "ca": None}, 0, "on"),
]


def _resolve(emulator, extra):
    extra = dict(extra)
    if extra.get("ip") == "IP:PORT":
        extra["ip"] = f"{emulator.ip}:{emulator.port}"
    return extra


@pytest.mark.parametrize("label, action, domain, before, extra, rc, after", SAME,
                         ids=[case[0] for case in SAME])
def test_same_as_fence_redfish(domains, multi, label, action, domain, before, extra, rc,
                               after):
    extra = _resolve(multi, extra)
    no_ca = extra.pop("ca", "keep") is None
    for name in ("fence_redfish", "ours"):
        for other, running in (("okx-a", True), ("okx-b", False), ("okx-c", True)):
            domains.set_state(other, "on" if running else "off")
        if domain is not None:
            assert domains.state(domain) == before
        if name == "ours":
            opts = options(multi, domains, domain, action=action, **extra)
            if no_ca:
                opts.pop("ssl_ca_bundle")
            result = fence(opts)
        else:
            opts = reference_options(multi, domains, domain, action=action, **extra)
            result = reference(multi, opts)
        assert result.rc == rc, (name, result)
        if domain is not None:
            assert domains.state(domain) == after, name


def test_single_system_is_found_without_systems_uri(domains, single):
    for name in ("fence_redfish", "ours"):
        domains.set_state("okx-a", "on")
        for action, rc in (("status", 0), ("off", 0), ("status", 2), ("on", 0)):
            if name == "ours":
                result = fence(options(single, action=action))
            else:
                result = reference(single, reference_options(single, action=action))
            assert result.rc == rc, (name, action, result)
        assert domains.state("okx-a") == "on"


def test_password_script(domains, multi, tmp_path):
    from fixtures.sushy import PASSWORD

    script = tmp_path / "pw.sh"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    script.chmod(0o700)
    extra = {"action": "status", "password": None, "password_script": str(script)}
    assert fence(options(multi, domains, "okx-a", **extra)).rc == 0
    assert reference(multi, reference_options(multi, domains, "okx-a", **extra)).rc == 0


def test_untrusted_certificate_fails_for_both(domains, multi):
    ref = fence(reference_options(multi, domains, "okx-a", action="off"),
                path="/usr/sbin/fence_redfish")  # no CA given: the system's CAs only
    mine = fence({k: v for k, v in options(multi, domains, "okx-a", action="off").items()
                  if k != "ssl_ca_bundle"})
    assert ref.rc == 1 and mine.rc == 1
    assert domains.state("okx-a") == "on"
    assert "ssl_ca_bundle" in mine.stderr and "ssl_insecure" in mine.stderr


def test_emulator_down_fails_for_both(domains):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    opts = {"ip": "127.0.0.1", "ipport": port, "username": "u", "password": "p",
            "action": "status", "systems_uri": system_uri(domains, "okx-a")}
    ref = fence(dict(opts, ssl_insecure="1"), path="/usr/sbin/fence_redfish")
    mine = fence(opts)
    assert ref.rc == 1 and mine.rc == 1
    assert mine.stderr.strip().endswith(f"cannot connect to https://127.0.0.1:{port}: "
                                        "connection refused")


# ------------------------------------------------------------ documented differences
def test_several_systems_without_systems_uri(domains, multi):
    """fence_redfish fences the *last* system the service lists; we refuse to guess."""
    import requests
    from fixtures.sushy import PASSWORD, USER

    collection = requests.get(f"https://{multi.ip}:{multi.port}/redfish/v1/Systems",
                              auth=(USER, PASSWORD), verify=multi.ca_file, timeout=10).json()
    last = collection["Members"][-1]["@odata.id"]
    victim = next(name for name in ("okx-a", "okx-b", "okx-c")
                  if system_uri(domains, name) == last)
    domains.set_state(victim, "on")
    ref = reference(multi, reference_options(multi, action="off"))
    assert ref.rc == 0 and domains.state(victim) == "off"
    domains.set_state(victim, "on")
    mine = fence(options(multi, action="off"))
    assert mine.rc == 1 and "set systems_uri" in mine.stderr
    assert domains.state(victim) == "on"


def test_powering_off_is_not_on(domains, multi):
    """A system in PoweringOff is "on" for fence_redfish; we wait for the real state."""
    import requests
    from fixtures.sushy import PASSWORD, USER

    multi.control(transition=4.0)
    uri = system_uri(domains, "okx-a")
    requests.post(f"https://{multi.ip}:{multi.port}{uri}/Actions/ComputerSystem.Reset",
                  json={"ResetType": "ForceOff"}, auth=(USER, PASSWORD),
                  verify=multi.ca_file, timeout=10).raise_for_status()
    # For the next 4 s the system says PoweringOff (libvirt already destroyed it).
    ref = reference(multi, reference_options(multi, domains, "okx-a", action="status"))
    multi.clear_requests()
    mine = fence(options(multi, domains, "okx-a", action="status"))
    assert ref.rc == 0 and "Status: ON" in ref.stdout
    assert mine.rc == 2 and "Status: OFF" in mine.stdout
    polls = [r for r in multi.requests() if r[0] == "GET" and r[1] == uri]
    assert len(polls) >= 2  # it saw PoweringOff, then waited and read again


def test_transition_outlasting_power_timeout_is_an_error(domains, multi):
    multi.control(transition=3.0)
    mine = fence(options(multi, domains, "okx-a", action="off", power_timeout="1"))
    assert mine.rc == 1
    assert "still PoweringOff after 1s (timed out)" in mine.stderr


def test_refused_power_on_is_reported_at_once(domains, multi):
    """fence_redfish ignores the HTTP status of its reset request and polls the power
    state instead; run by pacemaker-fenced (PCMK_service set) fencing.py also disables
    its power_timeout, so it polls until fenced kills it. We report the refusal at once."""
    domains.set_state("okx-b", "off")
    multi.control(fail={"match": "ComputerSystem.Reset", "status": 409,
                        "message": "Power operation in progress"})
    ref = reference(multi, reference_options(multi, domains, "okx-b", action="on",
                                             power_timeout="2"), timeout=6)
    mine = fence(options(multi, domains, "okx-b", action="on", power_timeout="2"))
    assert ref.rc is None  # still polling when the test killed it after 6 s
    assert mine.rc == 1 and mine.wall < 2
    assert "refused requesting On (HTTP 409): Power operation in progress" in mine.stderr
    assert domains.state("okx-b") == "off"


def test_list_is_the_systems(domains, multi):
    """fence_redfish has no list action; ours lists the systems (Id, Name)."""
    ref = reference(multi, reference_options(multi, action="list"))
    assert "List option is not working on this device" in ref.stdout
    mine = fence(options(multi, action="list-status"))
    assert mine.rc == 0
    lines = {line.split(",")[1]: line.split(",") for line in mine.stdout.split()}
    assert set(lines) == {"okx-a", "okx-b", "okx-c"}
    assert lines["okx-a"][0] == domains.uuids["okx-a"]
    assert [lines[n][2] for n in ("okx-a", "okx-b", "okx-c")] == ["ON", "OFF", "ON"]
    # with systems_uri set the device fences one system, and lists only that one
    mine = fence(options(multi, domains, "okx-b", action="list"))
    assert mine.stdout.split() == [f"{domains.uuids['okx-b']},okx-b"]


def test_hung_emulator(domains, multi):
    """fence_redfish has no HTTP timeout and waits forever; ours gives up in time."""
    multi.pause()
    try:
        ref = reference(multi, reference_options(multi, domains, "okx-a", action="status"),
                        timeout=4)
        mine = fence(options(multi, domains, "okx-a", action="status", login_timeout="1",
                             http_timeout="2"), timeout=10)
    finally:
        multi.resume()
    assert ref.rc is None  # killed by the test after 4 s, still waiting
    assert mine.rc == 1 and mine.wall < 4 and "timed out" in mine.stderr
