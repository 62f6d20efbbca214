"""Typed parameter declarations shared by resource agents and fence agents.

A parameter is declared once, as a class attribute of an agent::

    port = Port(default=80, shortdesc="TCP port")

and from that one declaration the library derives metadata, parsing of the value
Pacemaker passes (``OCF_RESKEY_port`` or ``port=`` on a fence agent's stdin), the
error message for a bad value, command-line options and man pages.

Parsing raises ``ValueError`` with a message that says what was expected; the agent
frameworks turn it into the contract's exit code. Modules that cost start-up time
(``ipaddress``) are imported only when a value of that type is parsed.
"""

_TRUE = frozenset(("1", "yes", "true", "on", "y"))
_FALSE = frozenset(("0", "no", "false", "off", "n"))


def parse_bool(text):
    """ocf_is_true's truth table, strict: anything else is an error, not "false"."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true/false, yes/no, on/off, 1/0)")


_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "ms": 0.001, "msec": 0.001, "msecs": 0.001,
    "us": 0.000001, "usec": 0.000001,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
}


def parse_duration(text):
    """Seconds (float) from Pacemaker-style durations: ``20``, ``20s``, ``500ms``, ``2min``."""
    value = text.strip().lower()
    split = len(value)
    while split and not (value[split - 1].isdigit() or value[split - 1] == "."):
        split -= 1
    number, unit = value[:split].strip(), value[split:].strip()
    if not number or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a duration (e.g. 20s, 500ms, 2min)")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (e.g. 20s, 500ms, 2min)") from None
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{text!r} is not a duration (e.g. 20s, 500ms, 2min)")
    return seconds


def format_duration(seconds):
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{int(round(seconds * 1000))}ms"


class Param:
    """Base declaration. Subclasses define ``parse`` and the metadata content types.

    Common to both agent kinds: ``default``, ``required``, ``shortdesc``, ``longdesc``,
    ``secret`` (never logged, masked everywhere), ``aliases`` (old names still accepted,
    shown as deprecated in metadata), ``deprecated`` (a reason string: this parameter
    itself is deprecated), ``replaced_with`` (with ``deprecated``: the parameter to use
    instead, when it is not simply a new name for this one - for that, use ``aliases`` on
    the new parameter), ``name`` (when the parameter's name is not a Python identifier).
    Resource agents only: ``unique_group``, ``reloadable``.
    Fence agents only: ``short`` (one-letter option), ``long`` (``--long-name``, default
    derived from the name), ``metavar`` (what ``getopt mixed`` shows).
    """

    ocf_type = "string"
    fence_type = "string"

    def __init__(self, *, default=None, required=False, shortdesc="", longdesc="",
                 secret=False, aliases=(), deprecated=None, replaced_with=None, name=None,
                 unique_group=None, reloadable=False, short=None, long=None, metavar=None):
        if required and default is not None:
            raise TypeError("a required parameter cannot have a default")
        self.name = name
        self.attr = name
        self.default = default
        self.required = required
        self.shortdesc = shortdesc
        self.longdesc = longdesc
        self.secret = secret
        self.aliases = tuple(aliases)
        self.deprecated = deprecated
        if replaced_with is not None and not deprecated:
            raise TypeError("replaced_with= needs deprecated='why'")
        self.replaced_with = replaced_with
        self.unique_group = unique_group
        self.reloadable = reloadable
        self.short = short
        self.long = long
        self.metavar = metavar

    # Descriptor protocol: the class attribute is the declaration; an agent instance
    # stores the parsed value in its __dict__, which shadows this non-data descriptor.
    def __set_name__(self, owner, attr):
        self.attr = attr
        if self.name is None:
            self.name = attr

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return self.default_value()

    def parse(self, text):
        return text

    def format(self, value):
        """The text form of a value, as metadata shows a default."""
        return str(value)

    def default_value(self):
        if isinstance(self.default, str):
            return self.parse(self.default)
        return self.default

    def default_text(self):
        if self.default is None:
            return None
        if isinstance(self.default, str):
            return self.default
        return self.format(self.default)

    def choices(self):
        return ()

    def describe(self):
        return self.shortdesc or self.name

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


class String(Param):
    def __init__(self, *, allow_empty=False, **kw):
        super().__init__(**kw)
        self.allow_empty = allow_empty


class Integer(Param):
    ocf_type = "integer"
    fence_type = "integer"

    def __init__(self, *, min=None, max=None, **kw):
        super().__init__(**kw)
        self.min = min
        self.max = max

    def parse(self, text):
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if self.min is not None and value < self.min or self.max is not None and value > self.max:
            raise ValueError(f"{value} is out of range ({self._range()})")
        return value

    def _range(self):
        if self.min is not None and self.max is not None:
            return f"{self.min} to {self.max}"
        if self.min is not None:
            return f"at least {self.min}"
        return f"at most {self.max}"


class Port(Integer):
    def __init__(self, **kw):
        kw.setdefault("min", 1)
        kw.setdefault("max", 65535)
        super().__init__(**kw)


class Boolean(Param):
    ocf_type = "boolean"
    fence_type = "boolean"

    def parse(self, text):
        return parse_bool(text)

    def format(self, value):
        return "true" if value else "false"


class Select(Param):
    ocf_type = "select"
    fence_type = "select"

    def __init__(self, values, **kw):
        super().__init__(**kw)
        self.values = tuple(values)
        if self.default is not None and self.default not in self.values:
            raise TypeError(f"default {self.default!r} is not one of {self.values}")

    def parse(self, text):
        value = text.strip()
        if value in self.values:
            return value
        lowered = value.lower()
        for choice in self.values:
            if choice.lower() == lowered:
                return choice
        raise ValueError(f"{text!r} is not one of: {', '.join(self.values)}")

    def choices(self):
        return self.values


class Path(Param):
    """An absolute path. Existence is a property of the node, checked by the agent."""

    def __init__(self, *, relative_ok=False, **kw):
        super().__init__(**kw)
        self.relative_ok = relative_ok

    def parse(self, text):
        if "\0" in text:
            raise ValueError("contains a NUL byte")
        if not self.relative_ok and not text.startswith("/"):
            raise ValueError(f"{text!r} is not an absolute path")
        return text


class Duration(Param):
    """A duration with units (``20s``, ``500ms``, ``2min``; a bare number is seconds).

    Parsed to float seconds. Fence metadata calls this type ``second``.
    """

    fence_type = "second"

    def parse(self, text):
        return parse_duration(text)

    def format(self, value):
        return format_duration(value)


class IPAddress(Param):
    """An IPv4 or IPv6 address in any textual form; parsed to an ``ipaddress`` object."""

    def __init__(self, *, version=None, **kw):
        super().__init__(**kw)
        self.version = version

    def parse(self, text):
        import ipaddress

        value = text.strip()
        scope = None
        if "%" in value:  # link-local with zone: fe80::1%eth0
            value, scope = value.split("%", 1)
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address") from None
        if self.version and address.version != self.version:
            raise ValueError(f"{text!r} is not an IPv{self.version} address")
        if scope is not None:
            if address.version != 6 or not scope:
                raise ValueError(f"{text!r}: a zone index is only valid on IPv6")
            address = ipaddress.IPv6Address(f"{address}%{scope}")
        return address


class CIDRPrefix(Integer):
    """A prefix length (0-128); the agent checks it against the address family."""

    def __init__(self, **kw):
        kw.setdefault("min", 0)
        kw.setdefault("max", 128)
        super().__init__(**kw)

    def parse(self, text):
        value = text.strip()
        if value.startswith("/"):
            value = value[1:]
        return super().parse(value)


def collect_params(cls):
    """Declared parameters of a class and its bases, in declaration order, by name."""
    params = {}
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            if isinstance(value, Param):
                params[value.name] = value
    return params
