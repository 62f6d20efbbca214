"""The kernel side of network agents: addresses, links and routes over rtnetlink, and
neighbour announcements (gratuitous ARP, unsolicited NA) on raw sockets.

Nothing here runs a command: an agent that manages an address talks to the kernel
directly, so a monitor costs one interpreter start and a few system calls.

Why not pyroute2: measured on the 2-core Debian 12 machine, ``from pyroute2 import
IPRoute; IPRoute().close()`` (pyroute2 0.9.7) costs about 200 ms of CPU and 32 MB of
RSS, against about 27 ms of CPU for a whole IPaddr2 monitor and a 15 MB budget. The
handful of requests an address agent needs fit in a small client (``rtnl``).

Modules use ``_socket`` rather than ``socket``: the ``socket`` module imports ``enum``
and ``selectors`` (about 4 ms), the C module alone costs 0.3 ms and has every call
needed here.
"""
