"""OCF 1.1 metadata XML from an agent's declaration (contract A9).

Element order follows the official OCF 1.1 RNG (version, longdesc, shortdesc,
parameters, actions; inside a parameter: deprecated, longdesc, shortdesc, content),
booleans are 0/1, every description has ``lang``, text is escaped by ElementTree.
Imported only by the meta-data action and by tools.
"""

import xml.etree.ElementTree as ET

OCF_VERSION = "1.1"


def _desc(parent, tag, text):
    element = ET.SubElement(parent, tag, lang="en")
    element.text = text
    return element


def _content(parent, param):
    attrs = {"type": param.ocf_type}
    default = param.default_text()
    if default is not None:
        attrs["default"] = default
    content = ET.SubElement(parent, "content", attrs)
    for choice in param.choices():
        ET.SubElement(content, "option", value=choice)


def _parameter(parent, param):
    attrs = {"name": param.name, "required": "1" if param.required else "0"}
    if param.unique_group:
        attrs["unique-group"] = param.unique_group
    attrs["reloadable"] = "1" if param.reloadable else "0"
    element = ET.SubElement(parent, "parameter", attrs)
    if param.deprecated:
        deprecated = ET.SubElement(element, "deprecated")
        if param.replaced_with:
            ET.SubElement(deprecated, "replaced-with", name=param.replaced_with)
        _desc(deprecated, "desc", param.deprecated)
    _desc(element, "longdesc", param.longdesc or param.shortdesc or param.name)
    _desc(element, "shortdesc", param.shortdesc or param.name)
    _content(element, param)


def _alias(parent, param, alias):
    """An old name kept working: a deprecated parameter replaced by ``param``."""
    attrs = {"name": alias, "required": "0", "reloadable": "1" if param.reloadable else "0"}
    element = ET.SubElement(parent, "parameter", attrs)
    deprecated = ET.SubElement(element, "deprecated")
    ET.SubElement(deprecated, "replaced-with", name=param.name)
    _desc(deprecated, "desc", f"Use {param.name} instead.")
    _desc(element, "longdesc", f"Deprecated name of {param.name}. "
          + (param.longdesc or param.shortdesc or ""))
    _desc(element, "shortdesc", f"{param.shortdesc or param.name} (deprecated: use {param.name})")
    attrs = {"type": param.ocf_type}
    ET.SubElement(element, "content", attrs)
    for choice in param.choices():
        ET.SubElement(element.find("content"), "option", value=choice)


def build(agent_cls):
    """The metadata as an ElementTree element."""
    from ocfkit import __version__

    root = ET.Element("resource-agent", name=agent_cls.agent_name,
                      version=agent_cls.agent_version or __version__)
    ET.SubElement(root, "version").text = OCF_VERSION
    _desc(root, "longdesc", agent_cls.longdesc)
    _desc(root, "shortdesc", agent_cls.shortdesc)
    parameters = ET.SubElement(root, "parameters")
    for param in agent_cls._params.values():
        _parameter(parameters, param)
        for alias in param.aliases:
            _alias(parameters, param, alias)
    actions = ET.SubElement(root, "actions")
    # The agent's own actions first, the library's built-ins (meta-data, validate-all) last.
    builtin = ("meta-data", "validate-all")
    ordered = sorted(agent_cls._actions.items(), key=lambda item: item[0] in builtin)
    for _, (_, specs) in ordered:
        for spec in specs:
            ET.SubElement(actions, "action", spec.attributes())
    return root


def to_xml(agent_cls):
    root = build(agent_cls)
    ET.indent(root, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _sentence(text):
    text = " ".join(str(text).split())
    return text if text.endswith((".", "!", "?")) else text + "."


def to_manpage(agent_cls, provider="ocfkit"):
    """``ocf_<provider>_<Agent>.7`` in troff, from the same declaration as the XML."""
    from ocfkit import __version__, manpage

    params = []
    for param in agent_cls._params.values():
        text = [_sentence(param.longdesc or param.shortdesc or param.name)]
        if param.required:
            text.append("Required.")
        default = param.default_text()
        if default is not None:
            text.append(f"Default: {default}.")
        if param.choices():
            text.append("One of: " + ", ".join(param.choices()) + ".")
        if param.unique_group:
            text.append(f"Unique across resources (group {param.unique_group}).")
        if param.reloadable:
            text.append("Reloadable without a restart.")
        if param.aliases:
            text.append("Old name(s) still accepted: " + ", ".join(param.aliases) + ".")
        if param.deprecated:
            text.append(f"Deprecated: {_sentence(param.deprecated)}")
        params.append((f"{param.name} ({param.ocf_type})", " ".join(text)))
    actions = []
    for name, (_, specs) in agent_cls._actions.items():
        for spec in specs:
            details = ", ".join(f"{k}={v}" for k, v in spec.attributes().items() if k != "name")
            actions.append((name, details))
    example = [(None, f"pcs resource create ID ocf:{provider}:{agent_cls.agent_name} "
                + " ".join(f"{p.name}=VALUE" for p in agent_cls._params.values() if p.required))]
    return manpage.render(
        f"ocf_{provider}_{agent_cls.agent_name}", 7, agent_cls.shortdesc, agent_cls.longdesc,
        [("Supported parameters", params), ("Supported actions", actions),
         ("Example", example)], agent_cls.agent_version or __version__)
