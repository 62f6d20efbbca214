"""The lab's pure parts: layout, measurements, report, shim bookkeeping (no root)."""

import ipaddress
import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ocfkit.lab import drills, lifecycle, power, report, systemctl, timeline
from ocfkit.lab.topology import MAX_NODES, Lab, LabError

ALLOWED = [ipaddress.ip_network(n) for n in ("198.51.100.0/24", "203.0.113.0/24",
                                              "2001:db8::/32")]


@pytest.mark.parametrize("nodes", range(2, MAX_NODES + 1))
def test_every_address_is_in_a_documentation_range(nodes):
    lab = Lab("okltest", nodes)
    seen = set()
    for box in lab.boxes:
        for _dev, _port, _bridge, addrs in box.interfaces():
            for addr in addrs:
                interface = ipaddress.ip_interface(addr)
                assert any(interface.ip in net for net in ALLOWED), addr
                assert interface.ip not in seen, f"{addr} used twice"
                seen.add(interface.ip)
    assert ipaddress.ip_address(lab.vip) not in seen
    assert any(ipaddress.ip_address(lab.vip) in net for net in ALLOWED)
    assert all(ns.startswith("okltest-") for ns in lab.netns_names)
    # Interface names exist only inside namespaces but must still fit IFNAMSIZ.
    assert all(len(port) <= 15 for box in lab.boxes for _d, port, _b, _a in box.interfaces())


@pytest.mark.parametrize("name", ["", "lab", "okl-1", "OKL", "okl1234567", "okl/x"])
def test_bad_lab_names_are_refused(name):
    with pytest.raises(LabError, match="not valid"):
        Lab(name)


@pytest.mark.parametrize("nodes", [0, 1, MAX_NODES + 1])
def test_node_count_is_bounded(nodes):
    with pytest.raises(LabError, match="--nodes"):
        Lab("okl", nodes)


def test_hosts_file_resolves_every_box_including_qnetd():
    # lab-notes trap 6: the qdevice host name must resolve on the nodes.
    text = Lab("okl", 3).hosts_file()
    for name, address in (("n1", "198.51.100.11"), ("n3", "198.51.100.13"),
                          ("qnetd", "198.51.100.2")):
        assert f"{address} {name}\n" in text


@pytest.mark.parametrize("nodes", [2, 5])
@pytest.mark.parametrize("token", [1000, 3000])
def test_boot_delay_outlasts_token_and_consensus(nodes, token):
    # lab-notes trap 1: a fenced node must not be back before the survivors noticed.
    lab = Lab("okl", nodes, token_ms=token)
    assert lab.runtime_token_ms == token + 650 * (nodes - 2)
    assert lifecycle.boot_delay(lab) > lab.runtime_token_ms * 2.2 / 1000


@pytest.mark.parametrize("token", [0, 499, 10001, "3000"])
def test_token_is_bounded(token):
    with pytest.raises(LabError, match="--token"):
        Lab("okl", 2, token_ms=token)


def rec(start, ok, node=None, end=None):
    return {"start": start, "end": start + 0.01 if end is None else end, "ok": ok,
            "node": node, "error": None if ok else "timeout"}


def test_outage_ends_with_the_new_node_serving_for_good():
    records = [rec(0.0, True, "n1"), rec(0.1, True, "n1"), rec(0.2, False),
               rec(0.3, False), rec(0.4, True, "n2"), rec(0.5, False, end=1.5),
               rec(0.6, True, "n2"), rec(0.7, True, "n2")]
    outage_s, failed, total, gap = drills.outage(records, 0.0, "n2")
    assert outage_s == pytest.approx(0.61)
    assert (failed, total) == (3, 8)
    assert gap == pytest.approx(0.3, abs=0.01)  # 0.11 -> 0.41: longest time without a page


def test_outage_is_none_when_the_expected_node_never_serves():
    records = [rec(0.0, False), rec(0.1, True, "n1")]
    assert drills.outage(records, 0.0, "n2")[0] is None


def test_outage_ignores_requests_before_the_fault():
    records = [rec(-1.0, False), rec(0.1, True, "n1")]
    assert drills.outage(records, 0.0, "n1")[:2] == (pytest.approx(0.11), 0)


def test_drill_selection():
    assert drills.select("all") == list(drills.DRILLS)
    assert drills.select("3,move,3") == ["cable", "move"]
    with pytest.raises(LabError, match="unknown drill"):
        drills.select("cable,9")


