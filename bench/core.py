"""Framework overhead: ``import ocfkit`` + dispatching a monitor vs ``python3 -c pass``.

Run: /usr/bin/python3 -m bench.core   (from the repository root)
Target (issue #2): at most 4 ms CPU over ``python3 -c pass``.

Three measurements of one monitor, each against the same floor in one run:
- the ExampleService script as users write it (the interpreter also compiles the
  39-line script on every run, which is the script's cost, not the library's);
- the same agent as the launcher pattern ships it (class in a module with cached
  bytecode, 3-line launcher): exactly "import ocfkit + dispatch a monitor";
- the reference shell agent heartbeat:Dummy, for scale;
and a fence agent's ``status`` (the example, options on stdin as pacemaker-fenced
sends them), against the same floor.
CPU times on a shared machine are noisy, so the instruction counts of one run of each
(valgrind --tool=callgrind, when installed) are printed too: they do not depend on load.
"""

import os
import shutil
import subprocess
import tempfile

from bench.harness import Command, compare, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
SERVICE = os.path.join(ROOT, "agents", "ExampleService")
SWITCH = os.path.join(ROOT, "fence", "fence_ocfkit_example")


def _launcher(tmp):
    """ExampleService as an importable module + a 3-line launcher, bytecode compiled."""
    with open(SERVICE) as handle:
        source = handle.read()
    body = source.split('\nif __name__ == "__main__":', 1)[0]
    module = os.path.join(tmp, "core_bench_example.py")
    with open(module, "w") as handle:
        handle.write(body.split("\n", 1)[1])  # without the #! line
    launcher = os.path.join(tmp, "ExampleServiceLauncher")
    with open(launcher, "w") as handle:
        # -I keeps the script's directory off sys.path; an installed agent module is in
        # site-packages, this temporary one needs its directory added.
        handle.write(f"#!/usr/bin/python3 -I\nimport sys\nsys.path.append({tmp!r})\n"
                     "from core_bench_example import ExampleService\nExampleService.main()\n")
    os.chmod(launcher, 0o755)
    subprocess.run([PYTHON, "-m", "py_compile", module], check=True)
    return launcher


def _instructions(command):
    """User-space instructions of one run (callgrind), or None without valgrind."""
    if not shutil.which("valgrind"):
        return None
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                             *command.argv], env=command.env, input=command.stdin,
                            capture_output=True)
    for line in result.stderr.decode(errors="replace").splitlines():
        if "Collected" in line:
            return int(line.split()[-1])
    return None


def main():
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        with open(state, "w") as handle:
            handle.write("running")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf",
               "OCF_RESOURCE_INSTANCE": "bench", "OCF_RESKEY_path": state,
               "OCF_RESKEY_state": state, "OCF_RESKEY_CRM_meta_interval": "10000",
               "OCF_RESKEY_CRM_meta_timeout": "20000"}
        launcher = _launcher(tmp)
        script = Command("ExampleService monitor (script)", [SERVICE, "monitor"], env=env,
                         expect=(0,))
        module = Command("ExampleService monitor (launcher + module)", [launcher, "monitor"],
                         env=env, expect=(0,))
        floor = Command("python3 -c pass", [PYTHON, "-c", "pass"], env=env)
        dummy = Command("heartbeat Dummy monitor",
                        ["/usr/lib/ocf/resource.d/heartbeat/Dummy", "monitor"], env=env)
        outlets = os.path.join(tmp, "outlets")
        os.mkdir(outlets)
        with open(os.path.join(outlets, "n1"), "w") as handle:
            handle.write("on")
        fence_status = Command(
            "fence_ocfkit_example status", [SWITCH], env={"PATH": env["PATH"]}, expect=(0,),
            stdin=f"action=status\nnodename=n1\nplug=n1\ndirectory={outlets}\n".encode())
        rows = compare([(script, floor), (module, floor), (script, dummy),
                        (fence_status, floor)], runs=40)
        print_table(rows)
        print()
        for row in (rows[0], rows[1], rows[3]):
            overhead = row["ours_stats"]["cpu_ms"] - row["ref_stats"]["cpu_ms"]
            print(f"{row['ours']}: {overhead:.1f} ms CPU over python3 -c pass "
                  f"(median of 40; target <= 4)")
        commands = (floor, script, module, fence_status)
        counts = {cmd.label: _instructions(cmd) for cmd in commands}
        if counts[floor.label]:
            base = counts[floor.label]
            print(f"\ninstructions (callgrind, one run): python3 -c pass {base / 1e6:.1f} M")
            for label in (script.label, module.label, fence_status.label):
                extra = counts[label] - base
                print(f"  {label}: +{extra / 1e6:.1f} M ({extra / base:+.0%})")


if __name__ == "__main__":
    main()
