"""Build ocfkit's .deb and .rpm packages in a copy of the tree, never in the checkout.

Used by packaging-tools/build-packages and by tests/packaging. The system interpreter
may have ocfkit installed *editable* (scripts/install-deps) through
/usr/local/lib/python3.X/dist-packages, first on sys.path; builds therefore run in a
private mount namespace where every /usr/local site directory is covered by an empty
read-only tmpfs. There a build sees only Debian's packages (its declared build
dependencies) and cannot touch the shared install: pip, asked to install into a
--root, still uninstalls an installed copy of the same project from the host.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"
CLEAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def load_shipping():
    if "ocfkit_shipping" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "ocfkit_shipping", Path(__file__).resolve().parent / "shipping.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["ocfkit_shipping"] = module
        spec.loader.exec_module(module)
    return sys.modules["ocfkit_shipping"]


def local_site_dirs():
    """The /usr/local directories on the system interpreter's sys.path."""
    out = subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import sys; print('\\n'.join(sys.path))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return [path for path in out if path.startswith("/usr/local/") and os.path.isdir(path)]


_ISOLATE = """set -e
for dir in "$@"; do
    [ "$dir" = -- ] && break
    mount -t tmpfs -o ro,size=4k,mode=755 ocfkit-hidden "$dir"
done
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
"""


def copy_tree(dest):
    """The checkout's tracked files (as they are on disk) in ``dest``."""
    dest = Path(dest)
    if (ROOT / ".git").exists():
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                                check=True).stdout.decode().split("\0")
        for rel in filter(None, listed):
            source = ROOT / rel
            if not source.exists() and not source.is_symlink():
                continue  # deleted in the working tree, not yet committed
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel, follow_symlinks=False)
    else:
        shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(
            "__pycache__", ".pytest_cache", ".ruff_cache", "build", "dist", "*.egg-info"))
    return dest


def isolation_argv(argv):
    """``argv`` wrapped to run in a mount namespace with /usr/local's site dirs hidden."""
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
            _ISOLATE, "isolate", *local_site_dirs(), "--", *argv]


def spawn_isolated(argv, *, cwd, log, env=None):
    """Start ``argv`` isolated in the background, output to ``log``; returns the Popen."""
    environment = {"PATH": CLEAN_PATH, "LC_ALL": "C.UTF-8", "HOME": str(Path(log).parent)}
    environment.update(env or {})
    handle = open(log, "w")  # closed by wait_all
    process = subprocess.Popen(isolation_argv(argv), cwd=cwd, env=environment,
                               stdout=handle, stderr=subprocess.STDOUT)
    process.log_handle, process.log_path, process.argv = handle, log, argv
    return process


def wait_all(processes, timeout=600):
    failures = []
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.log_handle.close()
        if process.returncode != 0:
            tail = Path(process.log_path).read_text()[-4000:]
            failures.append(f"{' '.join(map(str, process.argv))} -> {process.returncode}\n{tail}")
    if failures:
        raise AssertionError("build failed:\n" + "\n\n".join(failures))


def start_deb_build(src):
    """dpkg-buildpackage -us -uc -b in ``src``; the .debs land in its parent."""
    return spawn_isolated(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                          log=Path(src).parent / "dpkg-buildpackage.log")


def start_rpm_build(src, topdir):
    """rpmbuild -bb of rpm/ocfkit.spec from a tarball of ``src``."""
    shipping = load_shipping()
    version = shipping.package_version(shipping.python_version(Path(src)))
    topdir = Path(topdir)
    for sub in ("SOURCES", "tmp"):
        (topdir / sub).mkdir(parents=True, exist_ok=True)
    with tarfile.open(topdir / "SOURCES" / f"ocfkit-{version}.tar.gz", "w:gz") as tar:
        tar.add(src, arcname=f"ocfkit-{version}")
    return spawn_isolated([
        "rpmbuild", "-bb", "--nodeps",  # Debian's rpm database knows no packages
        "--define", f"_topdir {topdir}", "--define", f"_tmppath {topdir}/tmp",
        # Debian's brp-compress uses bash's `read -d` under #!/bin/sh; run it with bash.
        "--define", "__brp_compress bash /usr/lib/rpm/brp-compress /usr",
        str(Path(src) / "rpm" / "ocfkit.spec")], cwd=topdir, log=topdir / "rpmbuild.log")


def start_python_ipmi_build(out):
    return spawn_isolated([str(ROOT / "packaging-tools" / "build-python-ipmi-deb"), str(out)],
                          cwd=out, log=Path(out) / "build-python-ipmi-deb.log")
