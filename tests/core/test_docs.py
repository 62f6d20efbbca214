"""docs/writing-agents.md shows the example agents verbatim and its snippets run."""

import io
import os
import re

from core_paths import ROOT, SERVICE, SWITCH
from ocfkit.loader import load_agent_class
from ocfkit.testing import execd_environment

GUIDE = os.path.join(ROOT, "docs", "writing-agents.md")


def blocks():
    with open(GUIDE) as handle:
        return re.findall(r"```python\n(.*?)```", handle.read(), re.S)


def test_examples_in_the_guide_are_the_shipped_agents():
    shown = blocks()
    for path in (SERVICE, SWITCH):
        with open(path) as handle:
            assert handle.read() in shown, f"{path} differs from docs/writing-agents.md"


def test_in_process_snippet_holds():
    service = load_agent_class(SERVICE)
    env = execd_environment({"path": "/nonexistent/x"}, action="monitor", interval_ms=0)
    assert service.run(["monitor"], environ=env, stdout=io.StringIO(),
                       stderr=io.StringIO()) == 7
    required = execd_environment({}, action="monitor", interval_ms=10000)
    err = io.StringIO()
    assert service.run(["monitor"], environ=required, stdout=io.StringIO(), stderr=err) == 1
    assert "ocf-exit-reason:required parameter not set: path" in err.getvalue()


def test_readme_example_keeps_the_contract():
    """The 'write your own agent' example in the README passes ocfkit check, and says of
    itself what the README claims (6 on start without path, 0 on stop, 7 on a probe)."""
    import pathlib
    import subprocess
    import sys
    import tempfile

    from ocfkit.testing import run_resource_agent

    with open(os.path.join(ROOT, "README.md")) as handle:
        (source,) = re.findall(r"```python\n(.*?)```", handle.read(), re.S)
    # pytest's tmp_path is private to root; the checker runs meta-data as nobody.
    with tempfile.TemporaryDirectory(prefix="ocfkit-readme-") as tmp:
        os.chmod(tmp, 0o755)
        agent = pathlib.Path(tmp) / "Marker"
        agent.write_text(source)
        agent.chmod(0o755)
        check = subprocess.run(
            [sys.executable, "-m", "ocfkit", "check", "-o", f"path={tmp}/state", str(agent)],
            capture_output=True, text=True, timeout=300)
        assert check.returncode == 0, check.stdout + check.stderr
        assert run_resource_agent(str(agent), "start", {}).rc == 6
        assert run_resource_agent(str(agent), "stop", {}).rc == 0
        assert run_resource_agent(str(agent), "monitor", {}).rc == 7
