"""Static rules on an OCF agent's meta-data XML (contract A9, B10).

Two layers: pcs's own RNG (``/usr/share/pcs/data/ocf-1.x.rng``, through lxml when it is
installed) says whether pcs will accept the agent at all; the rules of the official OCF
1.1 RNG and DTD, written out here in Python, say what is wrong in words a user can act
on (and work without lxml). pcs's copy is deliberately relaxed, so the Python rules are
the stricter of the two.
"""

import os
import re
import xml.etree.ElementTree as ET

PCS_RNG = {"1.0": "/usr/share/pcs/data/ocf-1.0.rng", "1.1": "/usr/share/pcs/data/ocf-1.1.rng"}
TOP_ORDER = ("version", "longdesc", "shortdesc", "parameters", "actions", "special")
PARAM_ORDER = ("deprecated", "longdesc", "shortdesc", "content")
TYPES = {"1.1": {"boolean", "string", "integer", "select"},
         "1.0": {"boolean", "string", "integer", "time"}}
# Accepted by pcs (it says so in its RNG) though not by the OCF spec.
PCS_EXTRA_TYPES = {"percentage", "time"}
ROLES = {"Promoted", "Unpromoted"}
LEGACY_ROLES = {"Master", "Slave", "Started", "Stopped"}
BOOLEAN_ATTRS = ("required", "unique", "reloadable")
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_UNITS_MS = {"ms": 1, "msec": 1, "us": 0.001, "usec": 0.001, "s": 1000, "sec": 1000,
             "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000}


def duration_ms(text):
    """A Pacemaker time value in ms (bare number = seconds), or None if unparseable."""
    match = _DURATION.match(text or "")
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2).lower()
    if not unit:
        return int(number * 1000)
    if unit not in _UNITS_MS:
        return None
    return int(number * _UNITS_MS[unit])


class Param:
    def __init__(self, element):
        self.name = element.get("name")
        self.required = element.get("required") in ("1",)
        content = element.find("content")
        self.type = content.get("type") if content is not None else None
        self.default = content.get("default") if content is not None else None
        self.options = ([o.get("value") for o in content.findall("option")]
                        if content is not None else [])
        self.deprecated = element.find("deprecated") is not None


class Action:
    def __init__(self, element):
        self.name = element.get("name")
        self.timeout_ms = duration_ms(element.get("timeout"))
        self.interval_ms = duration_ms(element.get("interval") or "0") or 0
        depth = element.get("depth") or "0"
        self.depth = int(depth) if depth.isdigit() else 0
        self.role = element.get("role")


class Metadata:
    """What the dynamic checks need from the metadata."""

    def __init__(self, root):
        self.name = root.get("name")
        self.agent_version = root.get("version")
        version = root.find("version")
        self.ocf_version = version.text.strip() if version is not None and version.text \
            else None
        self.params = [Param(e) for e in root.iterfind("parameters/parameter")
                       if e.get("name")]
        self.actions = [Action(e) for e in root.iterfind("actions/action") if e.get("name")]

    def action(self, name):
        return next((a for a in self.actions if a.name == name), None)

    def has(self, name):
        return self.action(name) is not None

    def timeout_s(self, name, default=20.0):
        action = self.action(name)
        if action is None or not action.timeout_ms:
            return default
        return action.timeout_ms / 1000.0

    def monitors(self):
        """Recurring monitors to exercise on a running, unpromoted resource."""
        found = [a for a in self.actions if a.name == "monitor" and a.role != "Promoted"
                 and a.role != "Master"]
        return found or [a for a in self.actions if a.name == "monitor"][:1]


def parse(text):
    """(root element, None) or (None, one-line error)."""
    try:
        return ET.fromstring(text.strip().encode()), None
    except ET.ParseError as exc:
        return None, f"not well-formed XML: {exc}"


