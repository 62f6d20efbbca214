"""Write an OCF resource agent by declaring it.

    from ocfkit import ocf

    class MyService(ocf.ResourceAgent):
        \"\"\"One-line description.\"\"\"
        path = ocf.Path(required=True, shortdesc="State file")

        @ocf.action(timeout="20s")
        def start(self): ...

See docs/writing-agents.md.
"""

from ocfkit.ocf.agent import ResourceAgent
from ocfkit.ocf.contract import (
    DEGRADED,
    DEGRADED_PROMOTED,
    ERR_ARGS,
    ERR_CONFIGURED,
    ERR_GENERIC,
    ERR_INSTALLED,
    ERR_PERM,
    ERR_UNIMPLEMENTED,
    FAILED_PROMOTED,
    NOT_RUNNING,
    RUNNING_PROMOTED,
    SUCCESS,
    ErrArgs,
    ErrConfigured,
    ErrGeneric,
    ErrInstalled,
    ErrPerm,
    ErrUnimplemented,
    FailedPromoted,
    NotRunning,
    OCFError,
    OCFExit,
    action,
)
from ocfkit.params import (
    Boolean,
    CIDRPrefix,
    Duration,
    Integer,
    IPAddress,
    Param,
    Path,
    Port,
    Select,
    String,
)

__all__ = [
    "DEGRADED", "DEGRADED_PROMOTED", "ERR_ARGS", "ERR_CONFIGURED", "ERR_GENERIC",
    "ERR_INSTALLED", "ERR_PERM", "ERR_UNIMPLEMENTED", "FAILED_PROMOTED", "NOT_RUNNING",
    "RUNNING_PROMOTED", "SUCCESS", "Boolean", "CIDRPrefix", "Deadline", "Duration",
    "ErrArgs", "ErrConfigured", "ErrGeneric", "ErrInstalled", "ErrPerm", "ErrUnimplemented",
    "FailedPromoted", "IPAddress", "Integer", "NotRunning", "OCFError", "OCFExit", "Param",
    "Path", "Port", "ResourceAgent", "Select", "String", "action",
]


def __getattr__(name):
    # Imported on first use: a monitor that needs no deadline does not pay for the module.
    if name == "Deadline":
        from ocfkit.deadline import Deadline

        return Deadline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
