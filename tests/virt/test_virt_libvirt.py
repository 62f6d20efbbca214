"""transport=libvirt against a real libvirtd (test driver), side by side with fence_virsh.

fence_virsh runs unmodified; only ssh is replaced by a local shell (conftest.fake_ssh),
so it drives ``virsh`` against the same libvirtd. For each case both agents start from
the same domain state; the test compares exit codes and the domain's final state, and
the documented differences (docs/fence_ocfkit_virt.md) are asserted explicitly.
"""

import threading
import time

import pytest
from fixtures.libvirtd import Libvirtd
from virt_helpers import fence, make_fake_ssh, needs_root

pytestmark = [needs_root, pytest.mark.slow]


def ours(libvirtd, action, plug=None, **extra):
    options = {"action": action, "uri": libvirtd.uri, **extra}
    if plug is not None:
        options["plug"] = plug
    return fence(options)


def virsh(fake_ssh, action, plug=None, **extra):
    options = {"action": action, **fake_ssh, **extra}
    if plug is not None:
        options["plug"] = plug
    return fence(options, path="/usr/sbin/fence_virsh")


# (action, domain, its state before, exit code, state after): same for both agents.
CASES = [
    ("status", "okx-a", "on", 0, "on"),
    ("status", "okx-b", "off", 2, "off"),
    ("off", "okx-a", "on", 0, "off"),
    ("off", "okx-b", "off", 0, "off"),
    ("on", "okx-b", "off", 0, "on"),
    ("on", "okx-a", "on", 0, "on"),
    ("reboot", "okx-a", "on", 0, "on"),
    ("reboot", "okx-b", "off", 0, "on"),  # fencing.py composes reboot: it powers on too
    ("status", "okx-nosuch", None, 1, None),
    ("off", "okx-nosuch", None, 1, None),
    ("on", "okx-nosuch", None, 1, None),
    ("monitor", None, None, 0, None),
]


