"""The .deb and .rpm packages: built from the tree, linted, installed on this machine,
used the way an admin uses them (crm_resource, pcs, stonith_admin, man, ocfkit check),
upgraded from the previous build and purged without a trace.

Everything that runs an installed file runs in a mount namespace where the editable
install of the checkout is hidden (pkgbuild.isolated), so it proves the packages alone.
"""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pkgbuild import (
    ROOT,
    deb_paths,
    installed_version,
    isolated,
    local_site_dirs,
    package_name,
)

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------- lint
def test_lintian_finds_nothing(package_builds):
    """Every tag, down to pedantic, is fixed or overridden with a reason in debian/."""
    result = subprocess.run(
        ["lintian", "--info", "--pedantic", "--display-experimental",
         "--fail-on", "error,warning,info,pedantic", *map(str, package_builds.debs)],
        capture_output=True, text=True, timeout=300, check=False)
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    assert result.returncode == 0 and not tags, result.stdout + result.stderr


def test_lintian_overrides_have_reasons():
    for path in (ROOT / "debian").glob("*.lintian-overrides"):
        previous = ""
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                assert previous.startswith("#"), f"{path.name}: no reason above {line!r}"
            previous = line


def test_rpmlint_finds_nothing(package_builds):
    assert package_builds.rpms and package_builds.old_rpms, "rpmbuild produced no RPM"
    result = subprocess.run(["rpmlint", "-c", str(ROOT / "rpm" / "rpmlint.toml"),
                             *map(str, package_builds.rpms + package_builds.old_rpms)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0 and " 0 errors, 0 warnings" in result.stdout, result.stdout


def _payload(paths_by_package, distro):
    """Files per package, minus what each distribution adds by itself: Debian's
    changelog, copyright and lintian overrides, RPM's %doc/%license directories, and the
    installers' own dist-info records (RECORD, INSTALLER, REQUESTED: pybuild and pip
    write different ones)."""
    out = {}
    for package, paths in paths_by_package.items():
        keep = set()
        for path in paths:
            if re.search(r"\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$", path):
                continue
            if "/__pycache__/" in path:
                continue  # compiled at install time on Debian (py3compile)
            if distro == "deb" and (path in (f"/usr/share/doc/{package}/changelog.gz",
                                             f"/usr/share/doc/{package}/copyright")
                                    or path.startswith("/usr/share/lintian/")):
                continue
            if distro == "rpm" and re.match(rf"/usr/share/(doc|licenses)/{package}-[^/]+/", path):
                continue
            keep.add(path)
        out[package] = keep
    return out


def test_rpm_and_deb_install_the_same_files(package_builds):
    debs = {package_name(deb): {path for path, is_dir in deb_paths(deb).items() if not is_dir}
            for deb in package_builds.debs}
    rpms = {}
    for rpm in package_builds.rpms:
        listing = subprocess.run(["rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES}\n]",
                                  str(rpm)], capture_output=True, text=True, check=True).stdout
        rpms[package_name(rpm)] = {line.split(" ", 1)[1] for line in listing.splitlines()
                                   if not line.startswith("d")}
    debs, rpms = _payload(debs, "deb"), _payload(rpms, "rpm")
    assert sorted(debs) == sorted(rpms)
    for package in debs:
        assert debs[package] == rpms[package], (
            f"{package}: only in .deb {sorted(debs[package] - rpms[package])}, "
            f"only in .rpm {sorted(rpms[package] - debs[package])}")


def test_fence_driver_packages_depend_only_on_their_imports(package_builds):
    """The control fields the build produced: a driver package needs the library and,
    hard, only what OPTIONAL_IMPORTS does not declare optional."""
    for deb in package_builds.debs:
        name = package_name(deb)
        fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends", "Recommends"],
                                capture_output=True, text=True, check=True).stdout
        if name == "ocfkit-fence-ipmi":
            assert "python3-pyipmi" not in fields.split("Recommends:")[0], fields
            assert "Recommends: python3-pyipmi (>= 0.6.1)" in fields, fields
        if name == "ocfkit-fence-virt":
            assert "python3-libvirt" in fields.split("Recommends:")[0], fields
        if name == "ocfkit-fence-redfish":
            assert "python3-urllib3" in fields.split("Recommends:")[0], fields


# ---------------------------------------------------------------------- install
def test_upgrade_from_the_previous_build_keeps_agents_answering(installation):
    builds = installation.builds
    for package, version in installation.old_status.items():
        if package in {package_name(deb) for deb in builds.old_debs}:
            assert version == builds.old_version, (package, version)
    for package in {package_name(deb) for deb in builds.debs}:
        assert installation.new_status[package] == builds.version, package
    old, new = installation.answers["old"], installation.answers["new"]
    assert old["ocfkit --version"].stdout.strip() == f"ocfkit {_python(builds.old_version)}"
    assert new["ocfkit --version"].stdout.strip() == f"ocfkit {_python(builds.version)}"
    for name in new:
        if name == "ocfkit --version":
            continue
        # Agents may carry their own version (Apache does), so the library version is
        # checked above; here every agent of both builds answers with valid metadata.
        assert new[name].returncode == 0, (name, new[name].stderr)
        assert ET.fromstring(new[name].stdout).get("name") in (name, None), name
        if name in old:
            assert old[name].returncode == 0, (name, old[name].stderr)
            ET.fromstring(old[name].stdout)
    assert set(old) <= set(new), "an agent of the previous build is gone"


def _python(package_version):
    """0.1.0~dev0 -> 0.1.0.dev0, 0.2.0~rc1 -> 0.2.0rc1 (the inverse of package_version)."""
    return package_version.replace("~dev", ".dev").replace("~", "")


def test_installed_agents_run_the_packaged_library(installation):
    result = isolated(["/usr/bin/python3", "-I", "-c",
                       "import ocfkit, sys; print(ocfkit.__file__); print(sys.path)"],
                      check=True)
    assert result.stdout.splitlines()[0] == "/usr/lib/python3/dist-packages/ocfkit/__init__.py"
    assert str(ROOT / "lib") not in result.stdout, result.stdout
    # Outside the namespace, the checkout's editable install (scripts/install-deps) still
    # wins: its .pth entry precedes /usr/lib/python3/dist-packages on sys.path.
    outside = subprocess.run(["/usr/bin/python3", "-I", "-c",
                              "import ocfkit; print(ocfkit.__file__)"],
                             capture_output=True, text=True, check=True, cwd="/")
    if any(Path(d).glob("__editable__.ocfkit-*.pth") for d in local_site_dirs()):
        assert not outside.stdout.startswith("/usr/lib/python3/"), outside.stdout


def test_crm_resource_shows_the_reviewed_metadata(installation):
    assert installation.ocf_agents, "no resource agent packaged"
    for path in installation.ocf_agents:
        agent = os.path.basename(path)
        result = isolated(["crm_resource", "--show-metadata", f"ocf:ocfkit:{agent}"],
                          check=True, timeout=60)
        committed = (installation.builds.src / "metadata" / f"{agent}.xml").read_text()
        assert result.stdout.strip() == committed.strip(), agent


def test_pcs_resource_describe(installation):
    for path in installation.ocf_agents:
        agent = os.path.basename(path)
        result = isolated(["pcs", "resource", "describe", f"ocf:ocfkit:{agent}"],
                          check=True, timeout=120)
        assert result.stdout.startswith(f"ocf:ocfkit:{agent} - "), result.stdout[:300]
        assert "Warning" not in result.stdout + result.stderr, result.stderr


def test_pcs_stonith_describe(installation):
    assert installation.fence_drivers, "no fence driver packaged"
    for path in installation.fence_drivers:
        driver = os.path.basename(path)
        result = isolated(["pcs", "stonith", "describe", driver], check=True, timeout=120)
        assert result.stdout.startswith(f"{driver} - "), result.stdout[:300]
        assert "Warning" not in result.stdout + result.stderr, result.stderr


def test_stonith_admin_lists_the_drivers_and_not_the_example(installation):
    listed = isolated(["stonith_admin", "--list-installed"], check=True, timeout=60).stdout
    names = set(listed.split())
    for path in installation.fence_drivers:
        assert os.path.basename(path) in names
    assert "fence_ocfkit_example" not in names
    assert not os.path.exists("/usr/lib/ocf/resource.d/ocfkit/ExampleService")
    assert os.path.isfile("/usr/share/doc/python3-ocfkit/examples/ExampleService")


def test_man_finds_every_page(installation):
    pages = [f"ocf_ocfkit_{os.path.basename(p)}" for p in installation.ocf_agents]
    pages += [os.path.basename(p) for p in installation.fence_drivers] + ["ocfkit"]
    for page in pages:
        result = isolated(["man", "-w", page], check=True)
        path = result.stdout.strip()
        assert re.fullmatch(rf"/usr/share/man/man[178]/{re.escape(page)}\.[178]\.gz", path), path
        whatis = subprocess.run(["lexgrog", path], capture_output=True, text=True, check=False)
        assert whatis.returncode == 0 and f"{page} - " in whatis.stdout, whatis.stdout


def _check_options(agent, tmp_path):
    """Parameters that make a probe meaningful on a shared test machine: Apache's default
    configuration may belong to an httpd someone else runs, so it gets a private one that
    is valid but never started."""
    if agent == "Apache":
        conf = tmp_path / "httpd.conf"
        conf.write_text(f"ServerRoot /etc/apache2\nListen 127.0.0.1:8\n"
                        f"PidFile {tmp_path}/httpd.pid\nErrorLog {tmp_path}/error.log\n")
        return ["-o", f"configfile={conf}"]
    return []


def test_ocfkit_check_passes_on_the_installed_agents(installation, tmp_path):
    """The conformance checker, from the package, on the packaged agents (static checks and
    the actions that need no configuration: a full lifecycle needs the agents' real
    peers, which their own tests bring up)."""
    for path in installation.ocf_agents:
        options = _check_options(os.path.basename(path), tmp_path)
        result = isolated(["/usr/bin/ocfkit", "check", "--no-lifecycle", *options, path],
                          timeout=300)
        assert result.returncode == 0, f"{path}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    for path in installation.fence_drivers:
        result = isolated(["/usr/bin/ocfkit", "check", "--fence", "--no-lifecycle", path],
                          timeout=300)
        assert result.returncode == 0, f"{path}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"


@pytest.mark.parametrize("lanplus", ["1", "0"])
def test_installed_ipmi_driver_fences_a_bmc(installation, tmp_path, lanplus):
    """The packaged fence_ocfkit_ipmi against ipmi_sim: lanplus=1 with ocfkit's own RMCP+,
    lanplus=0 through python-ipmi from the python3-pyipmi rebuild."""
    if "/usr/sbin/fence_ocfkit_ipmi" not in installation.fence_drivers:
        pytest.skip("fence_ocfkit_ipmi is not packaged")
    if shutil.which("ipmi_sim") is None:
        pytest.skip("ipmi_sim (Debian openipmi) is not installed")
    if lanplus == "0" and "python3-pyipmi" not in installation.extra:
        pytest.skip("python3-pyipmi was installed before this test; not replaced")
    from fixtures.ipmi_sim import IpmiSim

    with IpmiSim(tmp_path / "bmc") as sim:
        stdin = "".join(f"{k}={v}\n" for k, v in sim.options(action="off", lanplus=lanplus)
                        .items())
        result = isolated(["/usr/sbin/fence_ocfkit_ipmi"], input=stdin, timeout=60)
        assert result.returncode == 0, result.stderr
        assert sim.power == "off"


def test_purge_leaves_nothing(installation):
    builds = installation.builds
    installation.purge()
    for package in installation.packages + installation.extra:
        assert installed_version(package) is None, package
        status = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package],
                                capture_output=True, text=True, check=False).stdout
        assert status.strip() in ("", "un"), (package, status)
    ours = {}
    extra = [builds.python_ipmi_deb] if "python3-pyipmi" in installation.extra else []
    for deb in builds.debs + builds.old_debs + extra:
        ours.update(deb_paths(deb))
    left = []
    for path, is_dir in sorted(ours.items()):
        if not os.path.lexists(path):
            continue
        if not is_dir:
            left.append(path)
        elif path not in installation.dirs_before and not _holds_others(path, ours):
            left.append(path + "/")
    for path in ("/usr/lib/python3/dist-packages/ocfkit", "/usr/lib/python3/dist-packages/pyipmi"):
        if path in ours and os.path.exists(path) and path not in installation.dirs_before:
            left.append(path + "/ (with " + ", ".join(os.listdir(path)[:5]) + ")")
    assert not left, f"left after purge: {left}"


def _holds_others(directory, ours):
    """A directory that now holds files no package of ours shipped (another engineer's
    test agents in /usr/lib/ocf/resource.d/ocfkit, say) is not ours to miss."""
    return any(os.path.join(directory, entry) not in ours for entry in os.listdir(directory))


def test_builds_leave_the_checkout_alone(package_builds):
    for artefact in ("debian/tmp", "debian/.debhelper", ".pybuild", "debian/files",
                     "debian/python3-ocfkit"):
        assert not (ROOT / artefact).exists(), artefact
    # dpkg-buildpackage writes .debs, .changes and .buildinfo next to the tree it builds.
    new = set(ROOT.parent.iterdir()) - package_builds.parent_before
    artefacts = [path for path in new if path.suffix in (".deb", ".rpm", ".changes", ".buildinfo")]
    assert not artefacts, artefacts
