"""Static rules on a fence agent's metadata (contract B9): the fence-agents layout that
``stonith_admin --metadata`` and ``pcs stonith create`` accept."""

import os
import re
import xml.etree.ElementTree as ET

FENCE_RNG = "/usr/share/cluster/relaxng/metadata.rng"
PCS_RNG = "/usr/share/pcs/data/ocf-1.0.rng"
REQUIRED_ACTIONS = ("off", "status", "monitor", "metadata")
# Pacemaker and pcs treat these as not required whatever the metadata says (B9).
NEVER_REQUIRED = {"action", "port", "plug", "nodename", "help", "version"}


class Option:
    def __init__(self, element):
        self.name = element.get("name")
        self.required = element.get("required") == "1"
        self.deprecated = element.get("deprecated") == "1"
        self.obsoletes = element.get("obsoletes")
        content = element.find("content")
        self.type = content.get("type") if content is not None else None
        getopt = element.find("getopt")
        self.long, self.short = _parse_getopt(getopt.get("mixed") if getopt is not None
                                              else None)


def _parse_getopt(mixed):
    """``"-a, --ip=[ip]"`` -> ("--ip", "-a"); either may be None."""
    if not mixed:
        return None, None
    long = re.search(r"(--[A-Za-z0-9][\w-]*)", mixed)
    short = re.search(r"(?:^|[\s,])(-[A-Za-z0-9])\b", mixed)
    return (long.group(1) if long else None), (short.group(1) if short else None)


class FenceMetadata:
    def __init__(self, root):
        self.name = root.get("name")
        self.options = {o.name: o for o in (Option(e) for e in
                                             root.iterfind("parameters/parameter"))
                        if o.name}
        self.actions = {a.get("name") for a in root.iterfind("actions/action")}

    def has(self, action):
        return action in self.actions

    def partner(self, name):
        """The other name of a deprecated/obsoletes pair, or None."""
        option = self.options.get(name)
        if option is not None and option.obsoletes:
            return option.obsoletes
        for other in self.options.values():
            if other.obsoletes == name:
                return other.name
        return None

    def required(self):
        return [o.name for o in self.options.values()
                if o.required and not o.deprecated and o.name not in NEVER_REQUIRED]

    def secrets(self):
        """Options holding a password (not the path of a password script)."""
        return [name for name in self.options
                if "passw" in name and not name.endswith("_script")]

    def target_option(self):
        """The option Pacemaker puts the target in: plug if listed, else port (B2)."""
        for name in ("plug", "port"):
            if name in self.options:
                return name
        return None


def check(report, text, agent_path):
    try:
        root = ET.fromstring(text.strip().encode())
    except ET.ParseError as exc:
        before = text.lstrip()[:40]
        hint = "" if before.startswith("<") else f" (stdout starts with {before!r})"
        report.fail("fence-metadata-xml", f"metadata stdout is not well-formed XML: {exc}{hint}")
        return None
    report.ok("fence-metadata-xml", "metadata stdout is one well-formed XML document")
    if root.tag != "resource-agent":
        report.fail("fence-metadata-layout", f"root element is <{root.tag}>")
        return None
    _layout(report, root, agent_path)
    if root.find("version") is not None:
        report.fail("fence-metadata-version", "metadata has a <version> element "
                    f"({(root.find('version').text or '').strip()!r}): pcs then validates it "
                    "as OCF 1.x and refuses the fence-agents layout")
    else:
        report.ok("fence-metadata-version", "no <version> element")
    _schemas(report, text)
    _deprecated(report, root)
    _actions(report, root)
    return FenceMetadata(root)


