"""What the drills measure: the client's view, who holds the VIP, fencing, node logs.

- ``Client``: the poller (``ocfkit.lab.poller``) running in the client namespace;
- ``VipWatch``: ``ip -o monitor address`` in every node's namespace, so every moment a
  node holds the VIP is known to the millisecond, and any overlap (two holders) is seen;
- ``fence_history``: ``stonith_admin --history`` as XML;
- ``pacemaker_events``: resource start/stop results from the nodes' pacemaker.log.
All times are CLOCK_MONOTONIC; wall-clock log stamps are converted with one offset.
"""

import json
import re
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime

from ocfkit.lab import netns, power
from ocfkit.lab.power import PYTHON

# Offset from the wall clock to CLOCK_MONOTONIC, taken once.
WALL_TO_MONO = time.monotonic() - time.time()


def mono_of_wall(wall):
    return wall + WALL_TO_MONO


class Client:
    """The polling client; ``records`` grows while it runs."""

    def __init__(self, lab, interval=0.1, timeout=1.0):
        self.lab = lab
        self.records = []
        self._lock = threading.Lock()
        argv = ["nsenter", f"--net={netns.NETNS_DIR}/{lab.client.netns}", "--",
                PYTHON, "-I", "-m", "ocfkit.lab.poller", lab.vip, str(interval), str(timeout)]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL, text=True, env=power.ENV)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                self.records.append(record)

    def since(self, t0):
        with self._lock:
            return [r for r in self.records if r["start"] >= t0]

    def wait_for(self, predicate, timeout, t0=None):
        """Wait until a record (started after ``t0``) satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            with self._lock:
                fresh = self.records[seen:]
                seen = len(self.records)
            for record in fresh:
                if (t0 is None or record["start"] >= t0) and predicate(record):
                    return record
            time.sleep(0.05)
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(timeout=2)


class VipWatch:
    """Who holds the VIP, from address events in every node's namespace."""

    def __init__(self, lab):
        self.lab = lab
        self.vip = lab.vip
        self.events = []  # (mono, node, "up"|"down")
        self.holders = set()
        self.overlaps = []  # (mono, sorted holders)
        self._lock = threading.Lock()
        self._procs = []
        for node in lab.nodes:
            proc = subprocess.Popen(["ip", "-n", node.netns, "-o", "monitor", "address"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    stdin=subprocess.DEVNULL, text=True, env=power.ENV)
            self._procs.append(proc)
            threading.Thread(target=self._read, args=(node.name, proc), daemon=True).start()
        # The monitors are listening now; take the starting state after that, so no
        # change can fall between the snapshot and the first event.
        time.sleep(0.05)
        for node in lab.nodes:
            if self.vip in netns.addresses(node.netns):
                self._change(node.name, "up")

    def _read(self, name, proc):
        pattern = re.compile(r"\binet6?\s+" + re.escape(self.vip) + r"/")
        for line in proc.stdout:
            if pattern.search(line):
                self._change(name, "down" if line.startswith("Deleted") else "up")

    def _change(self, name, what):
        now = time.monotonic()
        with self._lock:
            if what == "up":
                if name in self.holders:
                    return
                self.holders.add(name)
            else:
                if name not in self.holders:
                    return
                self.holders.discard(name)
            self.events.append((now, name, what))
            if len(self.holders) > 1:
                self.overlaps.append((now, sorted(self.holders)))

    def holder(self):
        with self._lock:
            return next(iter(self.holders)) if len(self.holders) == 1 else None

    def dual_since(self, t0):
        with self._lock:
            return [o for o in self.overlaps if o[0] >= t0]

    def events_since(self, t0):
        with self._lock:
            return [e for e in self.events if e[0] >= t0]

    def stop(self):
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def fence_history(lab, via):
    """Fence events known to the cluster, seen from node ``via``:
    [{"target", "action", "status", "delegate", "completed" (mono)}]."""
    result = power.box_run(via, ["stonith_admin", "--history", "*", "--output-as=xml"],
                           timeout=30)
    events = []
    try:
        root = ET.fromstring(result.stdout)
    except ET.ParseError:
        return events
    for item in root.iter("fence_event"):
        completed = item.get("completed")
        mono = None
        if completed:
            try:
                mono = mono_of_wall(datetime.strptime(
                    completed[:19], "%Y-%m-%d %H:%M:%S").timestamp()
                    + _fraction(completed))
            except ValueError:
                mono = None
        events.append({"target": item.get("target"), "action": item.get("action"),
                       "status": item.get("status"), "delegate": item.get("delegate"),
                       "completed": mono, "completed_text": completed})
    return events


def _fraction(text):
    match = re.match(r"\S+ \d\d:\d\d:\d\d(\.\d+)", text)
    return float(match.group(1)) if match else 0.0


STAMP_RE = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}) (\S+) ")
# (pattern, kind): kind gets the groups' meaning (node = the node the event is about).
LOG_PATTERNS = (
    (re.compile(r"pacemaker-controld.*Result of (?P<what>start|stop|monitor) operation for "
                r"(?P<rsc>\S+) on (?P<node>\S+): (?P<detail>[^|]*?) *(\||$)"), "resource"),
    (re.compile(r"pacemaker-controld.*Requesting local execution of (?P<what>start|stop) "
                r"operation for (?P<rsc>\S+) on (?P<node>\S+)"), "resource requested"),
    (re.compile(r"pacemaker-controld.*Requesting fencing \((?P<detail>\w+)\) of node "
                r"(?P<node>\S+)"), "fence requested"),
    (re.compile(r"pacemaker-fenced.*Operation '(?P<action>\w+)' targeting (?P<node>\S+) "
                r"by (?P<by>\S+) for \S+: (?P<detail>.*?) \|"), "fence result"),
)