def check(report, text, agent_path):
    """Apply every static rule to meta-data's stdout; returns Metadata or None."""
    root, error = parse(text)
    if root is None:
        before = text.lstrip()[:40]
        hint = "" if before.startswith("<") else f" (stdout starts with {before!r})"
        report.fail("metadata-xml", f"meta-data stdout is {error}{hint}")
        return None
    report.ok("metadata-xml", "meta-data stdout is one well-formed XML document")
    if root.tag != "resource-agent":
        report.fail("metadata-root", f"root element is <{root.tag}>, not <resource-agent>")
        return None
    _check_root(report, root, agent_path)
    version = _check_version(report, root)
    _check_pcs(report, root, text, version)
    # An unusable <version> is reported above; judge the rest by the 1.1 rules it most
    # likely meant, a missing one by the 1.0 rules it implies.
    strict = version or ("1.1" if root.find("version") is not None else "1.0")
    _check_order(report, root, strict)
    _check_parameters(report, root, strict)
    _check_actions(report, root)
    return Metadata(root)


def _check_root(report, root, agent_path):
    name = root.get("name")
    if not name:
        report.fail("metadata-root", "<resource-agent> has no name attribute")
    elif name != os.path.basename(agent_path):
        report.warn("metadata-root", f'<resource-agent name="{name}"> differs from the '
                    f"file name {os.path.basename(agent_path)!r}")
    else:
        report.ok("metadata-root", f'<resource-agent name="{name}">')


def _check_version(report, root):
    elements = root.findall("version")
    agent_version = root.get("version")
    if not elements:
        report.warn("metadata-version", "no <version> element: Pacemaker logs a warning and "
                    "pcs treats the agent as OCF 1.0")
        return None
    if len(elements) > 1:
        report.fail("metadata-version", f"{len(elements)} <version> elements")
    value = (elements[0].text or "").strip()
    if value in ("1.0", "1.1"):
        report.ok("metadata-version", f"<version>{value}</version>")
        if value == "1.0":
            report.note("metadata-version", "metadata declares OCF 1.0: pcs and Pacemaker "
                        "ignore 1.1 features (reloadable, unique-group, deprecated)")
        return value
    mistake = (" -- it equals the agent's version attribute: the agent version was put "
               "where the OCF API version belongs" if value == agent_version else "")
    report.fail("metadata-version", f"<version> is {value!r}; pcs refuses the agent "
                f"('does not provide valid metadata'){mistake}")
    return None


def _check_pcs(report, root, text, version):
    element = root.find("version")
    if element is not None and version is None:
        report.fail("metadata-pcs", f"pcs refuses metadata whose <version> is "
                    f"{(element.text or '').strip()!r}: it only knows 1.0 and 1.1")
        return
    root_version = version or "1.0"
    rng = PCS_RNG[root_version]
    try:
        from lxml import etree
    except ImportError:
        report.skip("metadata-pcs", "python3-lxml is not installed: pcs's RNG not applied")
        return
    if not os.path.exists(rng):
        report.skip("metadata-pcs", f"{rng} not found (pcs not installed)")
        return
    try:
        document = etree.fromstring(text.strip().encode())
        schema = etree.RelaxNG(file=rng)
    except etree.XMLSyntaxError as exc:
        report.fail("metadata-pcs", f"pcs cannot parse the metadata: {exc}")
        return
    if schema.validate(document):
        report.ok("metadata-pcs", f"valid against {rng}")
    else:
        errors = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:3])
        report.fail("metadata-pcs", f"invalid against {os.path.basename(rng)} (pcs refuses "
                    f"the agent without --force): {errors}")


def _children(element):
    return [child for child in element if isinstance(child.tag, str)]


def _check_order(report, root, version):
    last_rank, last_tag, bad = -1, None, False
    for child in _children(root):
        if child.tag not in TOP_ORDER:
            report.fail("metadata-order", f"unexpected element <{child.tag}> in "
                        "<resource-agent>")
            bad = True
            continue
        rank = TOP_ORDER.index(child.tag)
        if rank < last_rank:
            report.fail("metadata-order", f"<{child.tag}> comes after <{last_tag}>")
            bad = True
        elif rank == last_rank and child.tag in ("version", "parameters", "actions", "special"):
            report.fail("metadata-order", f"more than one <{child.tag}>")
            bad = True
        else:
            last_rank, last_tag = rank, child.tag
    for tag in ("longdesc", "shortdesc"):
        element = root.find(tag)
        if element is None:
            report.warn("metadata-order", f"no <{tag}> for the agent: pcs shows no description")
        else:
            _check_lang(report, element, f"the agent's <{tag}>", version)
    if not bad:
        report.ok("metadata-order", "version, longdesc, shortdesc, parameters, actions in order")


