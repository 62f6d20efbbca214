"""transport=fence_virt against real fence_virtd daemons, side by side with fence_virt/fence_xvm.

Two listeners: ``tcp`` (fence_virtd on 127.0.0.1, reference client ``fence_virt``) and
``multicast`` (fence_virtd inside a test namespace, reference client ``fence_xvm``).
Both daemons drive the same libvirtd. Same exit codes and final states as the
references, except for the documented differences, which are asserted explicitly.
"""

import os
import signal
import socket
import threading
import time

import pytest
from fixtures.fence_virtd import FenceVirtd, MulticastNamespace, write_key
from fixtures.libvirtd import Libvirtd
from virt_helpers import DOMAINS, fence, needs_root

pytestmark = [needs_root, pytest.mark.slow, pytest.mark.netns]

KINDS = ["tcp", "multicast"]


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def daemons(request, domains, tcp_daemon, mcast_daemon, netns, key_file):
    return {"tcp": tcp_daemon, "multicast": mcast_daemon, "netns": netns, "key": key_file,
            "libvirtd": domains}


def ours(daemons, kind, action, plug=None, *, daemon=None, key=None, netns=None, **extra):
    daemon = daemon or daemons[kind]
    options = {"action": action, "transport": "fence_virt", "key_file": key or daemons["key"],
               "timeout": "5"}
    if kind == "tcp":
        options.update(ip="127.0.0.1", ipport=daemon.port)
    if plug is not None:
        options["plug"] = plug
    options.update(extra)
    return fence(options, netns=(netns or daemons["netns"]) if kind == "multicast" else None)


def reference(daemons, kind, action, plug=None, *, daemon=None, key=None, netns=None, **extra):
    daemon = daemon or daemons[kind]
    options = {"action": action, "key_file": key or daemons["key"], "timeout": "5"}
    if plug is not None:
        options["port"] = plug
    options.update(extra)
    if kind == "tcp":
        options.update(ipaddr="127.0.0.1", ipport=daemon.port)
        return fence(options, path="/usr/sbin/fence_virt")
    return fence(options, path="/usr/sbin/fence_xvm", netns=netns or daemons["netns"])


# (action, domain, state before, exit code, state after) — same for ours and reference.
SAME = [
    ("status", "okx-a", "on", 0, "on"),
    ("status", "okx-b", "off", 2, "off"),
    ("off", "okx-a", "on", 0, "off"),
    ("off", "okx-b", "off", 0, "off"),
    ("on", "okx-b", "off", 0, "on"),
    ("on", "okx-a", "on", 0, "on"),
    ("reboot", "okx-a", "on", 0, "on"),
    ("off", "okx-nosuch", None, 1, None),
    ("monitor", None, None, 0, None),
]


@pytest.mark.parametrize("action, plug, before, rc, after", SAME,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in SAME])
def test_same_result_as_reference(daemons, kind, action, plug, before, rc, after):
    lv = daemons["libvirtd"]
    for name, run in (("reference", reference), ("ours", ours)):
        lv.set_state("okx-a", "on")
        lv.set_state("okx-b", "off")
        if plug is not None:
            assert lv.state(plug) == before
        result = run(daemons, kind, action, plug)
        assert result.rc == rc, (name, result)
        if plug is not None:
            assert lv.state(plug) == after, name


def test_plug_as_uuid(daemons, kind):
    lv = daemons["libvirtd"]
    uuid = lv.uuids["okx-a"]
    assert reference(daemons, kind, "status", uuid).rc == 0
    assert ours(daemons, kind, "status", uuid).rc == 0
    assert ours(daemons, kind, "off", uuid, use_uuid="1").rc == 0
    assert lv.state("okx-a") == "off"
    assert reference(daemons, kind, "status", uuid).rc == 2
    assert ours(daemons, kind, "status", uuid).rc == 2


def test_list_matches_reference(daemons, kind):
    lv = daemons["libvirtd"]
    lv.set_state("okx-c", "off")
    ref = reference(daemons, kind, "list")
    assert ref.rc == 0
    ref_states = {line.split()[0]: line.split()[2] for line in ref.stdout.splitlines()}
    mine = ours(daemons, kind, "list-status")
    assert mine.rc == 0
    my_states = {line.split(",")[0]: line.split(",")[2].lower()
                 for line in mine.stdout.splitlines()}
    assert my_states == ref_states
    assert set(my_states) == set(DOMAINS)
    assert my_states["okx-c"] == "off"
    listing = ours(daemons, kind, "list", use_uuid="1")
    assert {line.split(",")[1]: line.split(",")[0] for line in listing.stdout.splitlines()} \
        == lv.uuids


# --------------------------------------------------------- documented differences
def test_unknown_domain_is_an_error_not_off(daemons, kind):
    ref = reference(daemons, kind, "status", "okx-nosuch")
    assert ref.rc == 2 and "OFF" in ref.stdout  # fence_virtd says "off": unsafe
    mine = ours(daemons, kind, "status", "okx-nosuch")
    assert mine.rc == 1
    assert "no domain with name 'okx-nosuch' on fence_virtd" in mine.stderr
    assert mine.stdout == ""


