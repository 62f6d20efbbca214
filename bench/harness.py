"""Time whole agent processes against a reference, in one run, and report ratios.

A benchmark, not a test: it measures, it does not assert. Each command is run the
way Pacemaker runs agents (executed directly through its first line, a clean
environment, its own process group), alternating ours and the reference so both see
the same machine load. Per command it reports medians of wall time, CPU time
(user + system of the process and everything it waited for, from wait4), peak RSS
(from GNU time's %M: wait4's ru_maxrss would include the harness's own pre-exec copy),
and the number of processes it forked (counted in a separate run under strace, so the
tracing cost never touches the timings).

    from bench.harness import Command, compare, print_table
    ours = Command("VirtualIP monitor", ["agents/VirtualIP", "monitor"], env=...)
    ref = Command("IPaddr2 monitor", [".../IPaddr2", "monitor"], env=...)
    rows = compare([(ours, ref)], runs=30)
    print_table(rows)
"""

import os
import shutil
import statistics
import subprocess
import tempfile
import time

GNU_TIME = "/usr/bin/time"


class Command:
    """One thing to time. ``netns`` runs it inside ``ip netns exec NAME``.

    ``before`` (optional) is called before every run, outside the measurement, to put
    the system into the state the command expects (e.g. stop what the last run started).
    ``stdin`` is bytes fed to the process (fence agents). ``trace_forks=False`` skips
    the fork count: ``strace -f`` waits for every process it follows, so a command that
    leaves a daemon running (a start) would never finish under it.
    """

    def __init__(self, label, argv, env=None, netns=None, before=None, stdin=None,
                 expect=None, trace_forks=True):
        self.label = label
        self.trace_forks = trace_forks
        self.argv = list(argv)
        self.env = dict(env or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        self.netns = netns
        self.before = before
        self.stdin = stdin
        self.expect = expect

    def full_argv(self):
        if self.netns:
            return ["ip", "netns", "exec", self.netns, *self.argv]
        return self.argv


class Sample:
    __slots__ = ("wall", "cpu", "maxrss_kb", "rc")

    def __init__(self, wall, cpu, maxrss_kb, rc):
        self.wall, self.cpu, self.maxrss_kb, self.rc = wall, cpu, maxrss_kb, rc


def measure(command, rss=False):
    """Run once; wall and CPU (seconds) of the whole process tree, and with ``rss`` its
    peak RSS (KiB).

    Peak RSS needs GNU time around the command (its %M is the command's own peak:
    wait4's ru_maxrss here would include this process's pre-exec copy), and GNU time
    adds its own CPU, so timed runs and RSS runs are separate.
    """
    if command.before:
        command.before()
    rss_file = None
    argv = command.full_argv()
    if rss and os.path.exists(GNU_TIME):
        rss_file = tempfile.NamedTemporaryFile("r", suffix=".rss")
        inner = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *command.argv]
        argv = ["ip", "netns", "exec", command.netns, *inner] if command.netns else inner
    stdin_r = None
    if command.stdin is not None:
        stdin_r, stdin_w = os.pipe()
        os.write(stdin_w, command.stdin)
        os.close(stdin_w)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child: own process group like execd, quiet output
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(stdin_r if stdin_r is not None else devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execvpe(argv[0], argv, command.env)
        finally:
            os._exit(127)
    if stdin_r is not None:
        os.close(stdin_r)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    rc = os.waitstatus_to_exitcode(status)
    if command.expect is not None and rc not in command.expect:
        raise RuntimeError(f"{command.label}: exit {rc}, expected {command.expect}")
    maxrss = None
    if rss_file is not None:
        # GNU time exits with the command's status; the file's last word is %M (KiB).
        words = rss_file.read().split()
        rss_file.close()
        maxrss = int(words[-1]) if words and words[-1].isdigit() else None
    # ip netns exec adds its own small cost to both sides; it is the same for each.
    return Sample(wall, usage.ru_utime + usage.ru_stime, maxrss, rc)



def count_forks(command):
    """Processes the command creates (fork/vfork/clone of a new process), via strace -f."""
    if not command.trace_forks or not shutil.which("strace"):
        return None
    if command.before:
        command.before()
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as trace:
        inner = ["strace", "-f", "-qq", "-e", "trace=fork,vfork,clone,clone3",
                 "-o", trace.name, *command.argv]
        argv = ["ip", "netns", "exec", command.netns, *inner] if command.netns else inner
        subprocess.run(argv, env=command.env, input=command.stdin,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        count = 0
        for line in trace:
            if "clone" in line and "CLONE_THREAD" in line:
                continue  # a thread, not a process
            if any(call in line for call in ("fork(", "vfork(", "clone(", "clone3(")):
                if "= -1" not in line and "resumed" not in line:
                    count += 1
        return count


def summarize(samples, rss_samples):
    peaks = [s.maxrss_kb for s in rss_samples if s.maxrss_kb is not None]
    return {
        "wall_ms": statistics.median(s.wall for s in samples) * 1000,
        "cpu_ms": statistics.median(s.cpu for s in samples) * 1000,
        "maxrss_mb": statistics.median(peaks) / 1024 if peaks else float("nan"),
    }


def compare(pairs, runs=30, warmup=2, rss_runs=5):
    """For each (ours, reference) pair: interleaved timed runs, then ``rss_runs`` runs
    each under GNU time for peak RSS; medians, ratios, and the timed samples themselves
    (``ours_samples``/``ref_samples``: some references are bimodal)."""
    rows = []
    for ours, ref in pairs:
        sides = [ours] if ref is None else [ours, ref]
        for _ in range(warmup):
            for command in sides:
                measure(command)
        timed = {id(command): [] for command in sides}
        for _ in range(runs):
            for command in sides:
                timed[id(command)].append(measure(command))
        peaks = {id(command): [measure(command, rss=True) for _ in range(rss_runs)]
                 for command in sides}
        stats = {id(command): summarize(timed[id(command)], peaks[id(command)])
                 for command in sides}
        row = {"ours": ours.label, "ours_stats": stats[id(ours)],
               "ours_forks": count_forks(ours), "ours_samples": timed[id(ours)]}
        if ref is not None:
            row.update(ref=ref.label, ref_stats=stats[id(ref)], ref_forks=count_forks(ref),
                       ref_samples=timed[id(ref)])
            row["ratio"] = {key: (row["ours_stats"][key] / row["ref_stats"][key]
                                  if row["ref_stats"][key] else None)
                            for key in row["ours_stats"]}
        rows.append(row)
    return rows


def print_table(rows, file=None):
    """A Markdown table: ours vs reference, medians and ratios (ours / reference)."""
    out = [
        "| operation | ours wall ms | ref wall ms | wall ratio | ours CPU ms | ref CPU ms "
        "| CPU ratio | ours RSS MB | ref RSS MB | forks ours/ref |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        o = row["ours_stats"]
        r = row.get("ref_stats")
        if r is None:
            out.append(f"| {row['ours']} | {o['wall_ms']:.1f} | – | – | {o['cpu_ms']:.1f} | – "
                       f"| – | {o['maxrss_mb']:.1f} | – | {row['ours_forks']}/– |")
            continue
        ratio = row["ratio"]
        out.append(
            f"| {row['ours']} vs {row['ref']} | {o['wall_ms']:.1f} | {r['wall_ms']:.1f} "
            f"| {ratio['wall_ms']:.2f}× | {o['cpu_ms']:.1f} | {r['cpu_ms']:.1f} "
            f"| {ratio['cpu_ms']:.2f}× | {o['maxrss_mb']:.1f} | {r['maxrss_mb']:.1f} "
            f"| {row['ours_forks']}/{row['ref_forks']} |")
    text = "\n".join(out) + "\n"
    print(text, end="", file=file)
    return text