def _check_lang(report, element, where, version):
    if element.get("lang"):
        return
    text = f"{where} has no lang attribute"
    if version == "1.1":
        report.fail("metadata-lang", text)
    else:
        report.warn("metadata-lang", text + " (optional in OCF 1.0, required in 1.1)")


def _check_parameters(report, root, version):
    parameters = root.findall("parameters")
    params = [p for block in parameters for p in block.findall("parameter")]
    if not parameters and version == "1.1":
        report.fail("metadata-parameters", "no <parameters> element (OCF 1.1 requires one "
                    "with at least one <parameter>)")
    elif not params and version == "1.1":
        report.fail("metadata-parameters", "<parameters> is empty (OCF 1.1 requires at least "
                    "one <parameter>)")
    names = [p.get("name") for p in params]
    for name in sorted({n for n in names if names.count(n) > 1 and n}):
        report.fail("metadata-parameters", f"parameter {name!r} is declared twice")
    start = len(report.findings)
    for param in params:
        _check_parameter(report, param, version, set(names))
    if params:
        _ok_unless(report, start, "metadata-parameters",
                   f"{len(params)} parameters, each with longdesc, shortdesc and content")
        _ok_unless(report, start, "metadata-boolean", "boolean attributes are 0 or 1")
        _ok_unless(report, start, "metadata-lang", "every description has lang")
        _ok_unless(report, start, "metadata-content", "content types and defaults are valid")


def _ok_unless(report, start, rule, message):
    if not any(f.rule.id == rule and f.status in ("FAIL", "WARN")
               for f in report.findings[start:]):
        report.ok(rule, message)


def _check_parameter(report, param, version, all_names):
    name = param.get("name")
    if not name:
        report.fail("metadata-parameters", "a <parameter> has no name attribute")
        return
    where = f"parameter {name!r}"
    tags = [c.tag for c in _children(param)]
    ranks = [PARAM_ORDER.index(t) for t in tags if t in PARAM_ORDER]
    for tag in tags:
        if tag not in PARAM_ORDER:
            report.fail("metadata-parameter-order", f"{where}: unexpected element <{tag}>")
    if ranks != sorted(ranks):
        report.fail("metadata-parameter-order", f"{where}: children in order "
                    f"{', '.join(t for t in tags if t in PARAM_ORDER)}; OCF wants "
                    "deprecated, longdesc, shortdesc, content")
    elif tags:
        report.ok("metadata-parameter-order", "parameter children in order")
    for tag in ("longdesc", "shortdesc", "content"):
        if tag not in tags:
            report.fail("metadata-parameters", f"{where} has no <{tag}>")
    if tags.count("content") > 1:
        report.fail("metadata-parameters", f"{where} has more than one <content>")
    for tag in ("longdesc", "shortdesc"):
        for element in param.findall(tag):
            _check_lang(report, element, f"<{tag}> of {where}", version)
    deprecated = param.find("deprecated")
    if deprecated is not None:
        for desc in deprecated.findall("desc"):
            _check_lang(report, desc, f"<deprecated><desc> of {where}", version)
        for replaced in deprecated.findall("replaced-with"):
            target = replaced.get("name")
            if target not in all_names:
                report.fail("metadata-deprecated", f"{where}: <replaced-with name="
                            f"\"{target}\"> names no parameter of the agent")
    for attr in BOOLEAN_ATTRS:
        value = param.get(attr)
        if value is not None and value not in ("0", "1"):
            report.fail("metadata-boolean", f'{where}: {attr}="{value}" (pcs rejects '
                        "anything but 0 or 1)")
    _check_unique(report, param, where, version)
    content = param.find("content")
    if content is not None:
        _check_content(report, content, where, version)


def _check_unique(report, param, where, version):
    unique, group = param.get("unique"), param.get("unique-group")
    if version == "1.1":
        if unique == "1" and not group:
            report.fail("metadata-unique-group", f'{where}: unique="1" without unique-group: '
                        "in OCF 1.1 metadata pcs ignores unique=, so nothing is enforced")
        elif unique == "0" and group:
            report.warn("metadata-unique-group", f'{where}: unique="0" contradicts '
                        f'unique-group="{group}"')
    elif group:
        report.warn("metadata-unique-group", f"{where}: unique-group in OCF 1.0 metadata is "
                    "ignored by pcs (it reads unique= there)")


