"""fence_ocfkit_redfish on bad input: one clear line, exit 1, and no request sent (the
emulator logs every request it gets). Metadata, pcs, and the library's list for agents
without a plug."""

import os
import secrets
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from redfish_helpers import AGENT, fence, needs_root, options

FENCE_RNG = "/usr/share/cluster/relaxng/metadata.rng"

pytestmark = needs_root


def refused(result, *fragments):
    lines = result.stderr.strip().splitlines()
    assert result.rc == 1, result
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def quiet(multi):
    """The multi emulator, with its request log emptied; asserts nothing reached it."""
    multi.clear_requests()
    yield multi
    assert multi.requests() == []


def test_missing_ip(quiet):
    opts = options(quiet, action="status")
    del opts["ip"]
    refused(fence(opts), "no BMC address: set ip (or plug with port_as_ip=1)")


def test_plug_is_the_address_only_with_port_as_ip(domains, multi):
    opts = options(multi, domains, "okx-a", action="status")
    opts["plug"] = opts.pop("ip")
    refused(fence(opts), "no BMC address")
    assert fence(dict(opts, port_as_ip="1")).rc == 0
    # fenced sends plug=<node name>: with ip set, it is ignored
    assert fence(dict(opts, ip=multi.ip, plug="node1")).rc == 0


@pytest.mark.parametrize("uri", ["Systems/1", "https://198.51.100.9/redfish/v1/Systems/1",
                                 "//198.51.100.9/x", "/redfish/v1/Systems/a b"])
def test_systems_uri_that_is_not_a_path(quiet, uri):
    refused(fence(options(quiet, action="off", systems_uri=uri)),
            "systems_uri", "is not a path on the BMC")


def test_redfish_uri_that_is_not_a_path(quiet):
    refused(fence(options(quiet, action="status", redfish_uri="redfish/v1")),
            "redfish_uri 'redfish/v1' is not a path")


@pytest.mark.parametrize("data, message", [
    (b"action=status\nthis line is not an option\n", "is not key=value"),
    (b"action=status\nusername=okx-\xff\xfe\n", "is not valid UTF-8"),
    (b"\x00\x01\x02\xff\xfe garbage", "not valid UTF-8"),
])
def test_garbage_stdin(quiet, data, message):
    prefix = "".join(f"{k}={v}\n" for k, v in options(quiet).items()).encode()
    refused(fence(None, raw=prefix + data), message)


@pytest.mark.parametrize("script, message", [
    ("#!/bin/sh\nexit 3\n", "password_script failed (exit 3)"),
    ("#!/bin/sh\nexit 0\n", "password_script printed no password"),
    (None, "password_script: cannot run"),
])
def test_failing_password_script(quiet, tmp_path, script, message):
    path = tmp_path / "pw"
    if script is not None:
        path.write_text(script)
        path.chmod(0o700)
    opts = options(quiet, action="status", password=None, password_script=str(path))
    refused(fence(opts), message)


@pytest.mark.parametrize("extra, message", [
    ({"password": None}, "missing password"),
    ({"ssl": "0"}, "ssl=0 is not supported"),
    ({"ssl_insecure": "1"}, "ssl_insecure contradicts"),
    ({"ssl_ca_bundle": "/nonexistent/ca.pem"}, "cannot read ssl_ca_bundle"),
    ({"ip": "bmc one"}, "is not a host name or address"),
    ({"ip": "user@bmc"}, "is not a host name or address"),
    ({"ip": "bmc:notaport"}, "is not a host name or address"),
    ({"method": "sideways"}, "'sideways' is not one of: onoff, cycle"),
    ({"ipport": "70000"}, "70000 is out of range"),
    ({"power_timeout": "soon"}, "is not a duration"),
])
def test_bad_options(quiet, extra, message):
    refused(fence(options(quiet, action="off", **extra)), message)


def test_validate_all_sends_nothing(quiet):
    assert fence(options(quiet, action="validate-all")).rc == 0


def test_urllib3_is_not_imported_without_traffic():
    code = ("import sys\n"
            "from ocfkit.drivers.redfish import RedfishFence\n"
            "rc = RedfishFence.run(['-o', 'validate-all', '-a', 'bmc', '-l', 'u', '-p', 'x'])\n"
            "assert rc == 0, rc\n"
            "assert 'urllib3' not in sys.modules and 'ssl' not in sys.modules\n")
    subprocess.run(["/usr/bin/python3", "-I", "-c", code], check=True)


# ------------------------------------------------------------------ metadata & pcs
def test_metadata_is_valid_and_checked_in():
    text = subprocess.run([AGENT, "-o", "metadata"], capture_output=True, text=True,
                          check=True).stdout
    if os.path.exists(FENCE_RNG):
        lxml = pytest.importorskip("lxml.etree")
        schema = lxml.RelaxNG(lxml.parse(FENCE_RNG))
        assert schema.validate(lxml.fromstring(text.encode())), str(schema.error_log)
    root = ET.fromstring(text)
    names = [p.get("name") for p in root.iter("parameter")]
    # every option of fence_redfish that means something here is accepted
    for name in ("ip", "ipaddr", "ipport", "username", "login", "password", "passwd",
                 "password_script", "passwd_script", "redfish_uri", "redfish-uri",
                 "systems_uri", "systems-uri", "ssl", "ssl_insecure", "ssl_secure",
                 "power_wait", "power_timeout", "login_timeout", "delay", "method",
                 "ssl_ca_bundle", "http_timeout"):
        assert name in names, name
    actions = [a.get("name") for a in root.iter("action")]
    assert actions == ["on", "off", "reboot", "status", "list", "list-status", "monitor",
                       "metadata", "manpage", "validate-all"]
    checked_in = os.path.join(os.path.dirname(os.path.dirname(AGENT)), "metadata",
                              "fence_ocfkit_redfish.xml")
    with open(checked_in) as handle:
        assert handle.read() == text, "regenerate metadata/fence_ocfkit_redfish.xml"


@pytest.fixture
def installed():
    if os.geteuid() != 0 or not shutil.which("pcs"):
        pytest.skip("needs root and pcs")
    name = f"fence_okxredfish{secrets.token_hex(3)}"
    path = os.path.join("/usr/sbin", name)
    shutil.copy(AGENT, path)
    os.chmod(path, 0o755)
    yield name
    os.unlink(path)


def _pcs_create(cib, name, agent, *options):
    argv = ["pcs", "-f", str(cib), "stonith", "create", name, agent, "ip=bmc1.example.net",
            "username=fence", "pcmk_host_list=node1", *options, "--agent-validation"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_pcs_stonith_create_accepts_it_without_warning(installed, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)
    for name, extra in (("f1", ["password=s3cret", "ssl_insecure=1"]),
                        ("f2", ["password=s3cret",
                                "ssl_ca_bundle=/etc/ssl/certs/ca-certificates.crt",
                                "systems_uri=/redfish/v1/Systems/System.Embedded.1",
                                "method=cycle", "power_timeout=30s"])):
        result = _pcs_create(cib, name, installed, *extra)
        assert result.returncode == 0, result.stderr
        assert "warning" not in (result.stdout + result.stderr).lower(), result.stderr
    assert cib.read_text().count(f'type="{installed}"') == 2


def test_pcs_agent_validation_reports_our_message(installed, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)
    result = _pcs_create(cib, "f1", installed, "password_script=/nonexistent/okx-pw")
    assert result.returncode != 0
    assert "password_script: cannot run /nonexistent/okx-pw" in result.stderr