@pytest.mark.parametrize("action, plug, before, rc, after", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_same_result_as_fence_virsh(domains, fake_ssh, action, plug, before, rc, after):
    results = {}
    for name, run in (("fence_virsh", virsh), ("ours", ours)):
        domains.set_state("okx-a", "on")
        domains.set_state("okx-b", "off")
        if plug is not None:
            assert domains.state(plug) == before
        result = run(fake_ssh if name == "fence_virsh" else domains, action, plug)
        results[name] = (result.rc, domains.state(plug) if plug else None)
        assert result.rc == rc, (name, result)
        if plug is not None:
            assert domains.state(plug) == after, name
    assert results["ours"] == results["fence_virsh"]


def test_plug_as_uuid_same_as_fence_virsh(domains, fake_ssh):
    uuid = domains.uuids["okx-a"]
    assert virsh(fake_ssh, "status", uuid).rc == 0
    assert ours(domains, "status", uuid).rc == 0
    assert ours(domains, "off", uuid.upper(), use_uuid="1").rc == 0
    assert domains.state("okx-a") == "off"
    assert virsh(fake_ssh, "status", uuid).rc == 2
    assert ours(domains, "status", uuid).rc == 2


def test_list_and_list_status_match_fence_virsh(domains, fake_ssh):
    domains.set_state("okx-c", "off")
    ref = virsh(fake_ssh, "list-status")
    mine = ours(domains, "list-status")
    assert ref.rc == mine.rc == 0
    # fencing.py prints the state as the agent spells it (fence_virsh: on/off); ocfkit
    # prints ON/OFF. Pacemaker drops either spelling from the candidate names.
    ref_states = {line.split(",")[0]: line.split(",")[2].lower() for line in ref.stdout.split()}
    my_states = {line.split(",")[0]: line.split(",")[2].lower() for line in mine.stdout.split()}
    assert my_states == ref_states
    assert my_states["okx-c"] == "off" and my_states["okx-a"] == "on"
    # ours also names each domain's UUID as its alias (a second name Pacemaker accepts)
    for line in mine.stdout.split():
        name, alias, _ = line.split(",")
        assert alias == domains.uuids[name]
    listing = ours(domains, "list")
    assert listing.rc == 0
    assert sorted(line.split(",")[0] for line in listing.stdout.split()) == sorted(my_states)


def test_list_by_uuid(domains):
    listing = ours(domains, "list", use_uuid="1")
    assert listing.rc == 0
    assert {line.split(",")[1]: line.split(",")[0] for line in listing.stdout.split()} == \
        domains.uuids


def test_paused_domain_is_on_for_both(domains, fake_ssh):
    domains.pause("okx-c")
    assert virsh(fake_ssh, "status", "okx-c").rc == 0
    assert ours(domains, "status", "okx-c").rc == 0
    assert ours(domains, "off", "okx-c").rc == 0
    assert domains.state("okx-c") == "off"


def test_names_pacemaker_cannot_parse_are_left_out_of_lists(domains):
    domains.define("okx odd:name", running=True)
    listing = ours(domains, "list")
    assert listing.rc == 0
    assert "odd" not in listing.stdout
    assert "okx-a," in listing.stdout
    assert "not listing 'okx odd:name'" in listing.stderr
    # Named explicitly (pcmk_host_map), it is fenced like any other domain.
    assert ours(domains, "off", "okx odd:name").rc == 0
    assert domains.state("okx odd:name") == "off"


def test_domain_names_are_never_interpreted_by_a_shell(domains, fake_ssh):
    """fence_virsh types the plug into a shell on the hypervisor; we pass it to libvirt."""
    hostile = "okx-a; virsh destroy okx-c"
    mine = ours(domains, "status", hostile)
    assert mine.rc == 1 and "no domain with name" in mine.stderr
    assert domains.state("okx-c") == "on"
    # The reference runs the injected command (documented difference).
    virsh(fake_ssh, "status", hostile)
    assert domains.state("okx-c") == "off"


def test_unknown_domain_with_missing_as_off_is_still_an_error(domains, fake_ssh):
    """fence_virsh's missing_as_off turns an unknown domain into "off"; we have no such
    switch: a typo in pcmk_host_map must not make a node look fenced."""
    assert virsh(fake_ssh, "status", "okx-nosuch", missing_as_off="1").rc == 2
    mine = ours(domains, "status", "okx-nosuch", missing_as_off="1")
    assert mine.rc == 1
    assert "unknown domain is an error" in mine.stderr


def test_six_fences_at_once(domains):
    names = ["okx-a", "okx-c", "okx-d", "okx-e", "okx-f", "okx-g"]
    results = {}

    def run(name):
        results[name] = ours(domains, "off", name)

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {name: result.rc for name, result in results.items()} == dict.fromkeys(names, 0)
    assert [domains.state(name) for name in names] == ["off"] * 6


def test_libvirtd_down(tmp_path):
    daemon = Libvirtd(tmp_path / "lv", {"okx-z": True}).start()
    uri = daemon.uri
    daemon.stop()
    for action in ("status", "off", "monitor", "list"):
        result = fence({"action": action, "uri": uri, "plug": "okx-z"})
        assert result.rc == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "failed connecting" in lines[0], result.stderr
    ref_ssh = make_fake_ssh(tmp_path, uri)
    for action in ("status", "off"):
        ref = fence({"action": action, "plug": "okx-z", **ref_ssh},
                    path="/usr/sbin/fence_virsh")
        assert ref.rc == 1, ref


def test_hung_libvirtd_fails_within_the_timeout(tmp_path):
    daemon = Libvirtd(tmp_path / "lv", {"okx-z": True}).start()
    try:
        import os
        import signal

        os.kill(daemon.pid, signal.SIGSTOP)
        start = time.monotonic()
        result = fence({"action": "status", "uri": daemon.uri, "plug": "okx-z",
                        "timeout": "2"})
        elapsed = time.monotonic() - start
        os.kill(daemon.pid, signal.SIGCONT)
    finally:
        daemon.stop()
    assert result.rc == 1
    assert "timed out after 2s" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert elapsed < 4
