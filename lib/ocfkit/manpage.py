"""Man pages (troff) from agent declarations: ``ocf_<provider>_<Agent>.7`` and ``fence_<x>.8``.

Both kinds share one renderer; the agent modules supply sections. Text is escaped for
troff (backslashes, leading dots and quotes), so descriptions cannot inject requests.
"""

import time


def escape(text):
    text = str(text).replace("\\", "\\e")
    lines = []
    for line in text.splitlines() or [""]:
        line = line.strip()
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line.replace("-", "\\-"))
    return "\n".join(lines)


def render(name, section, summary, description, sections, version, date=None):
    """``sections``: [(title, [(term or None, text), ...]), ...]."""
    date = date or time.strftime("%Y-%m-%d", time.gmtime(_source_date()))
    out = [
        f'.TH "{escape(name.upper())}" "{section}" "{date}" "ocfkit {escape(version)}" '
        f'"ocfkit manual"',
        ".SH NAME",
        f"{escape(name)} \\- {escape(summary)}",
        ".SH DESCRIPTION",
    ]
    for paragraph in str(description).split("\n\n"):
        out.append(escape(" ".join(paragraph.split())))
        out.append(".PP")
    out.pop()
    for title, items in sections:
        out.append(f".SH {escape(title.upper())}")
        for term, text in items:
            if term is None:
                out.append(".PP")
            else:
                out.append(".TP")
                out.append(f"\\fB{escape(term)}\\fR")
            out.append(escape(" ".join(str(text).split())) if text else "")
    return "\n".join(out) + "\n"


def _source_date():
    """SOURCE_DATE_EPOCH keeps package builds reproducible."""
    import os

    try:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    except (KeyError, ValueError):
        return time.time()