def pacemaker_events(lab, node, t0, resources=("vip", "webserver")):
    """[(mono, about_node, kind, detail)] from ``node``'s pacemaker.log after ``t0``.

    kind: "<rsc> start"/"<rsc> stop"/"<rsc> monitor" (detail: result; monitors only
    when they fail), "<rsc> start requested"/"<rsc> stop requested" (the agent is run),
    "fence requested" (action),
    "fence result" (detail: e.g. "OK (complete)").
    """
    path = power.local_path(node, "/var/log/pacemaker/pacemaker.log")
    year = time.localtime().tm_year
    found = []
    try:
        with open(path, errors="replace") as handle:
            for line in handle:
                if not ("Result of" in line or "fencing" in line or "targeting" in line
                        or "local execution" in line):
                    continue
                stamp = STAMP_RE.match(line)
                if not stamp:
                    continue
                for pattern, kind in LOG_PATTERNS:
                    match = pattern.search(line)
                    if not match:
                        continue
                    when = datetime.strptime(f"{year} {stamp.group(1)}",
                                             "%Y %b %d %H:%M:%S.%f")
                    mono = mono_of_wall(when.timestamp())
                    if mono < t0:
                        break
                    groups = match.groupdict()
                    if kind == "resource":
                        if groups["rsc"] not in resources or (
                                groups["what"] == "monitor"
                                and groups["detail"] in ("ok", "Cancelled")):
                            break
                        found.append((mono, groups["node"], f"{groups['rsc']} {groups['what']}",
                                      groups["detail"]))
                    elif kind == "resource requested":
                        if groups["rsc"] not in resources:
                            break
                        found.append((mono, groups["node"],
                                      f"{groups['rsc']} {groups['what']} requested", ""))
                    elif kind == "fence result":
                        found.append((mono, groups["node"], kind,
                                      f"{groups['action']} by {groups['by']}: "
                                      f"{groups['detail']}"))
                    else:
                        found.append((mono, groups["node"], kind, groups["detail"]))
                    break
    except OSError:
        pass
    return found
