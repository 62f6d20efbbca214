"""OCF exit codes (contract A3) and the exceptions that carry them.

``OCFExit`` behaves like an ``IntEnum`` (names, lookup by value, iteration) but is a
plain ``int`` subclass: ``import enum`` alone costs about 3 ms of CPU, most of the
budget an agent has for a whole monitor.
"""


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