def test_reboot_of_an_off_domain_powers_it_on(daemons, kind):
    lv = daemons["libvirtd"]
    ref = reference(daemons, kind, "reboot", "okx-b")
    assert ref.rc == 0 and lv.state("okx-b") == "off"  # reference: "success", still off
    mine = ours(daemons, kind, "reboot", "okx-b")
    assert mine.rc == 0 and lv.state("okx-b") == "on"


def test_reboot_is_verified_and_fast(daemons, kind):
    """The daemon's reboot sleeps 1 s; ours is off, verified off, on, verified on."""
    lv = daemons["libvirtd"]
    start = time.monotonic()
    mine = ours(daemons, kind, "reboot", "okx-a", verbose="1")
    elapsed = time.monotonic() - start
    assert mine.rc == 0 and lv.state("okx-a") == "on"
    assert "power off verified" in mine.stderr and "power on verified" in mine.stderr
    assert elapsed < 1.0


# ------------------------------------------------------------------ faults
def test_wrong_key(daemons, kind, tmp_path):
    wrong = write_key(tmp_path / "wrong.key")
    start = time.monotonic()
    mine = ours(daemons, kind, "status", "okx-a", key=wrong, timeout="2")
    elapsed = time.monotonic() - start
    assert mine.rc == 1
    lines = mine.stderr.strip().splitlines()
    assert len(lines) == 1
    if kind == "tcp":
        # the daemon drops the connection at once: no need to wait for the timeout
        assert "closed the connection" in lines[0] and "key" in lines[0]
        assert elapsed < 1.5
    else:
        assert "no answer from fence_virtd via multicast" in lines[0]
        assert "timed out" in lines[0] and "key_file" in lines[0]
        assert elapsed < 3.5
    ref = reference(daemons, kind, "status", "okx-a", key=wrong, timeout="2")
    assert ref.rc != 0


def test_auth_algorithm_mismatch_is_named(daemons, kind):
    start = time.monotonic()
    mine = ours(daemons, kind, "status", "okx-a", auth="sha512")
    assert time.monotonic() - start < 1.5  # known at once, no need to wait for the timeout
    assert mine.rc == 1
    assert "failed authentication" in mine.stderr and "auth=sha512" in mine.stderr


