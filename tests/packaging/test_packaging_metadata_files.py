"""metadata/<Agent>.xml is committed and is exactly what the agent prints, so every
change to an agent's metadata (what pcs and Pacemaker see) is a reviewed diff.

Regenerate after changing an agent: packaging-tools/shipping.py update (or
ocfkit metadata agents/X > metadata/X.xml), then review the diff.
"""

import os
from pathlib import Path

import pytest
from ocfkit.testing import EXECD_BASE, execd_environment, run
from pkgbuild import ROOT, load_shipping


def _tracked_launchers():
    shipping = load_shipping()
    return [path for directory in ("agents", "fence")
            for path in shipping.launchers(ROOT, directory)]


LAUNCHERS = _tracked_launchers()


# The launcher run as its first line would, but with this tree's lib/ first on sys.path:
# the metadata of *this* tree, wherever the editable install points.
_RUN = ("import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv.pop(0); "
        "runpy.run_path(sys.argv[0], run_name='__main__')")


def _current_metadata(launcher):
    python = ["/usr/bin/python3", "-I", "-c", _RUN, str(ROOT / "lib"), str(launcher)]
    if launcher.parent.name == "fence":
        result = run(python + ["-o", "metadata"], {"PATH": EXECD_BASE["PATH"], "LC_ALL": "C"})
    else:
        result = run(python + ["meta-data"], execd_environment(action="meta-data",
                                                               agent_type=launcher.name))
    assert result.rc == 0, f"{launcher.name}: rc {result.rc}: {result.stderr[-500:]}"
    return result.stdout


@pytest.mark.parametrize("launcher", LAUNCHERS, ids=[p.name for p in LAUNCHERS])
def test_committed_metadata_is_what_the_agent_prints(launcher):
    rel = f"{launcher.parent.name}/{launcher.name}"
    committed = ROOT / "metadata" / f"{launcher.name}.xml"
    fix = "run packaging-tools/shipping.py update, review and commit the diff"
    assert committed.exists(), f"metadata/{launcher.name}.xml is missing: {fix}"
    assert _current_metadata(launcher) == committed.read_text(), \
        f"{rel} prints other metadata than metadata/{launcher.name}.xml: review, then {fix}"


def test_every_metadata_file_belongs_to_an_agent():
    names = {launcher.name for launcher in LAUNCHERS}
    tracked = _tracked_metadata()
    orphans = sorted(name for name in tracked if Path(name).stem not in names)
    assert not orphans, f"metadata without an agent (delete them): {orphans}"


def _tracked_metadata():
    import subprocess

    if not (ROOT / ".git").exists():
        return os.listdir(ROOT / "metadata")
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "metadata"],
                            capture_output=True, text=True, check=True).stdout.split()
    return [os.path.basename(path) for path in listed if (ROOT / path).exists()]
