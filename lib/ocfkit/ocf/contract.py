"""The OCF contract's vocabulary: exit codes (A3), action declarations (A2, A8) and the
environment Pacemaker passes (A6). ``ocfkit.ocf.agent`` applies the rules (A4, A5).

One module rather than three because every action of every agent needs all of it, and
each module an agent imports costs about 0.1 ms before it does any work.

Exit codes. ``OCFExit`` behaves like an ``IntEnum`` (names, lookup by value, iteration)
but is a plain ``int`` subclass: ``import enum`` alone costs about 3 ms of CPU.

Actions: ``@action(timeout=..., interval=..., depth=..., role=...)``. Decorators stack,
so one method can advertise several monitor operations::

    @action(timeout="20s", interval="10s", depth=0)
    @action(timeout="30s", interval="60s", depth=10)
    def monitor(self): ...

A method may also serve several actions: stack decorators with different ``name=``.
The method name gives the action name (``validate_all`` -> ``validate-all``,
``reload_agent`` -> ``reload-agent``, ``meta_data`` -> ``meta-data``); pass ``name=``
for anything else.

Environment: clone notifications (A7) are in ``ocfkit.ocf.notify``, loaded by
``Environment.notify``.
"""

from ocfkit.params import format_duration, parse_duration


# ======== exit codes ======================================================================
class OCFExit(int):
    """An OCF exit code with its symbolic name."""

    __slots__ = ()
    _by_value = {}

    def __new__(cls, value, name=None):
        if name is None:
            try:
                return cls._by_value[int(value)]
            except KeyError:
                raise ValueError(f"{value!r} is not an OCF exit code") from None
        self = int.__new__(cls, value)
        cls._by_value[int(value)] = self
        return self

    @property
    def name(self):
        return _NAMES[int(self)]

    @property
    def value(self):
        return int(self)

    def __repr__(self):
        return f"<OCFExit.{self.name}: {int(self)}>"

    def __str__(self):
        return f"{self.name} ({int(self)})"

    @classmethod
    def members(cls):
        return [cls._by_value[v] for v in sorted(cls._by_value)]

    @classmethod
    def is_valid(cls, value):
        return int(value) in cls._by_value


_NAMES = {
    0: "SUCCESS",
    1: "ERR_GENERIC",
    2: "ERR_ARGS",
    3: "ERR_UNIMPLEMENTED",
    4: "ERR_PERM",
    5: "ERR_INSTALLED",
    6: "ERR_CONFIGURED",
    7: "NOT_RUNNING",
    8: "RUNNING_PROMOTED",
    9: "FAILED_PROMOTED",
    190: "DEGRADED",
    191: "DEGRADED_PROMOTED",
}

for _value, _name in _NAMES.items():
    setattr(OCFExit, _name, OCFExit(_value, _name))
del _value, _name

SUCCESS = OCFExit.SUCCESS
ERR_GENERIC = OCFExit.ERR_GENERIC
ERR_ARGS = OCFExit.ERR_ARGS
ERR_UNIMPLEMENTED = OCFExit.ERR_UNIMPLEMENTED
ERR_PERM = OCFExit.ERR_PERM
ERR_INSTALLED = OCFExit.ERR_INSTALLED
ERR_CONFIGURED = OCFExit.ERR_CONFIGURED
NOT_RUNNING = OCFExit.NOT_RUNNING
RUNNING_PROMOTED = OCFExit.RUNNING_PROMOTED
FAILED_PROMOTED = OCFExit.FAILED_PROMOTED
DEGRADED = OCFExit.DEGRADED
DEGRADED_PROMOTED = OCFExit.DEGRADED_PROMOTED


class OCFError(Exception):
    """Raise from agent code to end the action with ``code`` and ``str(self)`` as exit reason."""

    code = ERR_GENERIC

    def __init__(self, reason="", code=None):
        super().__init__(reason)
        if code is not None:
            self.code = OCFExit(code)

    @property
    def reason(self):
        return str(self)


