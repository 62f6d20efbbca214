"""The packaging derives from the declarations and they tell the truth: generated files
are current, versions agree, every launcher ships (or is an example), and each package
depends on exactly the Python distributions its code imports.
"""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pkgbuild import ROOT, copy_tree, load_shipping

shipping = load_shipping()
LIB = ROOT / "lib"


def test_generated_packaging_files_are_current():
    """metadata/, debian/control, debian/*.install and rpm/ocfkit.spec match agents/,
    fence/ and pyproject.toml; debian/changelog and the spec are at lib/ocfkit's version.
    (A subprocess: shipping.py imports this tree's ocfkit, not whichever one is loaded.)"""
    result = subprocess.run(["/usr/bin/python3", "-I", "packaging-tools/shipping.py", "check"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("python, package", [
    ("0.1.0", "0.1.0"), ("1.2", "1.2"), ("0.2.0rc1", "0.2.0~rc1"), ("0.2.0b3", "0.2.0~b3"),
    ("0.2.0.dev4", "0.2.0~~dev4"), ("0.2.0rc1.dev2", "0.2.0~rc1~dev2"),
])
def test_package_version_sorts_like_pep440(python, package):
    assert shipping.package_version(python) == package


def test_package_versions_sort_in_dpkg_and_rpm_like_in_pep440():
    ordered = ["0.1.9", "0.2.0.dev1", "0.2.0a1.dev1", "0.2.0a1", "0.2.0b1", "0.2.0rc1.dev1",
               "0.2.0rc1", "0.2.0", "0.2.1.dev0"]
    for older, newer in zip(ordered, ordered[1:]):
        old, new = shipping.package_version(older), shipping.package_version(newer)
        dpkg = subprocess.run(["dpkg", "--compare-versions", old, "lt", new], check=False)
        assert dpkg.returncode == 0, (older, newer)
        rpm = subprocess.run(["rpm", "--eval", f'%{{lua: print(rpm.vercmp("{old}", "{new}"))}}'],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert rpm == "-1", (older, newer)


@pytest.mark.parametrize("bad", ["0.1.0.post1", "0.1.0+local", "v1"])
def test_unsupported_versions_are_refused(bad):
    with pytest.raises(shipping.ShippingError):
        shipping.package_version(bad)


def test_every_launcher_ships_or_is_an_example():
    shipped = {item.source for item in shipping.discover()}
    for directory in ("agents", "fence"):
        for launcher in shipping.launchers(ROOT, directory):
            rel = f"{directory}/{launcher.name}"
            assert rel in shipped or rel in shipping.EXAMPLES, rel
    for example in shipping.EXAMPLES:
        assert (ROOT / example).is_file(), f"declared example {example} does not exist"


def test_launchers_use_the_system_interpreter_isolated():
    for item in shipping.discover():
        first = (ROOT / item.source).read_text().splitlines()[0]
        assert re.fullmatch(r"#!/usr/bin/python3 -I[A-Za-z]*", first), (item.source, first)


# --------------------------------------------------------------------- imports
def _module_file(name):
    path = LIB.joinpath(*name.split("."))
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    if path.with_suffix(".py").exists():
        return path.with_suffix(".py")
    return None


def _imports(path, package):
    """Absolute module names imported anywhere in the file (lazy imports included, and
    drivers' ``import_dependency("module", ...)`` calls)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "import_dependency"
                and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(node.args[0].value)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(start):
    """Top-level non-stdlib modules reachable from ``start`` through ocfkit's modules."""
    seen, queue, outside = set(), [(start, "")], set()
    while queue:
        path, package = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path, package):
            top = name.split(".")[0]
            if top == "ocfkit":
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # parents' __init__ run too
                    found = _module_file(".".join(parts[:depth]))
                    if found:
                        owner = ".".join(parts[:depth] if found.name == "__init__.py"
                                         else parts[:depth - 1])
                        queue.append((found, owner))
            elif top not in sys.stdlib_module_names:
                outside.add(top)
    return outside


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions(modules):
    owners = importlib.metadata.packages_distributions()
    out = set()
    for module in modules:
        assert module in owners, (f"{module} is imported but not installed here, so its "
                                  "distribution is unknown: add it to ci/deps")
        out.update(_canonical(dist) for dist in owners[module])
    return out


def declared(key):
    return {_canonical(shipping.parse_requirement(req)[0])
            for req in shipping.extras().get(key, [])}


ITEMS = shipping.discover()


@pytest.mark.parametrize("item", ITEMS, ids=[item.name for item in ITEMS])
def test_agent_dependencies_are_exactly_its_imports(item):
    """The pyproject extra named after an agent or driver (what its package depends on,
    hard or weakly per OPTIONAL_IMPORTS) lists exactly the distributions its code imports."""
    imported = distributions(third_party_imports(ROOT / item.source))
    assert declared(item.key) == imported, (
        f"{item.source} imports {sorted(imported)}; pyproject.toml extra {item.key!r} "
        f"declares {sorted(declared(item.key))}")
    optional = {_canonical(name) for name in shipping.OPTIONAL_IMPORTS.get(item.name, {})}
    assert optional <= imported, f"OPTIONAL_IMPORTS names what {item.name} does not import"


def test_command_dependencies_are_exactly_its_imports():
    """The ocfkit command (cli, check, lab) imports what TOOL_EXTRAS declares."""
    imported = distributions(third_party_imports(LIB / "ocfkit" / "cli.py"))
    wanted = set().union(*(declared(key) for key in shipping.TOOL_EXTRAS))
    assert wanted == imported


# --------------------------------------------------------------------- pip
@pytest.mark.slow
def test_pip_install_still_works(tmp_path):
    """For people writing their own agents on the library: a wheel of the tree installs
    into a fresh virtual environment and gives the ocfkit command."""
    src = copy_tree(tmp_path / "src")
    subprocess.run(["/usr/bin/python3", "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--wheel-dir", str(tmp_path / "dist"),
                    str(src)], check=True, capture_output=True, timeout=300)
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(tmp_path / "venv")],
                   check=True, timeout=120)
    python = tmp_path / "venv" / "bin" / "python"
    wheel = next((tmp_path / "dist").glob("ocfkit-*.whl"))
    subprocess.run(["/usr/bin/python3", "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    out = subprocess.run([str(tmp_path / "venv" / "bin" / "ocfkit"), "--version"],
                         capture_output=True, text=True, check=True, cwd="/").stdout
    assert out.strip() == f"ocfkit {shipping.python_version()}"
    where = subprocess.run([str(python), "-I", "-c",
                            "import ocfkit.ocf, ocfkit.fence; print(ocfkit.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/").stdout
    assert Path(where.strip()).is_relative_to(tmp_path / "venv"), where
