"""Write a fence agent by declaring its options and supplying power status and control.

    from ocfkit import fence
    from ocfkit.fence import std

    class MySwitch(fence.FenceAgent):
        \"\"\"One-line description.\"\"\"
        ip = std.ip(required=True)
        plug = std.plug()

        def get_power_status(self, plug): ...
        def set_power_status(self, plug, state): ...

See docs/writing-agents.md.
"""

from ocfkit.deadline import Deadline
from ocfkit.fence import options as std
from ocfkit.fence.agent import EXIT_FAIL, EXIT_OFF, EXIT_OK, OFF, ON, FenceAgent, FenceError
from ocfkit.params import Boolean, Duration, Integer, IPAddress, Param, Path, Port, Select, String

__all__ = [
    "EXIT_FAIL", "EXIT_OFF", "EXIT_OK", "OFF", "ON", "Boolean", "Deadline", "Duration",
    "FenceAgent", "FenceError", "IPAddress", "Integer", "Param", "Path", "Port", "Select",
    "String", "std",
]
