"""Metadata generated from declarations: OCF 1.1 (resource agents) and fence-agents format.

The official OCF 1.1 rules are written out as test code (the spec's RNG is not
packaged); pcs's own relaxed RNG and fence-agents' metadata.rng are used from disk.
"""

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from core_paths import SERVICE, SWITCH
from ocfkit import fence, ocf
from ocfkit.fence import metadata as fence_metadata
from ocfkit.fence import std
from ocfkit.ocf import metadata as ocf_metadata

PCS_OCF_RNG = "/usr/share/pcs/data/ocf-1.1.rng"
FENCE_RNG = "/usr/share/cluster/relaxng/metadata.rng"


class Rich(ocf.ResourceAgent):
    """Every kind of parameter & an escaping <test>.

    Long text with "quotes", <angle brackets> & ampersands.
    """

    agent_version = "2.3.4"
    ip = ocf.IPAddress(required=True, unique_group="address", shortdesc="Address & <mask>")
    prefix = ocf.CIDRPrefix(aliases=("netmask",), shortdesc="Prefix length")
    port = ocf.Port(default=80, shortdesc="TCP port")
    enabled = ocf.Boolean(default=True, shortdesc="Enabled")
    mode = ocf.Select(("fast", "safe"), default="safe", shortdesc="Mode")
    wait = ocf.Duration(default="2s", reloadable=True, shortdesc="Settle time")
    config = ocf.Path(default="/etc/rich.conf", shortdesc="Config file")
    old = ocf.String(deprecated="no longer used", shortdesc="Old knob")
    fast = ocf.Boolean(deprecated="use mode=fast", replaced_with="mode", shortdesc="Fast")
    password = ocf.String(secret=True, shortdesc="Password")

    @ocf.action(timeout="20s")
    def start(self):
        pass

    @ocf.action(timeout="20s")
    def stop(self):
        pass

    @ocf.action(timeout="20s", interval="10s", role="Promoted")
    @ocf.action(timeout="20s", interval="11s", role="Slave")
    def monitor(self):
        pass

    @ocf.action(timeout="10s")
    def promote(self):
        pass

    @ocf.action(timeout="10s")
    def demote(self):
        pass


def check_ocf_1_1_rules(root):
    """The official OCF 1.1 RNG's rules that pcs's relaxed copy does not enforce."""
    problems = []
    if root.tag != "resource-agent" or not root.get("name"):
        problems.append("root must be <resource-agent name=...>")
    order = [child.tag for child in root]
    expected = ["version", "longdesc", "shortdesc", "parameters", "actions"]
    if order[:5] != expected or any(tag != "special" for tag in order[5:]):
        problems.append(f"element order {order}, expected {expected}")
    if root.findtext("version") != "1.1":
        problems.append("<version> must be the OCF version 1.1")
    for element in root.iter():
        if element.tag in ("longdesc", "shortdesc", "desc") and not element.get("lang"):
            problems.append(f"<{element.tag}> without lang")
    parameters = root.findall("parameters/parameter")
    if not parameters:
        problems.append("at least one <parameter> is required")
    for parameter in parameters:
        tags = [child.tag for child in parameter]
        allowed = ["deprecated", "longdesc", "shortdesc", "content"]
        if [tag for tag in allowed if tag in tags] != tags or tags.count("content") != 1:
            problems.append(f"parameter {parameter.get('name')}: children {tags}")
        for attr in ("required", "reloadable", "unique"):
            if attr in parameter.attrib and parameter.get(attr) not in ("0", "1"):
                problems.append(f"parameter {parameter.get('name')}: {attr} not 0/1")
        content = parameter.find("content")
        if content.get("type") not in ("boolean", "string", "integer", "select"):
            problems.append(f"parameter {parameter.get('name')}: type {content.get('type')}")
        if content.get("type") == "select" and not content.findall("option"):
            problems.append(f"parameter {parameter.get('name')}: select without options")
        deprecated = parameter.find("deprecated")
        if deprecated is not None:
            for child in deprecated:
                if child.tag not in ("replaced-with", "desc"):
                    problems.append(f"deprecated: unexpected <{child.tag}>")
    actions = root.findall("actions/action")
    if not actions:
        problems.append("no actions")
    for action in actions:
        if not action.get("timeout"):
            problems.append(f"action {action.get('name')} without timeout")
        for attr in ("timeout", "interval", "start-delay"):
            value = action.get(attr)
            if value is not None and not (value.endswith("s") and value.rstrip("ms").isdigit()):
                problems.append(f"action {action.get('name')}: {attr}={value!r} needs a unit")
        if action.get("role") not in (None, "Promoted", "Unpromoted", "Started", "Stopped"):
            problems.append(f"action {action.get('name')}: role {action.get('role')}")
    keys = [(a.get("name"), a.get("interval", "0")) for a in actions]
    if len(keys) != len(set(keys)):
        problems.append("two actions with the same name and interval")
    return problems