def _layout(report, root, agent_path):
    start = len(report.findings)
    name = root.get("name")
    base = os.path.basename(agent_path)
    symlinks = {s.get("name") for s in root.findall("symlink")}
    if not name:
        report.fail("fence-metadata-layout", "<resource-agent> has no name attribute")
    elif name != base and base not in symlinks:
        report.warn("fence-metadata-layout", f'<resource-agent name="{name}"> differs from the '
                    f"file name {base!r}")
    if not base.startswith("fence_"):
        report.warn("fence-metadata-layout", f"file name {base!r} does not start with fence_: "
                    "pacemaker-fenced only lists fence_* in its bin directory")
    if not root.get("shortdesc"):
        report.fail("fence-metadata-layout", "<resource-agent> has no shortdesc attribute "
                    "(the fence-agents layout keeps the one-line description there)")
    for param in root.iterfind("parameters/parameter"):
        where = f"parameter {param.get('name')!r}"
        if param.find("getopt") is None or not param.find("getopt").get("mixed"):
            report.fail("fence-metadata-layout", f"{where} has no <getopt mixed=...>")
        if param.find("content") is None:
            report.fail("fence-metadata-layout", f"{where} has no <content>")
        for attr in ("required", "unique", "deprecated"):
            value = param.get(attr)
            if value is not None and value not in ("0", "1"):
                report.fail("fence-metadata-layout", f'{where}: {attr}="{value}" (0 or 1)')
    if not any(f.status == "FAIL" for f in report.findings[start:]):
        report.ok("fence-metadata-layout", "name, shortdesc attribute, getopt in every "
                  "parameter, booleans 0/1")


def _schemas(report, text):
    try:
        from lxml import etree
    except ImportError:
        report.skip("fence-metadata-schema", "python3-lxml is not installed: RNGs not applied")
        return
    try:
        document = etree.fromstring(text.strip().encode())
    except etree.XMLSyntaxError as exc:
        report.fail("fence-metadata-schema", f"lxml cannot parse the metadata: {exc}")
        return
    for path, who in ((FENCE_RNG, "fence-agents' metadata.rng"), (PCS_RNG, "pcs's ocf-1.0.rng")):
        if not os.path.exists(path):
            report.skip("fence-metadata-schema", f"{path} not found")
            continue
        schema = etree.RelaxNG(file=path)
        if schema.validate(document):
            report.ok("fence-metadata-schema", f"valid against {who}")
        else:
            errors = "; ".join(f"line {e.line}: {e.message}"
                               for e in list(schema.error_log)[:3])
            report.fail("fence-metadata-schema", f"invalid against {who}: {errors}")


def _deprecated(report, root):
    params = {p.get("name"): p for p in root.iterfind("parameters/parameter")}
    start = len(report.findings)
    replaced = set()
    for name, param in params.items():
        old = param.get("obsoletes")
        if not old:
            continue
        replaced.add(old)
        if old not in params:
            report.fail("fence-metadata-deprecated", f'parameter {name!r}: obsoletes="{old}" '
                        "names no parameter")
        elif params[old].get("deprecated") != "1":
            report.fail("fence-metadata-deprecated", f'parameter {old!r} is obsoleted by '
                        f'{name!r} but lacks deprecated="1"')
    for name, param in params.items():
        if param.get("deprecated") == "1" and name not in replaced:
            report.warn("fence-metadata-deprecated", f'parameter {name!r} is deprecated="1" '
                        'but no parameter has obsoletes="' + name + '": pcs cannot tell '
                        "users what replaces it")
    if not any(f.status in ("FAIL", "WARN") for f in report.findings[start:]):
        report.ok("fence-metadata-deprecated", "deprecated/obsoletes pairs consistent")


def _actions(report, root):
    actions = {a.get("name") for a in root.iterfind("actions/action")}
    missing = [a for a in REQUIRED_ACTIONS if a not in actions]
    if missing:
        report.fail("fence-metadata-actions", f"not advertised: {', '.join(missing)}")
    else:
        report.ok("fence-metadata-actions", "off, status, monitor, metadata advertised")
    if "reboot" not in actions:
        report.warn("fence-metadata-actions", "reboot not advertised: pacemaker-fenced turns "
                    "every reboot into off (right only for fabric agents)")
    for action in root.iterfind("actions/action"):
        for attr in ("automatic", "on_target"):
            value = action.get(attr)
            if value is not None and value not in ("0", "1"):
                report.fail("fence-metadata-actions", f"action {action.get('name')!r}: "
                            f'{attr}="{value}" (0 or 1)')
