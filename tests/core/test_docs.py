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
