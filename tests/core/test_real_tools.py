"""The example agents against Pacemaker's and pcs's own tools, installed for the test
under a unique provider / fence name and removed afterwards."""

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from core_paths import SERVICE, SWITCH, test_agent
from ocfkit.testing import installed_fence_agent, installed_resource_agent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="installs agents into system paths"),
]

PROVIDER = f"ocfkit-core-{os.getpid()}"
FENCE_NAME = f"fence_ocfkitcore{os.getpid()}"


def tool(*argv, env=None, check_rc=0):
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=120,
                            env=env)
    if check_rc is not None:
        assert result.returncode == check_rc, (argv, result.stdout, result.stderr)
    return result


def no_warning(result):
    text = (result.stdout + result.stderr).lower()
    assert "warning" not in text and "error" not in text, result.stdout + result.stderr


@pytest.fixture(scope="module", autouse=True)
def installed():
    with installed_resource_agent(SERVICE, test_agent("PromotableFile"), provider=PROVIDER), \
            installed_fence_agent(SWITCH, FENCE_NAME):
        yield
    assert not os.path.exists(f"/usr/lib/ocf/resource.d/{PROVIDER}")
    assert not os.path.exists(f"/usr/sbin/{FENCE_NAME}")


@pytest.fixture
def cib(tmp_path):
    path = tmp_path / "cib.xml"
    path.write_text(tool("cibadmin", "--empty").stdout)
    return str(path)


# ------------------------------------------------------------------ resource agents
def test_crm_resource_show_metadata():
    shown = tool("crm_resource", "--show-metadata", f"ocf:{PROVIDER}:ExampleService")
    direct = tool(SERVICE, "meta-data")
    assert ET.fromstring(shown.stdout).get("name") == "ExampleService"
    assert shown.stdout.strip() == direct.stdout.strip()


def validate(*options):
    argv = ["crm_resource", "--validate", "--class", "ocf", "--provider", PROVIDER,
            "--agent", "ExampleService"]
    for option in options:
        argv += ["--option", option]
    return tool(*argv, check_rc=None)


def test_crm_resource_validate(tmp_path):
    ok = validate(f"path={tmp_path}/state")
    assert ok.returncode == 0, ok.stderr
    elsewhere = validate("path=/nonexistent-dir/state")
    assert elsewhere.returncode != 0
    assert "returned 2 (invalid parameter: directory of /nonexistent-dir/state" in \
        elsewhere.stdout + elsewhere.stderr
    missing = validate()
    assert "returned 6 (not configured: required parameter not set: path)" in \
        missing.stdout + missing.stderr


def test_pcs_resource_describe():
    result = tool("pcs", "resource", "describe", f"ocf:{PROVIDER}:ExampleService")
    no_warning(result)
    assert "path (required) (unique group: path): State file" in result.stdout
    assert "OCF_CHECK_LEVEL=10" in result.stdout


def test_pcs_resource_create_without_warning_or_force(cib, tmp_path):
    result = tool("pcs", "-f", cib, "resource", "create", "es",
                  f"ocf:{PROVIDER}:ExampleService", f"path={tmp_path}/state")
    no_warning(result)
    root = ET.parse(cib).getroot()
    primitive = root.find(".//primitive[@id='es']")
    assert primitive.get("provider") == PROVIDER
    ops = {(op.get("name"), op.get("interval")) for op in primitive.iter("op")}
    assert {("monitor", "10s"), ("monitor", "60s"), ("start", "0s"), ("stop", "0s"),
            ("reload-agent", "0s")} <= ops
    deep = primitive.find(".//op[@interval='60s']//nvpair[@name='OCF_CHECK_LEVEL']")
    assert deep.get("value") == "10"


def test_pcs_rejects_a_bad_value_through_validate_all(cib):
    result = tool("pcs", "-f", cib, "resource", "create", "bad",
                  f"ocf:{PROVIDER}:ExampleService", "path=relative", "--agent-validation",
                  check_rc=None)
    assert result.returncode != 0
    assert "'relative' is not an absolute path" in result.stdout + result.stderr


def test_pcs_creates_the_promotable_agent(cib, tmp_path):
    result = tool("pcs", "-f", cib, "resource", "create", "pf",
                  f"ocf:{PROVIDER}:PromotableFile", f"path={tmp_path}/role", "promotable")
    no_warning(result)
    root = ET.parse(cib).getroot()
    clone = root.find(".//clone")
    assert clone is not None
    assert clone.find(".//nvpair[@name='promotable']").get("value") == "true"
    roles = {op.get("role") for op in clone.iter("op") if op.get("name") == "monitor"}
    assert roles == {"Promoted", "Unpromoted"}


# ---------------------------------------------------------------------- fence agents
def test_stonith_admin_metadata():
    result = tool("stonith_admin", "--metadata", "--agent", FENCE_NAME)
    root = ET.fromstring(result.stdout)
    assert root.get("shortdesc") == "Example: power switch backed by files."
    assert root.find("parameters/parameter[@name='directory']") is not None


def test_stonith_admin_validate(tmp_path):
    ok = tool("stonith_admin", "--validate", "--agent", FENCE_NAME,
              "--option", f"directory={tmp_path}", check_rc=None)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tool("stonith_admin", "--validate", "--agent", FENCE_NAME, check_rc=None)
    assert bad.returncode != 0
    assert "missing required option: directory" in bad.stdout + bad.stderr


def test_pcs_stonith_describe():
    result = tool("pcs", "stonith", "describe", FENCE_NAME)
    no_warning(result)
    assert "directory (required): Directory holding one file per outlet" in result.stdout


def test_pcs_stonith_create_without_warning(cib, tmp_path):
    result = tool("pcs", "-f", cib, "stonith", "create", "f1", FENCE_NAME,
                  f"directory={tmp_path}", "pcmk_host_list=n1 n2")
    no_warning(result)
    primitive = ET.parse(cib).getroot().find(".//primitive[@id='f1']")
    assert (primitive.get("class"), primitive.get("type")) == ("stonith", FENCE_NAME)


def test_pcs_stonith_create_with_the_deprecated_plug_name_only_warns(cib, tmp_path):
    result = tool("pcs", "-f", cib, "stonith", "create", "f2", FENCE_NAME,
                  f"directory={tmp_path}", "port=n1", check_rc=0)
    assert "deprecated" in (result.stdout + result.stderr).lower()