def relaxng(rng_path, text):
    lxml = pytest.importorskip("lxml.etree")
    schema = lxml.RelaxNG(lxml.parse(rng_path))
    document = lxml.fromstring(text.encode())
    valid = schema.validate(document)
    return valid, str(schema.error_log)


def example_xml():
    return subprocess.run([SERVICE, "meta-data"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("source", ["Rich", "ExampleService"])
def test_ocf_metadata_keeps_the_official_1_1_rules(source):
    text = ocf_metadata.to_xml(Rich) if source == "Rich" else example_xml()
    assert check_ocf_1_1_rules(ET.fromstring(text)) == []


@pytest.mark.parametrize("source", ["Rich", "ExampleService"])
def test_ocf_metadata_validates_against_pcs_rng(source):
    text = ocf_metadata.to_xml(Rich) if source == "Rich" else example_xml()
    valid, errors = relaxng(PCS_OCF_RNG, text)
    assert valid, errors


def test_the_rule_checker_catches_what_it_should():
    """The checker above is only worth something if it fails on broken documents."""
    root = ET.fromstring(ocf_metadata.to_xml(Rich))
    root.find("version").text = "2.3.4"
    root.insert(0, root[2])  # shortdesc first
    root.find("actions/action").attrib.pop("timeout")
    root.find("parameters/parameter").set("required", "true")
    del root.find("parameters/parameter/longdesc").attrib["lang"]
    problems = " | ".join(check_ocf_1_1_rules(root))
    for expected in ("element order", "OCF version", "without timeout", "not 0/1",
                     "without lang"):
        assert expected in problems


def test_ocf_metadata_content():
    root = ET.fromstring(ocf_metadata.to_xml(Rich))
    assert root.get("name") == "Rich" and root.get("version") == "2.3.4"
    assert root.findtext("shortdesc") == "Every kind of parameter & an escaping <test>."
    assert "<angle brackets> & ampersands" in root.findtext("longdesc")
    by_name = {p.get("name"): p for p in root.iter("parameter")}
    ip = by_name["ip"]
    assert (ip.get("required"), ip.get("unique-group")) == ("1", "address")
    assert ip.findtext("shortdesc") == "Address & <mask>"
    assert by_name["port"].find("content").attrib == {"type": "integer", "default": "80"}
    assert by_name["enabled"].find("content").attrib == {"type": "boolean", "default": "true"}
    assert [o.get("value") for o in by_name["mode"].iter("option")] == ["fast", "safe"]
    assert by_name["wait"].get("reloadable") == "1"
    assert by_name["wait"].find("content").get("default") == "2s"
    # an old name: deprecated, replaced by the new one, never required
    netmask = by_name["netmask"]
    assert netmask.find("deprecated/replaced-with").get("name") == "prefix"
    assert netmask.get("required") == "0"
    assert by_name["old"].findtext("deprecated/desc") == "no longer used"
    assert by_name["fast"].find("deprecated/replaced-with").get("name") == "mode"
    assert [c.tag for c in by_name["fast"].find("deprecated")] == ["replaced-with", "desc"]
    roles = [(a.get("name"), a.get("role")) for a in root.iter("action") if a.get("role")]
    assert roles == [("monitor", "Promoted"), ("monitor", "Unpromoted")]
    names = [a.get("name") for a in root.iter("action")]
    assert names[-2:] == ["meta-data", "validate-all"]
    # a reloadable parameter without an agent-defined reload-agent gets the built-in one
    assert "reload-agent" in names


def test_ocf_metadata_escapes_raw_text():
    text = ocf_metadata.to_xml(Rich)
    assert "&amp; &lt;mask&gt;" in text
    assert "<mask>" not in text


def test_ocf_metadata_has_no_private_or_nonstandard_attributes():
    """private= is a Pacemaker extension the official RNG rejects: never emitted."""
    text = ocf_metadata.to_xml(Rich)
    assert "private=" not in text


def test_declaration_errors_are_caught_when_the_class_is_defined():
    with pytest.raises(TypeError, match="reserved"):
        class Bad(ocf.ResourceAgent):
            env = ocf.String()
    with pytest.raises(TypeError, match="role"):
        ocf.action(role="Leader")(lambda self: None)
    with pytest.raises(TypeError, match="timeout"):
        ocf.action(timeout="soon")(lambda self: None)


# ---------------------------------------------------------------- fence agents
class fence_meta_test(fence.FenceAgent):
    """Test device & <friends>.

    It has "every" standard option.
    """

    symlinks = (("fence_meta_alias", "Same device, other name"),)
    ip = std.ip(required=True)
    ipport = std.ipport(default=623)
    username = std.username()
    password = std.password()
    password_script = std.password_script()
    plug = std.plug()
    plug_separator = std.plug_separator()
    method = std.method()
    lanplus = fence.Boolean(short="P", default=False, shortdesc="Use lanplus")

    def get_power_status(self, plug):
        return fence.ON

    def set_power_status(self, plug, state):
        pass

    def reboot_cycle(self, plug):
        pass

    def get_list(self):
        return {}


def test_fence_metadata_validates_against_fence_agents_rng():
    if not os.path.exists(FENCE_RNG):
        pytest.skip("fence-agents metadata.rng not installed")
    for text in (fence_metadata.to_xml(fence_meta_test),
                 subprocess.run([SWITCH, "-o", "metadata"], capture_output=True, text=True,
                                check=True).stdout):
        valid, errors = relaxng(FENCE_RNG, text)
        assert valid, errors


def test_fence_metadata_layout():
    root = ET.fromstring(fence_metadata.to_xml(fence_meta_test))
    assert root.find("version") is None  # pcs would then apply OCF 1.1 rules and refuse
    assert root.get("shortdesc") == "Test device & <friends>."
    assert [child.tag for child in root] == ["symlink", "longdesc", "vendor-url",
                                             "parameters", "actions"]
    by_name = {p.get("name"): p for p in root.iter("parameter")}
    assert by_name["ip"].get("obsoletes") == "ipaddr"
    assert by_name["ipaddr"].get("deprecated") == "1"
    assert by_name["ip"].get("required") == "1"
    assert by_name["plug"].get("obsoletes") == "port"
    assert by_name["password"].find("getopt").get("mixed") == "-p, --password=[password]"
    assert by_name["lanplus"].find("getopt").get("mixed") == "-P, --lanplus"
    assert by_name["power_timeout"].find("content").attrib == {"type": "second",
                                                                "default": "20"}
    actions = [a.get("name") for a in root.iter("action")]
    assert actions == ["on", "off", "reboot", "status", "list", "list-status", "monitor",
                       "metadata", "manpage", "validate-all"]
    assert root.find("actions/action").get("automatic") == "0"


def _reference(agent):
    out = subprocess.run([agent, "-o", "metadata"], capture_output=True, text=True).stdout
    return {p.get("name"): p for p in ET.fromstring(out).iter("parameter")}


def test_standard_options_match_fence_agents():
    """Names, getopt strings, types, defaults and old/new links as fencing.py has them."""
    if not os.path.exists("/usr/sbin/fence_ipmilan"):
        pytest.skip("fence-agents not installed")
    reference = _reference("/usr/sbin/fence_ipmilan")
    ours = {p.get("name"): p for p in
            ET.fromstring(fence_metadata.to_xml(fence_meta_test)).iter("parameter")}
    compared = 0
    for name in ("ip", "ipaddr", "ipport", "username", "login", "password", "passwd",
                 "password_script", "passwd_script", "method", "delay", "login_timeout",
                 "power_timeout", "stonith_status_sleep", "retry_on", "debug_file",
                 "debug", "quiet", "verbose", "version", "help", "plug_separator"):
        mine, theirs = ours[name], reference[name]
        for attr in ("unique", "deprecated", "obsoletes"):
            assert mine.get(attr) == theirs.get(attr), (name, attr)
        assert mine.find("getopt").get("mixed") == theirs.find("getopt").get("mixed"), name
        assert mine.find("content").get("type") == theirs.find("content").get("type"), name
        if theirs.find("content").get("default") is not None:
            assert (mine.find("content").get("default")
                    == theirs.find("content").get("default")), name
        compared += 1
    assert compared == 22


def test_fence_agent_without_list_does_not_advertise_it():
    class fence_single(fence.FenceAgent):
        """Single target."""

        ip = std.ip()

        def get_power_status(self, plug):
            return fence.ON

        def set_power_status(self, plug, state):
            pass

    actions = [a.get("name") for a in
               ET.fromstring(fence_metadata.to_xml(fence_single)).iter("action")]
    assert "list" not in actions and "list-status" not in actions
    assert "status" in actions and "monitor" in actions
