"""What an agent pays at start-up: the modules a monitor and a fence status import.

Run with ``-I -S`` so the interpreter's own site imports (and whatever .pth files the
machine has) do not hide what the library pulls in."""

import os
import subprocess

import pytest
from core_paths import PYTHON, ROOT, SERVICE, SWITCH

LIB = os.path.join(ROOT, "lib")
# Heavy or start-up-costly modules a monitor must never import.
FORBIDDEN = {"requests", "lxml", "pyipmi", "libvirt", "enum", "re", "logging", "subprocess",
             "dataclasses", "inspect", "typing", "argparse", "socket", "ssl", "json",
             "xml", "signal", "ipaddress", "shlex", "traceback", "tempfile", "threading",
             "fcntl", "syslog", "datetime", "collections", "functools", "importlib.util"}
PROBE = """
import sys
before = set(sys.modules)
sys.path.insert(0, {lib!r})
sys.argv = [{agent!r}, *{args!r}]
code = compile(open(sys.argv[0]).read(), sys.argv[0], "exec")
try:
    exec(code, {{"__name__": "__main__", "__file__": sys.argv[0]}})
except SystemExit as exc:
    rc = exc.code
sys.stderr.write("\\nMODULES " + " ".join(sorted(set(sys.modules) - before)) + " RC %s\\n" % rc)
"""


def imported(agent, args, env, stdin=None):
    script = PROBE.format(lib=LIB, agent=agent, args=list(args))
    result = subprocess.run([PYTHON, "-I", "-S", "-c", script], env=env, input=stdin,
                            capture_output=True, timeout=30)
    line = result.stderr.decode().rsplit("MODULES ", 1)[-1].split()
    rc = int(line[-1])
    return set(line[:-2]), rc


def test_monitor_imports_only_the_core(tmp_path):
    state = tmp_path / "state"
    state.write_text("running")
    env = {"OCF_RESKEY_path": str(state), "OCF_RESKEY_CRM_meta_interval": "10000",
           "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_RESOURCE_INSTANCE": "t"}
    modules, rc = imported(SERVICE, ["monitor"], env)
    assert rc == 0
    assert not modules & FORBIDDEN, modules & FORBIDDEN
    library = {m for m in modules if m.startswith("ocfkit")}
    # a monitor that succeeds without logging needs neither the logger nor the deadline
    assert library == {"ocfkit", "ocfkit.ocf", "ocfkit.ocf.agent", "ocfkit.ocf.contract",
                       "ocfkit.params"}
    # what remains is what `import os` costs (site imports it anyway without -S)
    assert modules - library <= {"os", "os.path", "posixpath", "genericpath", "stat", "_stat",
                                 "_collections_abc", "time"}


@pytest.mark.parametrize("action", ["stop", "validate-all"])
def test_failed_validation_path_stays_light(action):
    env = {"OCF_RESKEY_path": "/nonexistent/x", "OCF_RESOURCE_INSTANCE": "t"}
    modules, rc = imported(SERVICE, [action], env)
    assert rc in (0, 2)
    assert not modules & FORBIDDEN, modules & FORBIDDEN


def test_fence_status_imports_only_the_core(tmp_path):
    (tmp_path / "n1").write_text("on")
    stdin = f"action=status\ndirectory={tmp_path}\nplug=n1\n".encode()
    modules, rc = imported(SWITCH, [], {}, stdin=stdin)
    assert rc == 0
    assert not modules & FORBIDDEN, modules & FORBIDDEN
