"""The lab for real: namespaces, BMCs, Pacemaker/Corosync/pcs/qnetd (root, minutes).

- bad input and faults: not root, a namespace name taken, a half-built lab;
- the power hook: IPMI "power off" kills the node's PID namespace and takes its
  addresses (lab-notes trap 3), "power on" boots it with the delay of trap 1;
- the 2-node story plus the cable-pull drill with ocfkit's agents and the reference
  agents in one run, the lab left up (--keep) then torn down without a trace.
"""

import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from fixtures.lab import lab_cli, lab_traces
from ocfkit.lab import agents as agent_sets
from ocfkit.lab import bmc, lifecycle, netns, power
from ocfkit.lab.progress import Progress
from ocfkit.lab.topology import Lab

pytestmark = [pytest.mark.netns]


def test_refused_without_root(lab_name):
    result = lab_cli("up", "--name", lab_name, user="65534")
    assert result.returncode == 1
    assert "needs root" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(lab_traces(lab_name).values())


def test_a_taken_namespace_name_is_refused_untouched(lab_name):
    taken = f"{lab_name}-sw"
    subprocess.run(["ip", "netns", "add", taken], check=True)
    try:
        result = lab_cli("up", "--name", lab_name, "--agents", "reference")
        assert result.returncode == 1
        assert f"netns {taken}" in result.stderr and "ocfkit lab down" in result.stderr
        assert "Traceback" not in result.stderr
        traces = lab_traces(lab_name)
        assert traces["namespaces"] == [taken]  # nothing built, ours left alone
        assert not traces["processes"] and not traces["files"]
    finally:
        subprocess.run(["ip", "netns", "del", taken], check=False)


def ipmitool(lab, from_node, target, *command):
    """ipmitool run on ``from_node`` against ``target``'s BMC (password via -E)."""
    argv = ["ipmitool", "-I", "lanplus", "-C", "3", "-H", target.bmc_ip, "-U", "admin",
            "-E", "chassis", "power", *command]
    return subprocess.run(power.enter_argv(from_node, argv), capture_output=True, text=True,
                          timeout=60, env={**power.ENV, "IPMI_PASSWORD": lifecycle.read_secret(
                              lab, "bmc")})


@pytest.mark.slow
def test_bmc_power_hook_and_half_built_cleanup(lab_name):
    lab = Lab(lab_name, 2)
    with lifecycle.locked(lab.name):
        lifecycle.build(lab, Progress(quiet=True), agent_sets.agent_set("reference"))
    n1, n2 = lab.nodes
    assert power.is_on(n1) and power.is_on(n2)
    assert netns.addresses(n2.netns, "eth0")[:1] == [n2.public_ip]

    # Trap 5: a file bind-mounted into a running box, rewritten in place, is seen.
    power.write_in_place(power.local_path(n1, "/etc/hosts"), lab.hosts_file() + "# v2\n")
    assert "# v2" in power.box_run(n1, ["cat", "/etc/hosts"]).stdout

    # Trap 3: a "VIP" on n2, then IPMI power off from n1 through n2's BMC.
    netns.ip("addr", "add", f"{lab.vip}/24", "dev", "eth0", netns=n2.netns)
    init = power.init_pid(n2)
    pid_ns = os.readlink(f"/proc/{init}/ns/pid")
    assert "Chassis Power is on" in ipmitool(lab, n1, n2, "status").stdout
    off = ipmitool(lab, n1, n2, "off")
    assert off.returncode == 0, off.stderr
    assert not power.is_on(n2)
    assert [a for a in netns.addresses(n2.netns) if a not in ("127.0.0.1", "::1")] == []
    survivors = [p for p in os.listdir("/proc") if p.isdigit()
                 and _pid_ns(p) == pid_ns]
    assert survivors == []
    assert "Chassis Power is off" in ipmitool(lab, n1, n2, "status").stdout
    journal = bmc.journal(lab, n2)
    assert [(e["action"], e["was_on"]) for e in journal] == [("off", True)]

    # Power on: the node is back at once, its units wait for the boot delay (trap 1).
    assert ipmitool(lab, n1, n2, "on").returncode == 0
    assert power.is_on(n2)
    assert n2.public_ip in netns.addresses(n2.netns, "eth0")
    with open(f"{n2.dir}/console.log") as handle:
        console = handle.read()
    assert f"starting enabled units in {lifecycle.boot_delay(lab):.1f}s" in console

    # The "crash": the lab stays half-built (no story). up refuses, down cleans.
    result = lab_cli("up", "--name", lab_name, "--agents", "reference")
    assert result.returncode == 1 and "run 'ocfkit lab down'" in result.stderr
    status = lab_cli("status", "--name", lab_name)
    assert status.returncode == 0 and "building" in status.stdout
    result = lab_cli("down", "--name", lab_name)
    assert result.returncode == 0, result.stderr
    assert not any(lab_traces(lab_name).values()), lab_traces(lab_name)
    again = lab_cli("down", "--name", lab_name)
    assert again.returncode == 0 and "nothing to tear down" in again.stdout


