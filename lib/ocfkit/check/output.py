"""What an agent wrote: exit reasons as Pacemaker reads them, tracebacks, shell errors."""

import re

EXIT_REASON_PREFIX = "ocf-exit-reason:"

# bash: "/path/agent: line 12: foo: command not found"; dash: "/path/agent: 12: foo: not
# found". Log lines ("Dummy(rsc)[42]: ERROR: ...", "2024/05/01_10:00:00 INFO: ...") do not
# have a bare number between two ": ".
_SHELL_ERROR = re.compile(r"^\S+: (?:line )?\d+: \S.*$", re.MULTILINE)
_CRASH = re.compile(r"^.*(?:Segmentation fault|core dumped).*$", re.MULTILINE)
_TRACEBACK = "Traceback (most recent call last):"


def exit_reasons(stderr):
    """``[(text, next_line)]`` for every exit reason, in order. Pacemaker takes what follows
    the prefix anywhere in stderr, up to the end of that line, and keeps the last one."""
    lines = stderr.splitlines()
    found = []
    for index, line in enumerate(lines):
        at = line.find(EXIT_REASON_PREFIX)
        if at >= 0:
            following = lines[index + 1] if index + 1 < len(lines) else None
            found.append((line[at + len(EXIT_REASON_PREFIX):], following))
    return found


def exit_reason_problems(stderr):
    """One-line descriptions of malformed exit reasons."""
    problems = []
    for text, following in exit_reasons(stderr):
        if not text.strip():
            if following and following.strip():
                problems.append(f"empty exit reason, the text is on the next line "
                                f"({following.strip()[:60]!r}), which Pacemaker drops")
            else:
                problems.append("empty exit reason")
        elif following is not None and following[:1] in (" ", "\t") and following.strip():
            problems.append(f"exit reason {text.strip()[:60]!r} continues on the next line "
                            f"({following.strip()[:60]!r}); Pacemaker keeps only the first")
    return problems


def traceback_summary(stderr):
    """The exception line of the first Python traceback, or None."""
    at = stderr.find(_TRACEBACK)
    if at < 0:
        return None
    for line in stderr[at:].splitlines()[1:]:
        if line and not line[0].isspace():
            return line.strip()[:160]
    return "(traceback)"


def shell_errors(stderr):
    """Shell error lines (bash/dash format) and crashes."""
    return [m.group(0).strip()[:160] for m in _SHELL_ERROR.finditer(stderr)] + \
           [m.group(0).strip()[:160] for m in _CRASH.finditer(stderr)]


def excerpt(text, limit=100):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
