"""ocfkit: OCF resource agents and fence agents for Pacemaker, declared in Python.

Importing this package does no work: no environment reads, no log handlers, no
heavy modules. Agents import ``ocfkit.ocf`` or ``ocfkit.fence``.
"""

# The one place the project's version lives (pyproject, debian/, rpm/ read it from here).
__version__ = "0.1.0"
