"""Fixtures of the packaging tests: the package builds (once per session, in parallel)
and an installation of them on this machine (once per module, serialised across runs).
"""

import fcntl
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pkgbuild import (
    ROOT,
    SYSTEM_PYTHON,
    apt,
    copy_tree,
    installed_version,
    isolated,
    load_shipping,
    start_deb_build,
    start_python_ipmi_build,
    start_rpm_build,
    wait_all,
)

LOCK = ("/run/lock" if os.path.isdir("/run/lock") else "/tmp") + "/ocfkit-packaging-tests.lock"


@dataclass
class Builds:
    src: Path               # the tree the current packages were built from
    version: str            # its package version (0.1.0)
    debs: list
    old_version: str        # the "previous build" the upgrade starts from
    old_debs: list
    rpms: list
    old_rpms: list
    parent_before: set      # what the checkout's parent held before the builds
    python_ipmi_deb: Path   # packaging-tools/build-python-ipmi-deb's output


def _require_tools():
    if os.geteuid() != 0:
        pytest.skip("building and installing packages needs root")
    missing = [tool for tool in ("dpkg-buildpackage", "rpmbuild", "lintian", "rpmlint",
                                 "unshare", "pcs", "crm_resource", "man")
               if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: scripts/install-deps installs them "
                    "(ci/deps/packaging.apt)")


@pytest.fixture(scope="session")
def package_builds(tmp_path_factory):
    """The .debs and .rpms of the checkout's tracked files, and the .debs of the same tree
    one version earlier (the previous build the upgrade test starts from)."""
    _require_tools()
    shipping = load_shipping()
    parent_before = set(ROOT.parent.iterdir())
    base = tmp_path_factory.mktemp("packages")
    src = copy_tree(base / "new" / "ocfkit")
    old_src = copy_tree(base / "old" / "ocfkit")
    python_version = shipping.python_version(src)
    if ".dev" in python_version:
        pytest.skip(f"version {python_version} is a dev build: no earlier build to upgrade from")
    old_python_version = python_version + ".dev0"
    for command in (["bump", old_python_version, "Previous build for the upgrade test."],
                    ["update"]):
        subprocess.run([SYSTEM_PYTHON, "-I", "packaging-tools/shipping.py", *command],
                       cwd=old_src, check=True, capture_output=True)
    (base / "python-ipmi").mkdir()
    # The RPM builds tar their tree first, so they start before the .deb builds write in
    # it. The previous build's RPMs prove the spec with a pre-release version (~~dev0).
    builds = [start_rpm_build(src, base / "rpm"), start_rpm_build(old_src, base / "rpm-old"),
              start_deb_build(src), start_deb_build(old_src),
              start_python_ipmi_build(base / "python-ipmi")]
    wait_all(builds)
    return Builds(
        src=src, version=shipping.package_version(python_version),
        debs=sorted((base / "new").glob("*.deb")),
        old_version=shipping.package_version(old_python_version),
        old_debs=sorted((base / "old").glob("*.deb")),
        rpms=sorted((base / "rpm" / "RPMS").glob("*/*.rpm")),
        old_rpms=sorted((base / "rpm-old" / "RPMS").glob("*/*.rpm")),
        parent_before=parent_before,
        python_ipmi_deb=next((base / "python-ipmi").glob("python3-pyipmi_*.deb")))


class Installation:
    """ocfkit's packages installed on this machine: first the previous build, then the
    current one over it. ``purge()`` removes everything it installed."""

    def __init__(self, builds):
        self.builds = builds
        self.packages = sorted({deb.name.split("_")[0] for deb in builds.debs + builds.old_debs})
        self.extra = []  # packages installed besides ours (the python-ipmi rebuild)
        self.answers = {}

    def install(self, debs):
        apt("install", *[str(deb) for deb in debs])

    def purge(self):
        present = [pkg for pkg in self.packages + self.extra if installed_version(pkg)]
        if present:
            apt("purge", *present)
        # dpkg keeps "config-files" state for purged-but-listed packages; none expected.
        return present


def shipped_agents(debs):
    """(OCF agent paths, fence driver paths) the .debs install."""
    from pkgbuild import deb_paths

    paths = {path for deb in debs for path, is_dir in deb_paths(deb).items() if not is_dir}
    return (sorted(p for p in paths if p.startswith("/usr/lib/ocf/resource.d/ocfkit/")),
            sorted(p for p in paths if p.startswith("/usr/sbin/fence_ocfkit_")))


@pytest.fixture(scope="module")
def installation(package_builds):
    """Install the previous build, record how its agents answer, upgrade to the current
    build; purge afterwards. One run at a time on this machine (a lock file)."""
    with open(LOCK, "w") as lock:
        deadline = time.monotonic() + 900
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{LOCK} held by another packaging test run for 15 min")
                time.sleep(1)
        state = Installation(package_builds)
        state.purge()  # leftovers of an interrupted run
        state.dirs_before = {path for path in _all_deb_dirs(package_builds)
                             if os.path.isdir(path)}
        try:
            old = list(package_builds.old_debs)
            if installed_version("python3-pyipmi") is None:
                old.append(package_builds.python_ipmi_deb)
                state.extra.append("python3-pyipmi")
            state.install(old)
            state.old_status = {pkg: installed_version(pkg) for pkg in state.packages}
            state.answers["old"] = agent_answers(*shipped_agents(package_builds.old_debs))
            state.install(package_builds.debs)
            state.new_status = {pkg: installed_version(pkg) for pkg in state.packages}
            state.ocf_agents, state.fence_drivers = shipped_agents(package_builds.debs)
            state.answers["new"] = agent_answers(state.ocf_agents, state.fence_drivers)
            yield state
        finally:
            state.purge()


def _all_deb_dirs(builds):
    from pkgbuild import deb_paths

    return {path for deb in builds.debs + builds.old_debs
            for path, is_dir in deb_paths(deb).items() if is_dir}


def agent_answers(ocf_agents, fence_drivers):
    """What each installed agent answers to meta-data, run from the installed files only."""
    answers = {}
    for agent in ocf_agents:
        answers[os.path.basename(agent)] = isolated([agent, "meta-data"], timeout=60)
    for driver in fence_drivers:
        answers[os.path.basename(driver)] = isolated([driver, "-o", "metadata"], timeout=60)
    answers["ocfkit --version"] = isolated(["/usr/bin/ocfkit", "--version"], timeout=60)
    return answers