class ErrGeneric(OCFError):
    """Something failed; Pacemaker recovers normally (restart, fail count)."""

    code = ERR_GENERIC


class ErrArgs(OCFError):
    """A parameter value is wrong *on this node* (an interface or file it names is absent)."""

    code = ERR_ARGS


class ErrUnimplemented(OCFError):
    """The action is not supported."""

    code = ERR_UNIMPLEMENTED


class ErrPerm(OCFError):
    """Insufficient privileges on this node."""

    code = ERR_PERM


class ErrInstalled(OCFError):
    """Software the agent needs is missing on this node."""

    code = ERR_INSTALLED


class ErrConfigured(OCFError):
    """The configuration is wrong everywhere: Pacemaker bans the resource from every node."""

    code = ERR_CONFIGURED


class NotRunning(OCFError):
    """The resource is cleanly stopped (monitor only); the message explains what is missing."""

    code = NOT_RUNNING


class FailedPromoted(OCFError):
    """The resource is promoted but has failed."""

    code = FAILED_PROMOTED


# ======== actions =========================================================================
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


# ======== environment =====================================================================
RESKEY = "OCF_RESKEY_"
META = "OCF_RESKEY_CRM_meta_"


def _ms(text):
    """Milliseconds as Pacemaker passes them; tolerate units (some tools pass '20s')."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return int(parse_duration(text) * 1000)
    except ValueError:
        return None


class Environment:
    """One invocation's context: action, instance, timing, check level, meta attributes."""

    def __init__(self, environ, action, depths=(0,), default_timeout=20.0):
        self.environ = environ
        self.action = action
        self.instance = environ.get("OCF_RESOURCE_INSTANCE") or "default"
        self.resource_type = environ.get("OCF_RESOURCE_TYPE")
        self.provider = environ.get("OCF_RESOURCE_PROVIDER")
        self.interval_ms = _ms(environ.get(META + "interval")) or 0
        timeout_ms = _ms(environ.get(META + "timeout"))
        # crm_resource and older tools may not pass a timeout (pacemaker PR #1367):
        # fall back to the action's advertised timeout.
        self.timeout = timeout_ms / 1000.0 if timeout_ms else float(default_timeout)
        self.timeout_from_pacemaker = bool(timeout_ms)
        self.check_level = self._check_level(environ.get("OCF_CHECK_LEVEL"))
        implemented = sorted(set(depths) | {0})
        self.depth = max(d for d in implemented if d <= max(self.check_level, 0))
        self.node = environ.get(META + "on_node") or None

    @staticmethod
    def _check_level(text):
        if text is None or not text.strip():
            return 0
        try:
            return int(text.strip())
        except ValueError:
            return 0

    @property
    def interval(self):
        """Seconds between recurring monitors; 0 for a probe or a one-shot action."""
        return self.interval_ms / 1000.0

    @property
    def is_probe(self):
        return self.action in ("monitor", "status") and self.interval_ms == 0

    @property
    def is_recurring_monitor(self):
        return self.action in ("monitor", "status") and self.interval_ms > 0

    def meta(self, name, default=None):
        """A meta attribute (``clone_max``, ``notify`` ...), dashes as underscores."""
        return self.environ.get(META + name.replace("-", "_"), default)

    @property
    def is_clone(self):
        return self.meta("clone") is not None or self.meta("clone_max") is not None

    @property
    def clone_number(self):
        value = self.meta("clone")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def is_promotable(self):
        from ocfkit.params import parse_bool

        value = self.meta("promotable")
        if value is not None:
            try:
                return parse_bool(value)
            except ValueError:
                return False
        return (self.meta("master_max") or "0").strip() not in ("", "0")

    @property
    def notify(self):
        """Clone notification variables as a ``Notify`` (only notify actions need it)."""
        from ocfkit.ocf.notify import Notify

        return Notify(self.environ)

    @property
    def rsctmp(self):
        return self.environ.get("HA_RSCTMP") or "/run/resource-agents"