def sample_drill(name="cable", agents="ocfkit", outage=9.4, fence=1.2):
    result = drills.Result(name, agents)
    result.t0 = 100.0
    result.ok = True
    result.outage_s = outage
    result.fence_s = fence
    result.failed_requests, result.requests = 80, 200
    result.fence_events = [{"target": "n1", "action": "reboot", "status": "success",
                            "delegate": "n2", "completed": "2026-01-01 00:00:00Z"}]
    result.event(100.0, "n1", "fault", "cable pulled")
    result.event(107.3, "n1", "fence requested", "reboot")
    result.event(108.5, "n1", "BMC power off", "done")
    result.event(109.2, "n2", "VIP up")
    result.event(109.4, "n2", "first good response")
    return result.to_json()


def test_report_json_table_and_targets(tmp_path):
    run = {"nodes": 2, "agent_sets": ["ocfkit", "reference"], "bringup_s": 41.0,
           "corosync": {"token_ms": 3000, "consensus_ms": 3600}}
    results = [sample_drill(), sample_drill(agents="reference", outage=13.1, fence=5.1)]
    data = report.write(str(tmp_path), run, results, "test")
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved == json.loads(json.dumps(data))
    drill = saved["drills"][0]
    for key in ("name", "ok", "outage_s", "failed_requests", "dual_vip", "fence_events"):
        assert key in drill
    targets = {t["target"]: t for t in saved["targets"]}
    assert targets["cable: outage with ocfkit <= 1.0 x reference"]["met"] is True
    bound = targets["cable (ocfkit): outage <= token + fence time + 3 s"]
    assert bound["bound"] == pytest.approx(3 + 1.2 + 3)
    assert bound["met"] is False and "consensus" in bound["note"]
    text = report.table(saved)
    assert "cable" in text and "9.40" in text and "13.10" in text


def test_timeline_is_valid_svg_with_every_event():
    svg = timeline.render([sample_drill()], "t <&> t")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    titles = [el.text for el in root.iter("{http://www.w3.org/2000/svg}title")]
    for kind in ("fault", "fence requested", "BMC power off", "VIP up",
                 "first good response"):
        assert any(kind in (t or "") for t in titles), kind