def test_hash_weaker_than_the_daemons_is_refused(daemons, kind):
    mine = ours(daemons, kind, "status", "okx-a", hash="sha1", timeout="2")
    assert mine.rc == 1
    assert len(mine.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("algorithm", ["none", "sha1", "sha512"])
def test_other_algorithms_interoperate(domains, tmp_path, key_file, algorithm):
    """Multicast listener: it reads hash and auth as configured (the TCP listener stores
    its auth setting into hash and always authenticates with sha256, see the docs)."""
    with MulticastNamespace() as namespace:
        daemon = FenceVirtd(tmp_path, domains.uri, key_file, listener="multicast",
                            netns=namespace, hash=algorithm, auth=algorithm)
        with daemon:
            daemons = {"multicast": daemon, "key": key_file, "netns": namespace}
            extra = {"hash": algorithm, "auth": algorithm}
            assert ours(daemons, "multicast", "status", "okx-a", **extra).rc == 0
            assert ours(daemons, "multicast", "off", "okx-a", **extra).rc == 0
            assert domains.state("okx-a") == "off"
            assert reference(daemons, "multicast", "status", "okx-a", **extra).rc == 2


def test_tcp_listener_auth_setting_lands_in_hash(domains, tmp_path, key_file):
    """fence_virtd's tcp listener bug: auth=X configures hash=X and leaves auth=sha256."""
    daemon = FenceVirtd(tmp_path, domains.uri, key_file, hash="sha256", auth="sha512")
    with daemon:
        daemons = {"tcp": daemon, "key": key_file, "netns": None}
        assert ours(daemons, "tcp", "status", "okx-a", hash="sha512").rc == 0
        refused = ours(daemons, "tcp", "status", "okx-a", auth="sha512", hash="sha512")
        assert refused.rc == 1 and "auth=sha512 does not match" in refused.stderr


def test_fence_virtd_down_tcp(daemons):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    gone = FenceVirtd.__new__(FenceVirtd)
    gone.port = port
    start = time.monotonic()
    mine = ours(daemons, "tcp", "status", "okx-a", daemon=gone)
    assert time.monotonic() - start < 1.5
    assert mine.rc == 1
    assert f"cannot connect to fence_virtd at 127.0.0.1:{port}: Connection refused" \
        in mine.stderr
    assert reference(daemons, "tcp", "status", "okx-a", daemon=gone).rc != 0


def test_fence_virtd_down_multicast(daemons):
    with MulticastNamespace() as empty:  # a namespace where no daemon listens
        start = time.monotonic()
        mine = ours(daemons, "multicast", "status", "okx-a", netns=empty, timeout="2",
                    retrans="5")
        elapsed = time.monotonic() - start
        ref = reference(daemons, "multicast", "status", "okx-a", netns=empty, timeout="2")
    assert mine.rc == 1 and "no answer from fence_virtd" in mine.stderr
    assert 1.9 < elapsed < 3.5
    assert ref.rc != 0


def test_daemon_that_accepts_and_never_answers(daemons):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes connections; nobody ever answers
        mute = FenceVirtd.__new__(FenceVirtd)
        mute.port = silent.getsockname()[1]
        start = time.monotonic()
        mine = ours(daemons, "tcp", "off", "okx-a", daemon=mute, timeout="2")
        elapsed = time.monotonic() - start
    assert mine.rc == 1
    assert "timed out while waiting for its answer to our challenge" in mine.stderr
    assert 1.9 < elapsed < 3.5
    assert daemons["libvirtd"].state("okx-a") == "on"


@pytest.mark.parametrize("which", KINDS)
def test_hung_fence_virtd(daemons, which):
    """A stopped (SIGSTOP) daemon: TCP connects but gets no answer; multicast no callback."""
    daemon = daemons[which]
    daemon.pause()
    try:
        start = time.monotonic()
        mine = ours(daemons, which, "status", "okx-a", timeout="2")
        elapsed = time.monotonic() - start
    finally:
        daemon.resume()
    assert mine.rc == 1 and "timed out" in mine.stderr
    assert len(mine.stderr.strip().splitlines()) == 1
    assert elapsed < 3.5


def test_libvirtd_down_behind_fence_virtd(tmp_path, key_file):
    lv = Libvirtd(tmp_path / "lv", {"okx-z": True}).start()
    # one daemon per client: a daemon serves one request at a time, and this one never ends
    mine_daemon = FenceVirtd(tmp_path / "fv1", lv.uri, key_file).start()
    ref_daemon = FenceVirtd(tmp_path / "fv2", lv.uri, key_file).start()
    try:
        daemons = {"tcp": mine_daemon, "key": key_file, "netns": None}
        assert ours(daemons, "tcp", "status", "okx-z").rc == 0
        lv.stop()
        start = time.monotonic()
        mine = ours(daemons, "tcp", "status", "okx-z", timeout="2")
        elapsed = time.monotonic() - start
        ref = reference(daemons, "tcp", "status", "okx-z", timeout="2", daemon=ref_daemon)
    finally:
        mine_daemon.stop(timeout=1)  # stuck retrying libvirtd: SIGKILL comes sooner
        ref_daemon.stop(timeout=1)
        lv.stop()
    # fence_virtd retries libvirtd every second inside the request: no answer comes.
    assert mine.rc == 1 and "timed out while waiting for the result" in mine.stderr
    assert elapsed < 3.5
    assert ref.rc == 255 and "Unknown response" in ref.stdout + ref.stderr


def test_six_fences_at_once(daemons, kind):
    names = ["okx-a", "okx-c", "okx-d", "okx-e", "okx-f", "okx-g"]
    results = {}

    def run(name):
        results[name] = ours(daemons, kind, "off", name)

    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    assert {n: r.rc for n, r in results.items()} == dict.fromkeys(names, 0), results
    lv = daemons["libvirtd"]
    assert [lv.state(name) for name in names] == ["off"] * 6
    assert elapsed < 5


def test_fence_xvm_collides_with_itself(daemons):
    """Documented difference: fence_xvm takes TCP port 1229 for the daemon's callback, so a
    second client on the host (here a process holding that port for 1 s, as a concurrent
    fence_xvm would) makes it fail to listen and retry 2 s later. Ours does not care."""
    import subprocess

    holder = subprocess.Popen(daemons["netns"].wrap([
        "/usr/bin/python3", "-c",
        "import socket, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind(('', 1229)); s.listen(1); print('ready', flush=True); time.sleep(1)\n"]),
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        mine = ours(daemons, "multicast", "status", "okx-a")
        ref = reference(daemons, "multicast", "status", "okx-a", timeout="5")
    finally:
        holder.wait(10)
    assert mine.rc == 0 and mine.wall < 1.0
    assert "Address already in use" in ref.stdout + ref.stderr
    assert ref.rc == 0 and ref.wall >= 1.9  # succeeded on its retry, 2 s later


def test_monitor_really_reaches_the_hypervisor(tmp_path, key_file):
    """fence_xvm's monitor only checks that the daemon answers; ours lists the domains,
    which needs libvirtd behind the daemon."""
    lv = Libvirtd(tmp_path / "lv", {"okx-z": True}).start()
    daemon = FenceVirtd(tmp_path / "fv", lv.uri, key_file).start()
    try:
        daemons = {"tcp": daemon, "key": key_file, "netns": None}
        assert ours(daemons, "tcp", "monitor").rc == 0
        os.kill(lv.pid, signal.SIGSTOP)
        try:
            # the reference first: ours leaves the (one-request-at-a-time) daemon stuck
            ref = reference(daemons, "tcp", "monitor", timeout="2")
            mine = ours(daemons, "tcp", "monitor", timeout="2")
        finally:
            os.kill(lv.pid, signal.SIGCONT)
    finally:
        daemon.stop(timeout=1)
        lv.stop()
    assert mine.rc == 1 and "timed out" in mine.stderr
    assert ref.rc == 0  # the reference's monitor does not notice
