"""Fence-agent metadata in the fence-agents layout (contract B9) and the man page.

No ``<version>`` element (pcs would then apply OCF 1.1 rules and reject ``getopt``),
``shortdesc`` as an attribute of the root, one ``<parameter>`` per name: the current
name carries ``obsoletes="old"``, the old one ``deprecated="1"``.
"""

import xml.etree.ElementTree as ET

from ocfkit.params import Boolean, Duration


def getopt_text(param):
    """The ``getopt mixed`` string: ``-a, --ip=[ip]``."""
    long = "--" + (param.long or param.name.replace("_", "-"))
    if not isinstance(param, Boolean):
        long += f"=[{param.metavar or param.name}]"
    return f"-{param.short}, {long}" if param.short else long


def _default(param):
    if param.default is None:
        return None
    value = param.default_value()
    if isinstance(param, Boolean):
        return "1" if value else "0"
    if isinstance(param, Duration):
        return f"{value:g}"
    return param.format(value)


def _parameter(parent, param, name, shortdesc, extra):
    attrs = {"name": name, "unique": "0", "required": "1" if param.required else "0"}
    attrs.update(extra)
    element = ET.SubElement(parent, "parameter", attrs)
    ET.SubElement(element, "getopt", mixed=getopt_text(param))
    content = {"type": param.fence_type}
    default = _default(param)
    if default is not None:
        content["default"] = default
    node = ET.SubElement(element, "content", content)
    for choice in param.choices():
        ET.SubElement(node, "option", value=choice)
    ET.SubElement(element, "shortdesc", lang="en").text = shortdesc


def build(cls):
    from ocfkit.fence.agent import supported_actions

    root = ET.Element("resource-agent", name=cls.agent_name, shortdesc=cls.shortdesc)
    for name, desc in cls.symlinks:
        ET.SubElement(root, "symlink", name=name, shortdesc=desc)
    ET.SubElement(root, "longdesc").text = cls.longdesc
    ET.SubElement(root, "vendor-url").text = cls.vendor_url or ""
    parameters = ET.SubElement(root, "parameters")
    for param in cls._params.values():
        if param.deprecated:
            _parameter(parameters, param, param.name, param.shortdesc, {"deprecated": "1"})
            continue
        extra = {"obsoletes": param.aliases[0]} if param.aliases else {}
        _parameter(parameters, param, param.name, param.shortdesc, extra)
        for alias in param.aliases:
            _parameter(parameters, param, alias, param.shortdesc, {"deprecated": "1"})
    actions = ET.SubElement(root, "actions")
    for action in supported_actions(cls):
        attrs = {"name": action}
        if action == "on":
            attrs["automatic"] = "1" if cls.automatic_on else "0"
            if cls.on_target:
                attrs["on_target"] = "1"
        ET.SubElement(actions, "action", attrs)
    return root


def to_xml(cls):
    root = build(cls)
    ET.indent(root, space="\t")
    return '<?xml version="1.0" ?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_manpage(cls):
    from ocfkit import __version__, manpage
    from ocfkit.fence.agent import supported_actions

    options = []
    for param in cls._params.values():
        text = " ".join(param.shortdesc.split()).rstrip(".") + "."
        default = _default(param)
        if default not in (None, ""):
            text += f" Default: {default}."
        if param.aliases:
            text += f" Stdin names: {', '.join((param.name,) + param.aliases)}."
        else:
            text += f" Stdin name: {param.name}."
        if param.required:
            text += " Required."
        if param.secret:
            text += " Never logged; prefer stdin or password_script to the command line."
        options.append((getopt_text(param), text))
    actions = [(name, _ACTION_TEXT.get(name, "")) for name in supported_actions(cls)]
    stdin = [(None, "With no command-line arguments the agent reads name=value lines on "
                    "stdin, as pacemaker-fenced sends them; lines starting with # and blank "
                    "lines are ignored, unknown names are ignored with a warning, and the "
                    "last value of a repeated name wins.")]
    exits = [("0", "Success; for status, the target is powered on."),
             ("1", "Failure, with one line on stderr saying why."),
             ("2", "status only: the target is powered off.")]
    return manpage.render(cls.agent_name, 8, cls.shortdesc, cls.longdesc,
                          [("Options", options), ("Actions", actions), ("Stdin", stdin),
                           ("Exit status", exits)], cls.agent_version or __version__)


_ACTION_TEXT = {
    "on": "Power on the target and verify it is on.",
    "off": "Power off the target and verify it is off. Succeeds if already off.",
    "reboot": "Power off (verified), then on. Succeeds once power off is verified.",
    "status": "Print Status: ON or OFF; exit 0 when on, 2 when off, 1 on error.",
    "list": "List the targets the device controls, one per line.",
    "list-status": "List the targets with their power state.",
    "monitor": "Check that the device is reachable and accepts the credentials.",
    "metadata": "Print the agent's metadata XML.",
    "manpage": "Print this manual page.",
    "validate-all": "Check the options without contacting the device.",
}