def _pid_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


@pytest.mark.slow
@pytest.mark.cluster
def test_story_and_cable_pull_with_both_agent_sets(lab_name, tmp_path):
    out = tmp_path / "report"
    result = lab_cli("demo", "--name", lab_name, "--agents", "both", "--drills", "cable",
                     "--report", str(out), "--keep", timeout=1500)
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    story = result.stdout
    for typed in ("pcs host auth n1 n2 qnetd -u hacluster", "pcs cluster setup",
                  "pcs qdevice setup model net --enable --start",
                  "pcs stonith create fence-n1 fence_ocfkit_ipmi",
                  "pcs quorum device add", "algorithm=ffsplit",
                  "pcs resource create vip ocf:ocfkit:VirtualIP",
                  "pcs resource create webserver ocf:ocfkit:Apache",
                  "pcs constraint colocation add webserver with vip INFINITY",
                  "pcs constraint order vip then webserver",
                  "pcs resource create vip ocf:heartbeat:IPaddr2",
                  "corosync-quorumtool -s", "corosync-cfgtool -s"):
        assert typed in story, typed
    assert "Qdevice" in story and "Online: [ n1 n2 ]" in story

    report = json.loads((out / "report.json").read_text())
    run = report["run"]
    assert run["nodes"] == 2 and run["agent_sets"] == ["ocfkit", "reference"]
    assert run["bringup_s"] > 0 and run["corosync"]["token_ms"] == 3000
    assert [d["agents"] for d in report["drills"]] == ["ocfkit", "reference"]
    for drill in report["drills"]:
        assert drill["name"] == "cable" and drill["ok"], drill
        assert drill["dual_vip"] is False
        assert drill["outage_s"] is not None and drill["failed_requests"] > 0
        assert [(e["target"], e["action"], e["status"]) for e in drill["fence_events"]] == \
            [(drill["from_node"], "reboot", "success")]
        assert any(e["kind"] == "BMC power off" and e["node"] == drill["from_node"]
                   for e in drill["events"])
        # The survivor answered before the rebooted node's cluster could be back.
        assert drill["outage_s"] < 30
    svg = ET.parse(out / "timeline.svg").getroot()
    assert svg.tag.endswith("svg")
    for box in ("n1", "n2", "qnetd"):
        assert (out / "logs" / box / "var_log_pacemaker_pacemaker.log").exists() or \
            box == "qnetd"
        assert (out / "logs" / box / "var_log_okl-systemctl.log").exists()

    # --keep: the lab is up and says how to enter a node. up again: nothing to do; up
    # with other settings: refused.
    assert "ocfkit lab shell n1" in story
    assert lab_cli("shell", "--name", lab_name, "n1", "hostname").stdout.strip() == "n1"
    again = lab_cli("up", "--name", lab_name, "--agents", "reference")  # the last set
    assert again.returncode == 0 and "already up" in again.stdout
    other = lab_cli("up", "--name", lab_name, "--nodes", "3")
    assert other.returncode == 1 and "already up with 2 nodes" in other.stderr
    status = lab_cli("status", "--name", lab_name)
    assert "Online: [ n1 n2 ]" in status.stdout and "reference agents" in status.stdout
    assert "(ocf:heartbeat:IPaddr2)" in status.stdout
    down = lab_cli("down", "--name", lab_name)
    assert down.returncode == 0, down.stderr
    assert not any(lab_traces(lab_name).values()), lab_traces(lab_name)
