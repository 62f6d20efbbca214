"""Fence-agent arguments: ``key=value`` lines on stdin, or long/short options on argv.

The rule of fencing.py (contract B1): with arguments on the command line, parse them;
with none, read stdin as pacemaker-fenced writes it. On stdin, ``#`` comments, blank
lines and unknown names are tolerated (unknown names produce a warning) and the last
duplicate wins. A line that is not ``key=value``, or bytes that are not UTF-8, are
errors: we refuse to guess what the cluster meant.

The result is ``{option name: text}``: values are typed later, by the declarations.
"""


class ArgumentError(Exception):
    """Unusable arguments; the message is one line for the user."""


# Keys fenced always sends that are not options of the agent.
IGNORED_KEYS = frozenset(("nodename",))


def index_options(params):
    """Lookup tables: stdin key -> option, ``--long`` -> option, ``-x`` -> option."""
    by_key, by_long, by_short = {}, {}, {}
    for param in params.values():
        by_key[param.name] = param
        for alias in param.aliases:
            by_key[alias] = param
        long = param.long or param.name.replace("_", "-")
        by_long[long] = param
        for alias in param.aliases:
            by_long.setdefault(alias.replace("_", "-"), param)
        if param.short:
            by_short[param.short] = param
    # fencing.py also accepts long option names on stdin, with - or _ (debug-file=...).
    for long, param in by_long.items():
        by_key.setdefault(long, param)
        by_key.setdefault(long.replace("-", "_"), param)
    return by_key, by_long, by_short


def parse_stdin(data, params, warn):
    """Parse the bytes pacemaker-fenced wrote.

    Returns ``({name: text}, {name: key used}, {ignored key: text})``.
    """
    by_key, _, _ = index_options(params)
    values, used, extras = {}, {}, {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ArgumentError(f"stdin line {number} is not valid UTF-8") from None
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ArgumentError(f"stdin line {number} is not key=value: {_show(line)}")
        if "\0" in value:
            raise ArgumentError(f"stdin line {number}: value contains a NUL byte")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]  # as fencing.py does: one pair of double quotes is dropped
        param = by_key.get(key)
        if param is None:
            if key in IGNORED_KEYS:
                extras[key] = value
            else:
                warn(f"ignoring unknown option '{_show(key)}'")
            continue
        values[param.name] = value
        used[param.name] = key
    return values, used, extras


def parse_argv(argv, params):
    """Parse ``--name=value``, ``--name value``, ``-x value``, ``-xvalue``, ``--flag``."""
    from ocfkit.params import Boolean

    _, by_long, by_short = index_options(params)
    values, used = {}, {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg.startswith("--") and len(arg) > 2:
            name, sep, value = arg[2:].partition("=")
            param = by_long.get(name)
            if param is None:
                raise ArgumentError(f"unknown option --{_show(name)}")
            shown = f"--{name}"
        elif arg.startswith("-") and len(arg) > 1 and arg != "-":
            param = by_short.get(arg[1])
            if param is None:
                raise ArgumentError(f"unknown option -{_show(arg[1])}")
            shown = f"-{arg[1]}"
            value = arg[2:]
            sep = "=" if value else ""
            if isinstance(param, Boolean) and value:
                # stacked flags like -vv: only repeats of the same flag make sense
                if value.strip(arg[1]):
                    raise ArgumentError(f"option {shown} takes no value")
                value, sep = "", ""
        else:
            raise ArgumentError(f"unexpected argument {_show(arg)}")
        if isinstance(param, Boolean):
            if sep:
                values[param.name] = value
            else:
                values[param.name] = "1"
        else:
            if not sep:
                if index >= len(argv):
                    raise ArgumentError(f"option {shown} needs a value")
                value = argv[index]
                index += 1
            values[param.name] = value
        used[param.name] = shown
    return values, used


def _show(text, limit=40):
    """A short, printable rendering of user input for an error message."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."
