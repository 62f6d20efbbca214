"""Framework overhead: ``import ocfkit`` + dispatching a monitor vs ``python3 -c pass``.

Run: /usr/bin/python3 -m bench.core   (from the repository root)
Target (issue #2): at most 4 ms CPU over ``python3 -c pass``.
"""

import os
import tempfile

from bench.harness import Command, compare, print_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        with open(state, "w") as handle:
            handle.write("running")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf",
               "OCF_RESOURCE_INSTANCE": "bench", "OCF_RESKEY_path": state,
               "OCF_RESKEY_state": state, "OCF_RESKEY_CRM_meta_interval": "10000",
               "OCF_RESKEY_CRM_meta_timeout": "20000"}
        ours = Command("ExampleService monitor",
                       [os.path.join(ROOT, "agents", "ExampleService"), "monitor"], env=env,
                       expect=(0,))
        floor = Command("python3 -c pass", ["/usr/bin/python3", "-c", "pass"], env=env)
        dummy = Command("heartbeat Dummy monitor",
                        ["/usr/lib/ocf/resource.d/heartbeat/Dummy", "monitor"], env=env)
        rows = compare([(ours, floor), (ours, dummy)], runs=40)
        print_table(rows)
        overhead = rows[0]["ours_stats"]["cpu_ms"] - rows[0]["ref_stats"]["cpu_ms"]
        print(f"\nframework overhead over python3 -c pass: {overhead:.1f} ms CPU (target <= 4)")


if __name__ == "__main__":
    main()
