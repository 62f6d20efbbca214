"""The lab: a real Pacemaker/Corosync cluster in namespaces on one machine.

Each node is a network namespace plus a private mount/uts/ipc/pid namespace whose PID 1
is ``ocfkit.lab.node_init``; a "switch" namespace holds the bridges; a qnetd arbiter,
a client and the BMCs (one ``ipmi_sim`` per node, whose power hook really kills or
boots the node) sit in namespaces of their own. ``ocfkit lab up|down|status|demo``
(``ocfkit.lab.cli``) drives it; docs/lab.md explains it.
"""
