"""Action declarations: ``@action(timeout=..., interval=..., depth=..., role=...)``.

Decorators stack, so one method can advertise several monitor operations::

    @action(timeout="20s", interval="10s", depth=0)
    @action(timeout="30s", interval="60s", depth=10)
    def monitor(self): ...

A method may also serve several actions: stack decorators with different ``name=``.

The method name gives the action name (``validate_all`` -> ``validate-all``,
``reload_agent`` -> ``reload-agent``, ``meta_data`` -> ``meta-data``); pass ``name=``
for anything else.
"""

from ocfkit.params import format_duration, parse_duration

_DASHED = {"meta_data": "meta-data", "validate_all": "validate-all",
           "reload_agent": "reload-agent"}
ROLES = ("Promoted", "Unpromoted", "Started", "Stopped")
# Pre-2.1 role names; OCF 1.1 metadata (and resource-agents' own RNG) uses the new ones.
LEGACY_ROLES = {"Master": "Promoted", "Slave": "Unpromoted"}


class ActionSpec:
    __slots__ = ("name", "timeout", "interval", "depth", "role", "start_delay", "named")

    def __init__(self, name, timeout, interval=None, depth=None, role=None, start_delay=None,
                 named=True):
        self.name = name
        # False when the name came from the function, not from ``name=``: the class
        # attribute the function is bound to decides then (lambdas, aliases).
        self.named = named
        self.timeout = _seconds(timeout, "timeout")
        self.interval = None if interval is None else _seconds(interval, "interval")
        self.depth = None if depth is None else int(depth)
        if self.depth is not None and self.depth < 0:
            raise TypeError(f"action depth must be >= 0, not {depth!r}")
        role = LEGACY_ROLES.get(role, role)
        if role is not None and role not in ROLES:
            raise TypeError(f"role must be one of {ROLES}, not {role!r}")
        self.role = role
        self.start_delay = None if start_delay is None else _seconds(start_delay, "start_delay")

    def renamed(self, name):
        copy = ActionSpec.__new__(ActionSpec)
        for slot in self.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.name = name
        return copy

    def attributes(self):
        """Metadata attributes in the order the OCF RNG lists them."""
        attrs = {"name": self.name, "timeout": format_duration(self.timeout)}
        if self.interval is not None:
            attrs["interval"] = format_duration(self.interval)
        if self.start_delay is not None:
            attrs["start-delay"] = format_duration(self.start_delay)
        if self.depth is not None:
            attrs["depth"] = str(self.depth)
        if self.role is not None:
            attrs["role"] = self.role
        return attrs

    def __repr__(self):
        return f"<ActionSpec {self.name} {self.attributes()}>"


def _seconds(value, what):
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise TypeError(f"action {what}: {exc}") from None


def action(name=None, *, timeout="20s", interval=None, depth=None, role=None, start_delay=None):
    """Mark a method as an OCF action and describe how it is advertised."""

    def decorate(method):
        action_name = name or action_name_of(method.__name__)
        specs = method.__dict__.setdefault("_ocf_actions", [])
        # Decorators apply bottom-up; insert first so metadata follows source order.
        specs.insert(0, ActionSpec(action_name, timeout, interval, depth, role, start_delay,
                                   named=name is not None))
        return method

    return decorate


def action_name_of(attr):
    return _DASHED.get(attr, attr)


def collect_actions(cls):
    """{action name: (method name, [ActionSpec ...])} for a class and its bases.

    A subclass that redefines a method without the decorator keeps the base's
    declaration, so overriding ``validate_all`` does not silently drop the action.
    """
    found = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            specs = getattr(value, "_ocf_actions", None)
            if not specs:
                continue
            specs = [spec if spec.named else spec.renamed(action_name_of(attr))
                     for spec in specs]
            # One method may serve several actions (start and reload-agent, say).
            for name in dict.fromkeys(spec.name for spec in specs):
                found[name] = (attr, [spec for spec in specs if spec.name == name])
    return found
