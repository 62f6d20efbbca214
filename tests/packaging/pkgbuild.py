"""Helpers of the packaging tests: the builds (packaging-tools/builds.py), commands run
with only the installed packages visible, package contents, apt."""

import importlib.util
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APT = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-y", "-q", "--no-install-recommends"]


def _load_builds():
    if "ocfkit_builds" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "ocfkit_builds", ROOT / "packaging-tools" / "builds.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["ocfkit_builds"] = module
        spec.loader.exec_module(module)
    return sys.modules["ocfkit_builds"]


builds = _load_builds()
SYSTEM_PYTHON = builds.SYSTEM_PYTHON
CLEAN_PATH = builds.CLEAN_PATH
copy_tree = builds.copy_tree
load_shipping = builds.load_shipping
local_site_dirs = builds.local_site_dirs
start_deb_build = builds.start_deb_build
start_python_ipmi_build = builds.start_python_ipmi_build
start_rpm_build = builds.start_rpm_build
wait_all = builds.wait_all


def isolated(argv, *, cwd=None, env=None, timeout=600, check=False, input=None):
    """Run ``argv`` with a clean environment and the /usr/local site directories hidden."""
    environment = {"PATH": CLEAN_PATH, "LC_ALL": "C.UTF-8", "HOME": "/root"}
    environment.update(env or {})
    result = subprocess.run(builds.isolation_argv(argv), cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=timeout, input=input,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def deb_paths(deb):
    """Installed paths of a .deb (files, links and directories), absolute."""
    listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(listing)) as tar:
        return {("/" + member.name.lstrip("./")).rstrip("/") or "/": member.isdir()
                for member in tar.getmembers()}


def package_name(path):
    """python3-ocfkit from python3-ocfkit_0.1.0_all.deb or python3-ocfkit-0.1.0-1.noarch.rpm."""
    name = Path(path).name
    if name.endswith(".deb"):
        return name.split("_")[0]
    return subprocess.run(["rpm", "-qp", "--qf", "%{NAME}", str(path)], capture_output=True,
                          text=True, check=True).stdout


def installed_version(package):
    result = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}",
                             package], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not result.stdout.startswith("ii"):
        return None
    return result.stdout.split()[-1]


def apt(*args):
    result = subprocess.run([*APT, *args], capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), check=False)
    assert result.returncode == 0, f"apt-get {' '.join(args)}:\n{result.stdout[-3000:]}" \
                                   f"\n{result.stderr[-3000:]}"
    return result
