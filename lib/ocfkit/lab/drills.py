"""The five drills of the seed story, each measured from the client's point of view.

1. move        ``pcs resource move webserver <other>`` (pcs 0.11 drops the constraint
               itself once the move is done; ``pcs resource clear`` makes sure)
2. stop        ``pcs cluster stop <active>``: orderly takeover; then started again
3. cable       pull the active node's cable: fenced through its BMC, survivor takes
               over; cable back, the rebooted node rejoins
4. kill-apache SIGKILL every Apache process on the active node: restarted in place,
               fail count visible
5. qnetd       (two nodes) cut qnetd's cable: both stay quorate; then cut the active
               node's: neither half is quorate, the service stops and nobody fences;
               qnetd back: its half wins ffsplit, fences the other, takes over

Measured for each: ``outage_s`` (fault -> first good page from the node expected to
serve, after which no request failed), ``failed_requests`` (client polling every
100 ms), ``dual_vip`` (two nodes ever held the VIP at the same instant) and
``fence_events`` (``stonith_admin --history``), plus the events of the timeline.
"""

import os
import re
import time

from ocfkit.deadline import Deadline
from ocfkit.lab import bmc, netns, observe, power, story
from ocfkit.lab.topology import LabError
from ocfkit.process import SIGKILL, cmdline

DRILLS = ("move", "stop", "cable", "kill-apache", "qnetd")
TITLES = {
    "move": "pcs resource move webserver <other node>",
    "stop": "pcs cluster stop <active node>",
    "cable": "pull the active node's cable (fencing through IPMI)",
    "kill-apache": "kill Apache on the active node (restart in place)",
    "qnetd": "cut qnetd, then a node: ffsplit quorum",
}

# After a drill has recovered, the client poller and the VIP watch keep observing for
# this long before the result is taken: a failure or a second VIP holder that shows up
# only after recovery must count. A deliberate observation window, not a wait for state.
SETTLE_S = 1.0


def select(spec):
    """Drill names from "all" or a comma-separated list of names or numbers (1-5)."""
    if spec in (None, "", "all"):
        return list(DRILLS)
    chosen = []
    for item in spec.split(","):
        item = item.strip()
        if item.isdigit() and 1 <= int(item) <= len(DRILLS):
            item = DRILLS[int(item) - 1]
        if item not in DRILLS:
            raise LabError(f"unknown drill {item!r}: choose from {', '.join(DRILLS)} or 1-5")
        if item not in chosen:
            chosen.append(item)
    return chosen


class Result:
    def __init__(self, name, agents):
        self.name = name
        self.agents = agents
        self.title = TITLES[name]
        self.ok = False
        self.skipped = None
        self.outage_s = None
        self.failed_requests = 0
        self.requests = 0
        self.longest_gap_s = None
        self.dual_vip = False
        self.dual_vip_observations = []
        self.fence_events = []
        self.checks = {}
        self.notes = []
        self.error = None
        self.t0 = None
        self.t_end = None
        self.events = []  # (mono, node, kind, detail)
        self.from_node = None
        self.to_node = None
        self.fence_s = None
        self.outage_from = None

    def check(self, name, passed, detail=""):
        self.checks[name] = bool(passed)
        if not passed:
            self.notes.append(f"{name}: {detail}" if detail else name)

    def event(self, t, node, kind, detail=""):
        self.events.append((t, node, kind, detail))

    def to_json(self):
        t0 = self.t0 or 0.0
        return {
            "name": self.name, "title": self.title, "agents": self.agents, "ok": self.ok,
            "skipped": self.skipped, "outage_s": _r(self.outage_s),
            "outage_from_s": _r((self.outage_from or t0) - t0),
            "failed_requests": self.failed_requests, "requests": self.requests,
            "longest_gap_s": _r(self.longest_gap_s), "dual_vip": self.dual_vip,
            "dual_vip_observations": [[_r(t - t0), nodes]
                                      for t, nodes in self.dual_vip_observations],
            "fence_events": self.fence_events, "fence_s": _r(self.fence_s),
            "from_node": self.from_node, "to_node": self.to_node,
            "checks": self.checks, "notes": self.notes, "error": self.error,
            "events": [{"t": _r(t - t0), "node": node, "kind": kind, "detail": detail}
                       for t, node, kind, detail in sorted(self.events,
                                                           key=lambda e: e[0])],
        }