def _check_content(report, content, where, version):
    kind = content.get("type")
    allowed = TYPES[version]
    if kind is None:
        report.fail("metadata-content", f"{where}: <content> has no type")
        return
    if kind not in allowed:
        if kind in PCS_EXTRA_TYPES or (version == "1.0" and kind == "select"):
            report.warn("metadata-content", f'{where}: type="{kind}" is not an OCF '
                        f"{version} type (pcs tolerates it)")
        else:
            report.fail("metadata-content", f'{where}: type="{kind}" (OCF {version} '
                        f"types: {', '.join(sorted(allowed))})")
        return
    default = content.get("default")
    options = [o.get("value") for o in content.findall("option")]
    if kind == "select":
        if not options:
            report.fail("metadata-content", f'{where}: type="select" lists no <option>')
        elif default not in (None, "") and default not in options:
            report.fail("metadata-content", f"{where}: default {default!r} is not one of "
                        f"its options {options}")
    elif kind == "integer" and default not in (None, ""):
        if not re.match(r"^[+-]?\d+$", default.strip()):
            report.fail("metadata-content", f"{where}: integer default {default!r}")
    elif kind == "boolean" and default not in (None, ""):
        if default.strip().lower() not in _TRUE | _FALSE:
            report.fail("metadata-content", f"{where}: boolean default {default!r}")


def _check_actions(report, root):
    blocks = root.findall("actions")
    actions = [a for block in blocks for a in block.findall("action")]
    if not actions:
        report.fail("metadata-actions", "no <action> advertised")
        return
    names = {a.get("name") for a in actions}
    missing = [n for n in ("start", "stop", "monitor", "meta-data") if n not in names]
    if missing:
        report.fail("metadata-actions", f"not advertised: {', '.join(missing)} (mandatory "
                    "OCF actions)")
    else:
        report.ok("metadata-actions", "start, stop, monitor, meta-data advertised")
    if ("promote" in names) != ("demote" in names):
        report.fail("metadata-actions", "promote and demote must be advertised together")
    bad_timeout = bad_units = False
    recurring = {}
    for action in actions:
        name = action.get("name") or "?"
        if not action.get("name"):
            report.fail("metadata-actions", "an <action> has no name attribute")
        where = f"action {name!r}"
        if action.get("interval"):
            where += f" (interval {action.get('interval')})"
        if action.get("timeout") is None:
            report.fail("metadata-action-timeout", f"{where} has no timeout")
            bad_timeout = True
        for attr in ("timeout", "interval", "start-delay"):
            value = action.get(attr)
            if value is None:
                continue
            if duration_ms(value) is None:
                report.fail("metadata-time-units", f'{where}: {attr}="{value}" is not a '
                            "time value Pacemaker understands")
                bad_units = True
            elif re.match(r"^\s*\d+(\.\d+)?\s*$", value):
                report.fail("metadata-time-units", f'{where}: {attr}="{value}" has no unit '
                            f'(write "{value.strip()}s")')
                bad_units = True
        depth = action.get("depth")
        if depth is not None and not depth.strip().isdigit():
            report.fail("metadata-actions", f'{where}: depth="{depth}" is not an integer')
        role = action.get("role")
        if role is not None:
            if role in LEGACY_ROLES:
                report.warn("metadata-roles", f'{where}: legacy role="{role}" (OCF 1.1: '
                            "Promoted/Unpromoted)")
            elif role not in ROLES:
                report.fail("metadata-roles", f'{where}: role="{role}"')
        if name == "monitor":
            interval = duration_ms(action.get("interval") or "0") or 0
            if interval in recurring:
                report.fail("metadata-actions", f"two monitor actions with interval "
                            f"{action.get('interval') or 0}: Pacemaker keys operations by "
                            "name and interval")
            recurring[interval] = action
    if not bad_timeout:
        report.ok("metadata-action-timeout", f"{len(actions)} actions, each with a timeout")
    if not bad_units:
        report.ok("metadata-time-units", "every time value has a unit")