def test_report_dir_must_be_new(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(LabError, match="not empty"):
        report.prepare_dir(str(tmp_path))
    assert report.prepare_dir(str(tmp_path / "new")) == str(tmp_path / "new")


def test_write_in_place_keeps_the_inode(tmp_path):
    # lab-notes trap 5: a file bind-mounted into a box must keep its inode.
    path = tmp_path / "hosts"
    path.write_text("old contents that are longer\n")
    inode = os.stat(path).st_ino
    power.write_in_place(str(path), "new\n")
    assert os.stat(path).st_ino == inode
    assert path.read_text() == "new\n"


def test_shadow_copy_changes_only_hacluster(tmp_path):
    source = tmp_path / "shadow"
    source.write_text("root:*:1::::::\nhacluster:!:19000:0:99999:7:::\n")
    text = power.shadow_with_password("hacluster", "$6$salt$hash", str(source))
    assert text == "root:*:1::::::\nhacluster:$6$salt$hash:19000:0:99999:7:::\n"


def test_envfile_parsing(tmp_path):
    path = tmp_path / "env"
    path.write_text('# comment\nA=1\nB="two words"\n\nC=\'x\'\nnot a line\n')
    assert systemctl.read_envfile(str(path)) == {"A": "1", "B": "two words", "C": "x"}
    assert systemctl.read_envfile(str(tmp_path / "missing")) == {}


def test_shim_trusts_a_pid_only_with_its_start_time(tmp_path, monkeypatch):
    # lab-notes trap 4: PIDs wrap; a PID file naming a live but different process
    # (another start time) must not make the unit look active, or get signalled.
    monkeypatch.setattr(systemctl, "PID_DIR", str(tmp_path))
    unit = systemctl.Unit("demo", ["/bin/sleep"])
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = systemctl.start_time(child.pid)
        (tmp_path / "demo.pid").write_text(f"{child.pid} {started}\n")
        assert unit.pid() == child.pid
        (tmp_path / "demo.pid").write_text(f"{child.pid} {started - 1}\n")
        assert unit.pid() is None
    finally:
        child.kill()
        child.wait()
    (tmp_path / "demo.pid").write_text(f"{child.pid} {started}\n")
    assert unit.pid() is None


def test_box_power_record_is_checked_against_the_command_line(tmp_path):
    # Same trap for a box's PID 1: a recycled PID is "off", never signalled.
    lab = Lab("okltest", 2, root=str(tmp_path))
    node = lab.nodes[0]
    os.makedirs(node.dir)
    with open(f"{node.dir}/power.json", "w") as handle:
        json.dump({"init": os.getpid(), "unshare": os.getpid()}, handle)
    assert power.init_pid(node) is None
    assert power.is_on(node) is False


class _Page(BaseHTTPRequestHandler):
    served = "n7"

    def do_GET(self):
        body = f"<html><p>served by {self.served}</p></html>".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_poller_counts_pages_and_failures_on_loopback():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    code = ("import sys; from ocfkit.lab import poller; "
            f"poller.poll('127.0.0.1', port={port}, interval=0.05, timeout=0.5, duration=0.5)")
    try:
        start = time.monotonic()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=20).stdout
    finally:
        server.shutdown()
        server.server_close()
    records = [json.loads(line) for line in out.splitlines()]
    assert 8 <= len(records) <= 11
    assert all(r["ok"] and r["node"] == "n7" for r in records)
    assert all(r["start"] >= start - 0.01 for r in records)
    # Nothing listens on the port any more: every request fails, none hangs.
    code = code.replace("duration=0.5", "duration=0.3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=20).stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert records and not any(r["ok"] for r in records)
    assert {r["error"] for r in records} == {"ECONNREFUSED"}


def test_missing_packages_are_named_with_the_fix(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(lifecycle, "_which",
                        lambda name: None if name in ("pcs", "ipmi_sim") else "/bin/true")
    with pytest.raises(LabError) as info:
        lifecycle.preflight(Lab("okltest"))
    message = str(info.value)
    assert "missing packages: openipmi pcs" in message
    assert "scripts/install-deps" in message


def test_not_root_is_refused_before_anything(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="needs root"):
        lifecycle.preflight(Lab("okltest"))


def test_unknown_agent_set_is_refused():
    from ocfkit.lab import agents

    with pytest.raises(LabError, match="--agents"):
        agents.agent_set("mine")


def test_cli_without_root_says_so_in_one_line(monkeypatch, capsys):
    from ocfkit.lab import cli

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cli.main(["down"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs root" in err


PACEMAKER_LOG = (  # (time, daemon, function, message) as pacemaker 2.1 logs them
    ("12:00:01.100", "pacemaker-controld", "log_executor_event",
     "Result of monitor operation for webserver on n2: ok | CIB update 3"),
    ("12:00:02.200", "pacemaker-controld", "log_executor_event",
     "Result of monitor operation for vip on n2: not running | CIB update 4"),
    ("12:00:03.300", "pacemaker-controld", "controld_execute_fence_action",
     "Requesting fencing (reboot) of node n1 | action=1 timeout=60000"),
    ("12:00:04.400", "pacemaker-fenced", "finalize_op",
     "Operation 'reboot' targeting n1 by n2 for pacemaker-controld.9@n2: OK (complete) | id=7"),
    ("12:00:04.500", "pacemaker-controld", "do_lrm_rsc_op",
     "Requesting local execution of start operation for vip on n2 | transition_key=9"),
    ("12:00:04.600", "pacemaker-controld", "log_executor_event",
     "Result of start operation for vip on n2: ok | CIB update 51"),
    ("12:00:04.700", "pacemaker-controld", "log_executor_event",
     "Result of start operation for fence-n1 on n2: ok | CIB update 52"),
)


def test_pacemaker_log_events(tmp_path):
    from ocfkit.lab import observe

    lab = Lab("okltest", 2, root=str(tmp_path))
    node = lab.nodes[1]
    log = power.local_path(node, "/var/log/pacemaker/pacemaker.log")
    os.makedirs(os.path.dirname(log))
    with open(log, "w") as handle:
        day = time.strftime("%b %d")
        for stamp, daemon, function, message in PACEMAKER_LOG:
            handle.write(f"{day} {stamp} n2 {daemon:19} [9] ({function}) \tnotice: {message}\n")
    events = observe.pacemaker_events(lab, node, 0.0)
    assert [(about, kind, detail) for _t, about, kind, detail in events] == [
        ("n2", "vip monitor", "not running"),
        ("n1", "fence requested", "reboot"),
        ("n1", "fence result", "reboot by n2: OK (complete)"),
        ("n2", "vip start requested", ""),
        ("n2", "vip start", "ok"),
    ]
    times = [t for t, *_ in events]
    assert times == sorted(times)
    assert times[2] - times[1] == pytest.approx(1.1, abs=0.001)