def _r(value, digits=2):
    return None if value is None else round(value, digits)


def outage(records, t0, expect_node):
    """(outage_s, failed, total, longest_gap_s) for client records after ``t0``.

    The outage ends with the first good page from ``expect_node`` (a name or a set of
    names) after which no request failed; ``None`` if that never happened.
    """
    expected = {expect_node} if isinstance(expect_node, str) else set(expect_node)
    window = sorted((r for r in records if r["start"] >= t0), key=lambda r: r["start"])
    failed = [r for r in window if not r["ok"]]
    last_fail = max((r["start"] for r in failed), default=None)
    end = None
    for record in sorted(window, key=lambda r: r["end"]):
        if record["ok"] and record["node"] in expected and (
                last_fail is None or record["start"] > last_fail):
            end = record["end"]
            break
    gap, last_ok = 0.0, t0
    for record in sorted(window, key=lambda r: r["end"]):
        if record["ok"]:
            gap = max(gap, record["end"] - last_ok)
            last_ok = record["end"]
    return (None if end is None else end - t0), len(failed), len(window), gap


class Drills:
    """Runs drills against an up lab; owns the client and the VIP watch."""

    def __init__(self, lab, shell, agents, progress):
        self.lab = lab
        self.shell = shell
        self.agents = agents
        self.progress = progress
        self.client = observe.Client(lab)
        self.vips = observe.VipWatch(lab)

    def close(self):
        self.client.stop()
        self.vips.stop()

    # -- helpers ---------------------------------------------------------------------

    def say(self, text):
        self.progress.say("  " + text)

    def run(self, box, argv, **kwargs):
        return self.shell.run(box, argv, **kwargs)

    def live_node(self, exclude=()):
        for node in self.lab.nodes:
            if node.name not in exclude and power.is_on(node):
                return node
        raise LabError("no node is powered on")

    def active(self):
        holder = self.vips.holder()
        if holder is None:
            raise LabError("no single node holds the VIP before the drill")
        return self.lab.node(holder)

    def other(self, node):
        return next(n for n in self.lab.nodes if n.name != node.name)

    def healthy(self, timeout=180.0):
        """All cables in, every node on and online, cluster idle, page served."""
        lab = self.lab
        for box in (*lab.nodes, lab.qnetd):
            if not netns.cable_connected(lab, box):
                netns.set_cable(lab, box, True)
        for node in lab.nodes:
            if not power.is_on(node):
                power.power_on(lab, node)
        try:
            story.wait_online(lab, self.shell, timeout=30)
        except LabError:
            # A node left stopped by an earlier failure: start what is not running.
            self.run(self.live_node(), ["pcs", "cluster", "start", "--all"], timeout=120)
            story.wait_online(lab, self.shell, timeout=timeout)
        story.wait_idle(lab, self.shell)
        if self.client.wait_for(lambda r: r["ok"], 30, t0=time.monotonic()) is None:
            raise LabError("the client does not get the page before the drill")
        via = self.live_node()
        # Each drill's fence history starts empty.
        self.run(via, ["stonith_admin", "--cleanup", "--history", "*"], show=False,
                 check=False)

    def wait_page(self, node, t0, timeout):
        return self.client.wait_for(lambda r: r["ok"] and r["node"] == node.name, timeout,
                                    t0=t0)

    def wait_takeover(self, src, t0, timeout):
        """Wait for a good page from any node but ``src``; that node, or LabError."""
        record = self.client.wait_for(lambda r: r["ok"] and r["node"] != src.name, timeout,
                                      t0=t0)
        if record is None:
            raise LabError(f"no other node served the page within {timeout:.0f}s of the "
                           f"fault on {src.name}")
        return self.lab.node(record["node"])

    def mark(self, result, node, kind, detail=""):
        now = time.monotonic()
        result.event(now, node.name if node else "-", kind, detail)
        return now

    def quorate(self, node):
        out = self.run(node, ["corosync-quorumtool", "-s"], show=False, check=False,
                       timeout=20).stdout
        match = re.search(r"Quorate:\s+(\w+)", out)
        return match is not None and match.group(1) == "Yes"

    def qdevice_voting(self, node):
        """Does ``node`` count the quorum device's vote (its line "0 <votes> Qdevice")?"""
        out = self.run(node, ["corosync-quorumtool", "-s"], show=False, check=False,
                       timeout=20).stdout
        match = re.search(r"^\s*0\s+(\d+)\s+Qdevice", out, re.MULTILINE)
        return bool(match and int(match.group(1)) > 0)

    def apache_pids(self, node):
        """Apache processes living in ``node``'s PID namespace (host PIDs)."""
        init = power.init_pid(node)
        if init is None:
            return []
        target = os.readlink(f"/proc/{init}/ns/pid")
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") != target:
                    continue
            except OSError:
                continue
            argv = cmdline(int(entry))
            if argv and os.path.basename(argv[0]) in ("apache2", "httpd"):
                found.append(int(entry))
        return found

    def rejoin(self, result, node, timeout=120.0):
        """Wait until ``node`` is back in the cluster; records the check."""
        begin = time.monotonic()
        try:
            story.wait_online(self.lab, self.shell, timeout=timeout)
            self.mark(result, node, "rejoin")
            result.check("rejoined", True)
            self.say(f"{node.name} rejoined after {time.monotonic() - begin:.1f}s")
        except LabError as exc:
            result.check("rejoined", False, str(exc))

    def finish(self, result, expect, collect_from, outage_from=None):
        """Compute the client figures, VIP overlaps, fence events and the timeline.

        The outage is measured from ``outage_from`` (default: the drill's fault).
        """
        t0 = result.t0
        start = t0 if outage_from is None else outage_from
        result.outage_from = start
        result.t_end = time.monotonic()
        result.outage_s, _failed, _total, result.longest_gap_s = \
            outage(self.client.since(start), start, expect.name)
        _o, result.failed_requests, result.requests, _g = \
            outage(self.client.since(t0), t0, expect.name)
        if result.outage_s is not None:
            result.event(start + result.outage_s, expect.name, "first good response")
        result.dual_vip_observations = self.vips.dual_since(t0)
        result.dual_vip = bool(result.dual_vip_observations)
        for t, name, what in self.vips.events_since(t0):
            result.event(t, name, f"VIP {what}")
        for node in self.lab.nodes:
            for entry in bmc.journal(self.lab, node):
                if entry.get("mono", 0) >= t0:
                    result.event(entry["mono"], node.name, f"BMC power {entry['action']}",
                                 entry.get("result", ""))
            for mono, about, kind, detail in observe.pacemaker_events(self.lab, node, t0 - 1):
                # Resource lines are logged where they ran; fence lines by many nodes.
                if kind.startswith(("vip", "webserver")) and about != node.name:
                    continue
                if kind.startswith("fence") and any(
                        e[1] == about and e[2] == kind and abs(e[0] - mono) < 2
                        for e in result.events):
                    continue
                result.event(mono, about, kind, detail)
        try:
            history = observe.fence_history(self.lab, collect_from)
        except Exception as exc:  # noqa: BLE001 - a missing history must not lose the drill
            history = []
            result.notes.append(f"fence history unavailable: {exc}")
        result.fence_events = [
            {"target": e["target"], "action": e["action"], "status": e["status"],
             "delegate": e["delegate"], "completed": e["completed_text"]}
            for e in history]
        result.check("no dual VIP", not result.dual_vip,
                     f"{len(result.dual_vip_observations)} moments with two holders")
        result.check("served again", result.outage_s is not None,
                     f"{expect.name} never served the page without failures after")
        result.ok = all(result.checks.values()) and result.error is None

    # -- the drills ----------------------------------------------------------------

    def run_drill(self, name):
        result = Result(name, self.agents.name)
        if name == "qnetd" and self.lab.node_count != 2:
            result.skipped = "the qnetd drill is for a two-node cluster"
            result.ok = True
            return result
        self.progress.say(f"drill {name}: {TITLES[name]}")
        try:
            self.healthy()
            getattr(self, "drill_" + name.replace("-", "_"))(result)
        except LabError as exc:
            result.error = str(exc)
            self.say(f"drill {name} failed: {exc}")
            if result.t0 is not None and result.t_end is None:
                # Still record what the client, the VIP watch and the fencer saw.
                try:
                    expect = self.lab.node(result.to_node or result.from_node)
                    self.finish(result, expect, self.live_node())
                except LabError as detail:
                    result.notes.append(f"no measurements: {detail}")
            result.ok = False
        verdict = "ok" if result.ok else "FAILED"
        outage_text = "-" if result.outage_s is None else f"{result.outage_s:.2f}s"
        self.say(f"drill {name}: {verdict}, outage {outage_text}, "
                 f"{result.failed_requests} failed requests, dual VIP "
                 f"{'YES' if result.dual_vip else 'no'}, "
                 f"{len(result.fence_events)} fence events"
                 + (f" ({'; '.join(result.notes)})" if result.notes else ""))
        return result

    def drill_move(self, result):
        src = self.active()
        dst = self.other(src)
        result.from_node, result.to_node = src.name, dst.name
        result.t0 = self.mark(result, src, "fault", "pcs resource move")
        self.run(src, ["pcs", "resource", "move", "webserver", dst.name, "--wait=120"],
                 timeout=150)
        if self.wait_page(dst, result.t0, 60) is None:
            raise LabError(f"{dst.name} never served the page after the move")
        self.run(src, ["pcs", "resource", "clear", "webserver"], check=False)
        constraints = self.run(src, ["cibadmin", "--query", "--scope", "constraints"],
                               show=False).stdout
        result.check("move constraint cleared", "cli-prefer" not in constraints
                     and "cli-ban" not in constraints, "a cli-* constraint is left")
        time.sleep(SETTLE_S)
        self.finish(result, dst, dst)
        result.check("no fencing", not result.fence_events,
                     f"{len(result.fence_events)} fence events")
        result.ok = all(result.checks.values())

    def drill_stop(self, result):
        src = self.active()
        admin = self.other(src)
        result.from_node = src.name
        result.t0 = self.mark(result, src, "fault", "pcs cluster stop")
        self.run(admin, ["pcs", "cluster", "stop", src.name], timeout=300)
        self.mark(result, src, "stop", "cluster stack stopped")
        dst = self.wait_takeover(src, result.t0, 60)
        result.to_node = dst.name
        self.run(admin, ["pcs", "cluster", "start", src.name], timeout=120)
        self.mark(result, src, "start", "pcs cluster start")
        self.rejoin(result, src)
        story.wait_idle(self.lab, self.shell)
        self.finish(result, dst, dst)
        result.check("no fencing", not result.fence_events,
                     f"{len(result.fence_events)} fence events")
        result.ok = all(result.checks.values())

    def drill_cable(self, result):
        lab = self.lab
        src = self.active()
        result.from_node = src.name
        result.t0 = self.mark(result, src, "fault", "cable pulled")
        netns.set_cable(lab, src, False)
        dst = self.wait_takeover(src, result.t0, 120)
        result.to_node = dst.name
        took = time.monotonic() - result.t0
        self.say(f"{dst.name} serves after {took:.1f}s")
        offs = [e for e in bmc.journal(lab, src)
                if e["mono"] >= result.t0 and e["action"] == "off" and e["was_on"]]
        result.check("BMC journal shows the power-off", offs, "no power-off in the journal")
        # The rebooted node comes back (after its boot delay); then the cable returns.
        Deadline(60).poll(lambda: power.is_on(src), interval=0.2)
        netns.set_cable(lab, src, True)
        self.mark(result, src, "cable back")
        self.rejoin(result, src)
        story.wait_idle(lab, self.shell)
        self.finish(result, dst, dst)
        self._fence_checks(result, src, lab)
        result.ok = all(result.checks.values())

    def _fence_checks(self, result, victim, lab):
        fenced = [e for e in result.fence_events if e["target"] == victim.name
                  and e["status"] == "success"]
        result.check("fenced once", len(fenced) == 1,
                     f"{len(fenced)} successful fence events against {victim.name}")
        others = [e for e in result.fence_events if e["target"] != victim.name]
        result.check("nobody else fenced", not others,
                     f"also fenced: {', '.join(str(e['target']) for e in others)}")
        # Fence time: from the controller's request to the fencer's result (the logs).
        requested = [t for t, node, kind, _d in result.events
                     if kind == "fence requested" and node == victim.name]
        done = [t for t, node, kind, _d in result.events
                if kind == "fence result" and node == victim.name]
        if requested and done:
            result.fence_s = min(done) - min(requested)
        log = power.local_path(victim, "/var/log/pacemaker/pacemaker.log")
        result.check("no 'allegedly just fenced'",
                     not _log_has(log, "allegedly just fenced", result.t0),
                     f"{victim.name} shut itself down after rejoining (trap 1)")

    def drill_kill_apache(self, result):
        src = self.active()
        result.from_node = result.to_node = src.name
        # Strike right after a monitor has fetched the status page (it shows in Apache's
        # access log), so every run waits the same full interval for the next monitor:
        # runs and agent sets stay comparable instead of depending on the moment.
        self.after_monitor(src)
        pids = self.apache_pids(src)
        if not pids:
            raise LabError(f"no Apache process found on {src.name}")
        result.t0 = self.mark(result, src, "fault", f"SIGKILL to {len(pids)} apache2")
        for pid in pids:
            try:
                os.kill(pid, SIGKILL)
            except ProcessLookupError:
                pass
        # Detected by the next monitor (interval 10s), then stop + start in place.
        deadline = Deadline(90)
        recovered = deadline.poll(lambda: self._recovered(result.t0, src), interval=0.2,
                                  max_interval=0.5)
        if not recovered:
            raise LabError(f"Apache was not restarted on {src.name} within 90s")
        out = self.run(src, ["crm_failcount", "--query", "-r", "webserver", "-N", src.name],
                       show_output=True).stdout
        match = re.search(r"value=(\d+|INFINITY)", out)
        failcount = match.group(1) if match else "0"
        result.check("fail count visible", failcount not in ("0", ""),
                     f"fail-count-webserver on {src.name} is {failcount}")
        self.run(src, ["pcs", "resource", "failcount", "show", "webserver"], show_output=True,
                 check=False)
        time.sleep(SETTLE_S)
        self.finish(result, src, src)
        result.check("restarted in place", self.vips.holder() == src.name,
                     f"VIP now on {self.vips.holder()}")
        result.check("no fencing", not result.fence_events,
                     f"{len(result.fence_events)} fence events")
        self.run(src, ["pcs", "resource", "cleanup", "webserver"], show=True, check=False)
        result.ok = all(result.checks.values())

    def after_monitor(self, node, timeout=30.0):
        log = power.local_path(node, "/var/log/apache2/access.log")

        def size():
            try:
                return os.path.getsize(log)
            except OSError:
                return 0

        def status_line_since(offset):
            try:
                with open(log, "rb") as handle:
                    handle.seek(offset)
                    return b"server-status" in handle.read()
            except OSError:
                return False

        start = size()
        if not Deadline(timeout).poll(lambda: status_line_since(start), interval=0.02,
                                      max_interval=0.05):
            self.say(f"no monitor request seen in {node.name}'s access log: striking anyway")

    def _recovered(self, t0, node):
        records = self.client.since(t0)
        failed = [r for r in records if not r["ok"]]
        if not failed:
            return False
        last = max(r["start"] for r in failed)
        return any(r["ok"] and r["node"] == node.name and r["start"] > last for r in records)

    def drill_qnetd(self, result):
        lab = self.lab
        src = self.active()
        dst = self.other(src)
        result.from_node, result.to_node = src.name, dst.name
        # Phase a: the arbiter's cable.
        result.t0 = self.mark(result, lab.qnetd, "fault", "qnetd cable pulled")
        netns.set_cable(lab, lab.qnetd, False)
        lost = Deadline(60).poll(lambda: not any(self.qdevice_voting(n) for n in lab.nodes),
                                 interval=0.5, max_interval=1.0)
        self.mark(result, lab.qnetd, "qdevice vote lost" if lost else "qdevice still voting")
        both = all(self.quorate(n) for n in lab.nodes)
        result.check("quorate without qnetd", both, "a node lost quorum without qnetd")
        failed_a = [r for r in self.client.since(result.t0) if not r["ok"]]
        result.check("no failure without qnetd", not failed_a,
                     f"{len(failed_a)} failed requests while only qnetd was cut")
        self.say(f"qnetd cut: both nodes quorate={both}, qdevice vote lost={bool(lost)}")
        # Phase b: the active node's cable too.
        t_b = self.mark(result, src, "fault", "cable pulled (qnetd still cut)")
        netns.set_cable(lab, src, False)
        inquorate = Deadline(60).poll(lambda: not self.quorate(src) and not self.quorate(dst),
                                      interval=0.5, max_interval=1.0)
        self.mark(result, src, "both halves inquorate" if inquorate else "still quorate")
        result.check("both halves inquorate", inquorate, "a half kept quorum")
        released = Deadline(60).poll(lambda: self.vips.holder() is None and
                                     lab.vip not in netns.addresses(src.netns), interval=0.2)
        result.check("service stopped without quorum", released,
                     f"VIP still held by {self.vips.holder()}")
        offs_b = [e for e in bmc.journal(lab, src) if e["mono"] >= t_b]
        result.check("nobody fenced without quorum", not offs_b,
                     "a BMC was used while no half had quorum")
        self.say(f"{src.name} cut too: both inquorate={bool(inquorate)}, service "
                 f"stopped={bool(released)}")
        # Phase c: the arbiter comes back; its half wins.
        self.mark(result, lab.qnetd, "qnetd cable back")
        netns.set_cable(lab, lab.qnetd, True)
        if self.wait_page(dst, t_b, 120) is None:
            raise LabError(f"{dst.name} never served the page after qnetd returned")
        Deadline(60).poll(lambda: power.is_on(src), interval=0.2)
        netns.set_cable(lab, src, True)
        self.mark(result, src, "cable back")
        self.rejoin(result, src)
        story.wait_idle(lab, self.shell)
        # The outage is counted from the node's cable pull (phase a is not an outage).
        self.finish(result, dst, dst, outage_from=t_b)
        self._fence_checks(result, src, lab)
        result.ok = all(result.checks.values())


def _log_has(path, needle, since_mono):
    """Does ``path`` (a pacemaker.log) contain ``needle`` in a line logged after ``since``?"""
    from datetime import datetime

    year = time.localtime().tm_year
    try:
        with open(path, errors="replace") as handle:
            for line in handle:
                if needle not in line:
                    continue
                try:
                    stamp = datetime.strptime(f"{year} {line[:19]}", "%Y %b %d %H:%M:%S.%f")
                except ValueError:
                    return True
                if observe.mono_of_wall(stamp.timestamp()) >= since_mono:
                    return True
    except OSError:
        return False
    return False
