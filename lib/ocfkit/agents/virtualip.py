"""ocf:ocfkit:VirtualIP - a floating IPv4/IPv6 address, a drop-in for ocf:heartbeat:IPaddr2.

Same parameter names and meanings as IPaddr2 for everything commonly set, so an
administrator switches by changing the agent name only. Differences, and what is
not supported, are in docs/VirtualIP.md.

No action runs a program: addresses, links and routes go through rtnetlink
(``ocfkit.net.rtnl``), announcements and duplicate probes through raw sockets
(``ocfkit.net.neighbour``). The only process ever started is the background
announcer of ``arp_bg`` (``ocfkit.net.sender``).

Identity of the resource: the address on its interface. A depth-0 monitor asks the
kernel whether the address is configured on the interface (for IPv4 through the
local route the kernel keeps for each address: one lookup, however many addresses
the node has); depth 10 also checks the prefix length, the label and, for IPv6,
that duplicate address detection neither failed nor is still running.
"""

from ocfkit import ocf
from ocfkit.net import rtnl
from ocfkit.net.addr import AF_INET, AF_INET6, network_bytes, parse_ip, parse_prefix
from ocfkit.params import Boolean, Integer, String

IFNAMSIZ = 16  # the kernel's limit for interface names and IPv4 labels, with the NUL


class _BadValue:
    """A parameter value that did not parse; kept so that stop can still run."""

    __slots__ = ("name", "reason")

    def __init__(self, name, reason):
        self.name, self.reason = name, reason


class _Lenient:
    """Parse like the base type, but hand a bad value to ``validate()`` instead of
    failing the action before it starts: a stop must remove the address even when an
    unrelated parameter (say ``arp_count``) was edited into something invalid."""

    def parse(self, text):
        try:
            return super().parse(text)
        except ValueError as exc:
            return _BadValue(self.name, str(exc))


class _Integer(_Lenient, Integer):
    pass


class _Boolean(_Lenient, Boolean):
    pass


# IPaddr2 parameters VirtualIP does not implement, with the values that mean "off".
# A non-default value is refused (6) rather than silently ignored.
_UNSUPPORTED = {
    "lvs_support": "false", "lvs_ipv6_addrlabel": "false", "unique_clone_address": "false",
    "mac": "", "network_namespace": "",
}
# IPaddr2 parameters that only choose how IPaddr2 sends ARPs: accepted, without effect.
_IGNORED = ("arp_sender", "send_arp_opts", "flush_routes", "clusterip_hash",
            "lvs_ipv6_addrlabel_value")


class Config:
    """The parameters, checked against each other and normalised."""

    __slots__ = ("ip", "nic", "label", "prefix", "broadcast", "preferred", "flags",
                 "arp_count", "arp_interval", "arp_refresh", "arp_bg", "run_arping",
                 "nodad", "check_link")


class VirtualIP(ocf.ResourceAgent):
    """Floating IPv4 or IPv6 address (drop-in replacement for IPaddr2)

    Adds an IPv4 or IPv6 address to a network interface on start, removes it on stop,
    and tells the neighbours (gratuitous ARP for IPv4, unsolicited neighbour
    advertisements for IPv6) so traffic follows the address when it moves. Parameter
    names and meanings follow ocf:heartbeat:IPaddr2. Everything is done through
    rtnetlink and raw sockets: no action runs a program.
    """

    ip = String(
        required=True, unique_group="ip", shortdesc="IPv4 or IPv6 address",
        longdesc="The address to manage, IPv4 (dotted quad, e.g. 198.51.100.10) or IPv6 in "
                 "any textual form (e.g. 2001:db8::10; normalised). A link-local IPv6 "
                 "address may carry its interface as a zone (fe80::10%eth0).")
    nic = String(
        shortdesc="Network interface",
        longdesc="The interface to add the address to. When unset, it is the interface of "
                 "the most specific directly connected network containing the address in "
                 "the main routing table; the agent fails with the reason when there is "
                 "none or when two interfaces tie. The legacy form nic:label sets the "
                 "label too (and wins over iflabel, as in IPaddr2).")
    cidr_netmask = String(
        aliases=("netmask",), shortdesc="Prefix length (CIDR netmask)",
        longdesc="Prefix length of the address (24, not 255.255.255.0; a dotted IPv4 "
                 "netmask is still accepted and converted). When unset, it is the prefix "
                 "of the directly connected network that contains the address.")
    broadcast = String(
        shortdesc="IPv4 broadcast address",
        longdesc="IPv4 broadcast address for the new address; '+' sets the host bits of "
                 "the prefix, '-' clears them. When unset, the standard broadcast address "
                 "of the prefix (host bits set) is used for prefixes shorter than /31. "
                 "Not valid with IPv6.")
    iflabel = String(
        shortdesc="Interface label (IPv4)",
        longdesc="Label for the IPv4 address, shown by ifconfig as nic:label. The kernel "
                 "allows 15 characters for the whole nic:label. IPv6 addresses have no "
                 "labels; the parameter is ignored for them (with a warning), as IPaddr2 "
                 "does.")
    arp_interval = _Integer(
        default=200, min=1, reloadable=True, shortdesc="Milliseconds between announcements",
        longdesc="Time between two gratuitous ARP rounds (IPv4) or unsolicited neighbour "
                 "advertisements (IPv6), in milliseconds.")
    arp_count = _Integer(
        default=5, min=1, reloadable=True, shortdesc="Announcements sent on start",
        longdesc="Number of announcement rounds sent after the address is added. An IPv4 "
                 "round is a gratuitous ARP request and a gratuitous ARP reply; an IPv6 "
                 "round is one unsolicited neighbour advertisement.")
    arp_count_refresh = _Integer(
        default=0, min=0, reloadable=True,
        shortdesc="Announcements sent on each monitor (IPv4)",
        longdesc="Number of gratuitous ARP rounds sent by every monitor that finds the "
                 "address (IPv4 only), to repair stale ARP caches after a split brain. "
                 "They are sent by the monitor itself, arp_interval apart.")
    arp_bg = _Boolean(
        reloadable=True, shortdesc="Announce in the background",
        longdesc="Send the announcements after the first from a detached background "
                 "process, so start returns at once. Default: true for IPv4, false for "
                 "IPv6 (as IPaddr2). The background sender is stopped by stop, and stops "
                 "by itself when the address is gone.")
    run_arping = _Boolean(
        default=False, reloadable=True,
        shortdesc="Check for a duplicate IPv4 address before start",
        longdesc="Before adding an IPv4 address, send two ARP probes (RFC 5227) and listen "
                 "for 0.5 s after each; if another host answers for the address, start "
                 "fails and nothing is added. IPv6 relies on the kernel's duplicate "
                 "address detection instead (see nodad).")
    nodad = _Boolean(
        default=False, shortdesc="Skip IPv6 duplicate address detection",
        longdesc="Add an IPv6 address without duplicate address detection. By default "
                 "start waits for the kernel's detection to finish and fails (removing the "
                 "address) when another host owns it. No effect on IPv4.")
    noprefixroute = _Boolean(
        default=False, shortdesc="Do not add a prefix route",
        longdesc="Add the address with the noprefixroute flag: the kernel does not create "
                 "a route for its network.")
    preferred_lft = String(
        default="forever", shortdesc="IPv6 preferred lifetime (seconds or forever)",
        longdesc="Preferred lifetime of an IPv6 address, in seconds or 'forever'. 0 makes "
                 "the address deprecated: it is not chosen as a source address for new "
                 "connections. Like IPaddr2, it has no effect on IPv4 addresses.")
    check_link_status = _Boolean(
        default=True, reloadable=True, shortdesc="Treat a link without carrier as not running",
        longdesc="When the interface is down (administratively, or without carrier), "
                 "monitor reports the address as not running and start refuses to add it "
                 "(exit 5), so the address moves to a node whose link works.")

    # ------------------------------------------------------------------ actions
    @ocf.action(timeout="20s")
    def start(self):
        _need_root("start")
        cfg, link = self.cfg, self.link
        with self.lock(), rtnl.Rtnl() as nl:
            down = link.down_reason()
            if down and cfg.check_link:
                raise ocf.ErrInstalled(f"{down}; not adding {cfg.ip.text} "
                                       f"(set check_link_status=false to add it anyway)")
            ours = self._on_link(nl, link)
            for failed in [a for a in ours if a.dadfailed]:
                self.log.warning("removing %s from %s: it failed duplicate address detection "
                                 "earlier; adding it again", cfg.ip.text, link.name)
                self._delete(nl, failed)
                ours.remove(failed)
            if ours:
                self._note_differences(ours)
                if any(a.tentative for a in ours):
                    with rtnl.Rtnl(groups=rtnl.RTMGRP_IPV6_IFADDR) as events:
                        self._wait_dad(nl, link, events)
                self.log.info("%s is already configured on %s", cfg.ip.text, link.name)
                return
            elsewhere = [a for a in nl.find_address(cfg.ip.family, cfg.ip.packed)
                         if a.index != link.index]
            if elsewhere:
                other = nl.link(index=elsewhere[0].index)
                raise ocf.ErrGeneric(
                    f"{cfg.ip.text} is already configured on "
                    f"{other.name if other else elsewhere[0].index} on this node; not adding "
                    f"it to {link.name} as well")
            if cfg.ip.family == AF_INET and cfg.run_arping:
                self._probe(link)
            self._add(nl, link)

    @ocf.action(timeout="20s")
    def stop(self):
        _need_root("stop")
        cfg = self.cfg
        from ocfkit.net import sender

        with self.lock():
            try:
                sender.stop(self.state_path("announce.pid"), self.env.instance,
                            self.deadline, self.log)
            except OSError as exc:
                # Not worth fencing the node for: the sender stops by itself once the
                # address is gone, which is what happens next.
                self.log.warning("%s", exc)
            with rtnl.Rtnl() as nl:
                if self.link is not None:
                    targets = self._on_link(nl, self.link)
                elif self.unresolved is not None:
                    # The routing table no longer says where the address belongs (its
                    # interface went down, say): remove it wherever it is, rather than
                    # leave a duplicate behind for the day the link comes back.
                    targets = [a for a in nl.find_address(cfg.ip.family, cfg.ip.packed)
                               if cfg.prefix is None or a.prefixlen == cfg.prefix]
                else:
                    targets = []  # the interface itself is gone, and the address with it
                for address in targets:
                    if self._delete(nl, address):
                        name = self.link.name if self.link else str(address.index)
                        self.log.info("removed %s/%d from %s", cfg.ip.text,
                                      address.prefixlen, name)
                left = [a for a in targets
                        if nl.find_address(a.family, a.local, a.index)]
                if left:
                    raise ocf.ErrGeneric(f"{cfg.ip.text} is still configured after removal")

    @ocf.action(timeout="20s", interval="10s", depth=0)
    @ocf.action(timeout="20s", interval="60s", depth=10)
    def monitor(self):
        cfg, link = self.cfg, self.link
        if link is None:
            raise ocf.NotRunning(f"interface {cfg.nic} does not exist")
        if cfg.check_link:
            down = link.down_reason()
            if down:
                raise ocf.NotRunning(down)
        with rtnl.Rtnl() as nl:
            if self.env.depth >= 10:
                found = self._on_link(nl, link)
                present = bool(found)
            else:
                found, present = None, self._present(nl, link)
            if not present:
                raise ocf.NotRunning(f"{cfg.ip.text} is not configured on {link.name}")
            if found:
                problem = self._deep_problem(found)
                if problem is not None:
                    return problem
            if cfg.arp_refresh and cfg.ip.family == AF_INET:
                self._announce(link, cfg.arp_refresh, background=False, refresh=True)

    # --------------------------------------------------------------- validation
    def validate(self):
        self.cfg = cfg = self._config()
        self.link = None
        self.unresolved = None  # why the interface could not be derived, if it could not
        action = self.env.action
        if action == "validate-all" and self.env.check_level == 0:
            return  # syntax only: pcs runs this on whatever node it happens to be on
        with rtnl.Rtnl() as nl:
            if cfg.nic:
                self.link = nl.link(cfg.nic)
                if self.link is None and action in ("start", "validate-all"):
                    raise ocf.ErrArgs(f"interface {cfg.nic} does not exist on this node")
                if self.link is not None and cfg.prefix is None and (
                        action in ("start", "validate-all") or self.env.depth >= 10):
                    cfg.prefix = self._derive(nl, action, self.link.index)
            else:
                from ocfkit.net.routes import Unresolved, find_interface

                try:
                    index, prefix = find_interface(nl, cfg.ip, cfg.prefix)
                except Unresolved as exc:
                    if action == "stop":
                        self.unresolved = str(exc)
                        return
                    raise ocf.ErrArgs(f"cannot tell where {cfg.ip.text} belongs: {exc}")
                self.link = nl.link(index=index)
                if cfg.prefix is None:
                    cfg.prefix = prefix
        if self.link is not None and cfg.label and not cfg.nic:
            full = f"{self.link.name}:{cfg.label}"
            if len(full) >= IFNAMSIZ:  # another node's interface name may leave room for it
                raise ocf.ErrArgs(f"label {full} is longer than the {IFNAMSIZ - 1} characters "
                                  f"the kernel allows")

    def _derive(self, nl, action, index):
        """The prefix length for the address on link ``index``, from the routing table.

        Start and validate-all need it; a depth-10 monitor compares it when it is
        known. Depth-0 monitor and stop recognise the address whatever its prefix.
        """
        from ocfkit.net.routes import Unresolved, find_interface

        try:
            return find_interface(nl, self.cfg.ip, None, index)[1]
        except Unresolved as exc:
            if action not in ("start", "validate-all"):
                return None
            raise ocf.ErrArgs(f"cannot tell the prefix length of {self.cfg.ip.text}: {exc}")

    def _config(self):
        """Check and normalise the parameters; ErrConfigured lists every problem.

        During stop only ``ip`` (and where to look for it) must be right: a bad
        ``arp_count`` must not keep the address configured.
        """
        stopping = self.env.action == "stop"
        problems = []
        cfg = Config()
        try:
            cfg.ip = parse_ip(self.ip)
        except ValueError as exc:
            raise ocf.ErrConfigured(f"parameter 'ip': {exc}")
        family = cfg.ip.family

        nic, label = (self.nic or "").strip(), None
        if ":" in nic:  # legacy nic:label form
            nic, label = nic.split(":", 1)
            if not label:
                label = None
        if cfg.ip.zone:
            if nic and nic != cfg.ip.zone:
                problems.append(f"ip has zone %{cfg.ip.zone} but nic is {nic}")
            nic = nic or cfg.ip.zone
        if nic and (len(nic) >= IFNAMSIZ or "/" in nic or nic in (".", "..")
                    or any(c.isspace() for c in nic)):
            problems.append(f"parameter 'nic': '{nic}' cannot be an interface name "
                            f"(at most {IFNAMSIZ - 1} characters, no '/' or spaces)")
        cfg.nic = nic or None
        if cfg.ip.is_link_local and family == AF_INET6 and not nic:
            problems.append(f"nic is required for the link-local address {cfg.ip.text}")

        iflabel = (self.iflabel or "").strip()
        if label is not None and iflabel and iflabel != label:
            self.log.warning("both nic (%s) and iflabel (%s) give a label; using %s, as "
                             "IPaddr2 does", self.nic, iflabel, label)
        label = label if label is not None else (iflabel or None)
        if label is not None and family == AF_INET6:
            self.log.warning("label %s ignored: IPv6 addresses have no labels", label)
            label = None
        if label is not None:
            if not all(c.isalnum() or c in "_.-" for c in label):
                problems.append(f"label '{label}' may only contain letters, digits, '_', "
                                f"'.' and '-'")
            elif len(label) + 2 >= IFNAMSIZ:
                problems.append(f"label '{label}' is too long: nic:label may have at most "
                                f"{IFNAMSIZ - 1} characters")
            elif nic and len(f"{nic}:{label}") >= IFNAMSIZ:
                problems.append(f"label {nic}:{label} is longer than the {IFNAMSIZ - 1} "
                                f"characters the kernel allows")
        cfg.label = label

        cfg.prefix = None
        netmask = self._raw("cidr_netmask")
        legacy = self._raw("netmask")
        if netmask and legacy and netmask.strip() != legacy.strip():
            problems.append(f"cidr_netmask ({netmask}) and netmask ({legacy}) disagree")
        if self.cidr_netmask:
            try:
                cfg.prefix = parse_prefix(self.cidr_netmask, family)
            except ValueError as exc:
                problems.append(f"parameter 'cidr_netmask': {exc}")

        cfg.broadcast = None
        broadcast = (self.broadcast or "").strip()
        if broadcast and family == AF_INET6:
            problems.append("broadcast is only valid with an IPv4 address")
        elif broadcast in ("+", "-"):
            cfg.broadcast = broadcast
        elif broadcast:
            try:
                bcast = parse_ip(broadcast) if broadcast != "255.255.255.255" else None
                if bcast is not None and bcast.family != AF_INET:
                    raise ValueError("is not IPv4")
                cfg.broadcast = bcast.packed if bcast else b"\xff" * 4
            except ValueError:
                problems.append(f"parameter 'broadcast': '{broadcast}' is not an IPv4 "
                                f"address, '+' or '-'")

        lifetime = (self.preferred_lft or "").strip().lower()
        if lifetime == "forever":
            cfg.preferred = rtnl.INFINITY_LIFE_TIME
        elif lifetime.isdigit() and int(lifetime) < rtnl.INFINITY_LIFE_TIME:
            cfg.preferred = int(lifetime)
        else:
            problems.append(f"parameter 'preferred_lft': '{self.preferred_lft}' is not a "
                            f"number of seconds or 'forever'")
        if family == AF_INET:
            cfg.preferred = rtnl.INFINITY_LIFE_TIME  # IPaddr2 applies it to IPv6 only

        for name in ("arp_interval", "arp_count", "arp_count_refresh", "arp_bg",
                     "run_arping", "nodad", "noprefixroute", "check_link_status"):
            value = getattr(self, name)
            if isinstance(value, _BadValue):
                problems.append(f"parameter '{name}': {value.reason}")
                setattr(self, name, self._params[name].default_value())
        cfg.arp_interval = self.arp_interval
        cfg.arp_count = self.arp_count
        cfg.arp_refresh = self.arp_count_refresh
        cfg.arp_bg = (family == AF_INET) if self.arp_bg is None else self.arp_bg
        cfg.run_arping = self.run_arping
        cfg.nodad = self.nodad
        cfg.check_link = self.check_link_status
        cfg.flags = ((rtnl.IFA_F_NODAD if self.nodad and family == AF_INET6 else 0)
                     | (rtnl.IFA_F_NOPREFIXROUTE if self.noprefixroute else 0))

        problems += self._unsupported()
        if problems:
            if not stopping:
                raise ocf.ErrConfigured("; ".join(problems))
            self.log.warning("ignored during stop: %s", "; ".join(problems))
        return cfg

    def _raw(self, name):
        value = self.env.environ.get("OCF_RESKEY_" + name)
        return value if value and value.strip() else None

    def _unsupported(self):
        problems = []
        for name, off in _UNSUPPORTED.items():
            value = self._raw(name)
            if value is None or value.strip() == off:
                continue
            if off == "false":
                try:
                    if not ocf.Boolean().parse(value):
                        continue
                except ValueError:
                    pass
            problems.append(f"IPaddr2 parameter '{name}' is not supported by VirtualIP")
        clones = self.env.meta("clone_max")
        if clones and clones.strip().isdigit() and int(clones) > 1:
            problems.append("a cloned address (IPaddr2's CLUSTERIP load sharing) is not "
                            "supported by VirtualIP")
        for name in _IGNORED:
            if self._raw(name) is not None:
                self.log.debug("IPaddr2 parameter '%s' has no effect on VirtualIP", name)
        return problems

    # ------------------------------------------------------------------ helpers
    def _on_link(self, nl, link):
        """This resource's address on ``link`` (every copy, whatever the prefix)."""
        return nl.find_address(self.cfg.ip.family, self.cfg.ip.packed, link.index)

    def _present(self, nl, link):
        """Cheap presence check for a depth-0 monitor."""
        ip = self.cfg.ip
        if ip.family == AF_INET:
            if nl.local_route_oif(AF_INET, ip.packed) == link.index:
                return True
            # No local route there: the address is absent, or its link is
            # administratively down (the kernel then drops the local routes), or it is
            # on two interfaces. Only then read the link's addresses.
        return bool(self._on_link(nl, link))

    def _note_differences(self, found):
        problem = self._differences(found)
        if problem:
            self.log.warning("%s", problem)

    def _differences(self, found):
        cfg = self.cfg
        if cfg.prefix is not None and not any(a.prefixlen == cfg.prefix for a in found):
            return (f"{cfg.ip.text} is configured on {self.link.name} with prefix "
                    f"/{found[0].prefixlen}, not /{cfg.prefix}")
        if cfg.label is not None:
            want = f"{self.link.name}:{cfg.label}"
            if not any(a.label == want for a in found):
                return f"{cfg.ip.text} on {self.link.name} has label {found[0].label}, not {want}"
        return None

    def _deep_problem(self, found):
        """Depth 10: the address as configured, and usable."""
        if all(a.dadfailed for a in found):
            raise ocf.ErrGeneric(f"{self.cfg.ip.text} failed duplicate address detection: "
                                 f"another host on the link has it")
        difference = self._differences(found)
        if difference:
            raise ocf.ErrGeneric(difference)
        if all(a.tentative for a in found):
            self.log.warning("%s is still tentative (duplicate address detection running)",
                             self.cfg.ip.text)
            return ocf.DEGRADED
        return None

    def _probe(self, link):
        from ocfkit.net.neighbour import cannot_announce, format_mac, probe_ipv4

        reason = cannot_announce(link)
        if reason:
            self.log.info("no duplicate check: %s", reason)
            return
        try:
            owner = probe_ipv4(link, self.cfg.ip, self.deadline.within(3.0))
        except OSError as exc:
            raise ocf.ErrGeneric(f"duplicate address check on {link.name} failed: {exc}")
        if owner is not None:
            raise ocf.ErrGeneric(f"{self.cfg.ip.text} is already in use on the network by "
                                 f"{format_mac(owner)}; not adding it")

    def _add(self, nl, link):
        cfg = self.cfg
        ip, prefix = cfg.ip, cfg.prefix
        broadcast = None
        if ip.family == AF_INET:
            if isinstance(cfg.broadcast, bytes):
                broadcast = cfg.broadcast
            elif prefix < 31:
                broadcast = network_bytes(ip.packed, prefix, cfg.broadcast != "-")
        events = None
        if ip.family == AF_INET6 and not cfg.nodad:
            # Subscribe before adding, so the end of duplicate detection cannot be missed.
            events = rtnl.Rtnl(groups=rtnl.RTMGRP_IPV6_IFADDR)
        try:
            label = f"{link.name}:{cfg.label}" if cfg.label else None
            scope = rtnl.RT_SCOPE_HOST if ip.is_loopback and ip.family == AF_INET else 0
            try:
                nl.add_address(ip.family, link.index, ip.packed, prefix, broadcast=broadcast,
                               label=label, flags=cfg.flags, preferred=cfg.preferred,
                               scope=scope)
            except rtnl.NetlinkError as exc:
                if exc.errno == 1:
                    raise ocf.ErrPerm(f"not allowed to add {ip.text}: {exc.strerror}")
                if exc.errno != 17:  # EEXIST: added meanwhile by someone else
                    raise ocf.ErrGeneric(f"cannot add {ip.text}/{prefix} to {link.name}: "
                                         f"{exc.strerror}")
            self.log.info("added %s/%d to %s%s", ip.text, prefix, link.name,
                          f" (label {label})" if label else "")
            try:
                if not link.is_up:
                    nl.set_link_up(link.index)
                    self.log.info("brought %s up", link.name)
                if events is not None:
                    self._wait_dad(nl, link, events)
                if cfg.arp_count:
                    self._announce(link, cfg.arp_count, background=cfg.arp_bg)
                if not self._on_link(nl, link):
                    raise ocf.ErrGeneric(f"{ip.text} vanished from {link.name} during start")
            except BaseException:
                # Nothing half-done: an address that failed its checks does not stay.
                self._delete_quietly(nl, link)
                raise
        finally:
            if events is not None:
                events.close()

    def _delete(self, nl, address):
        try:
            return nl.delete_address(address.family, address.index, address.local,
                                     address.prefixlen)
        except rtnl.NetlinkError as exc:
            if exc.errno == 1:
                raise ocf.ErrPerm(f"not allowed to remove {self.cfg.ip.text}: {exc.strerror}")
            raise ocf.ErrGeneric(f"cannot remove {self.cfg.ip.text}: {exc.strerror}")

    def _delete_quietly(self, nl, link):
        try:
            for address in self._on_link(nl, link):
                self._delete(nl, address)
        except (OSError, ocf.OCFError) as exc:
            self.log.error("could not remove %s again: %s", self.cfg.ip.text, exc)

    def _wait_dad(self, nl, link, events):
        """Wait for the kernel's duplicate address detection on a new IPv6 address."""
        ip = self.cfg.ip
        budget = self.deadline.within(self._dad_seconds(link.name))
        while True:
            found = self._on_link(nl, link)
            if not found:
                raise ocf.ErrGeneric(f"{ip.text} vanished from {link.name} during duplicate "
                                     f"address detection")
            if any(a.dadfailed for a in found):
                raise ocf.ErrGeneric(f"{ip.text} is already in use on the network "
                                     f"(IPv6 duplicate address detection failed); removed it")
            if not any(a.tentative for a in found):
                return
            if budget.expired:
                raise ocf.ErrGeneric(
                    f"duplicate address detection for {ip.text} did not finish within "
                    f"{budget.seconds:.1f}s (no carrier on {link.name}?); removed it")
            events.receive(min(budget.remaining(), 0.25))

    @staticmethod
    def _dad_seconds(nic):
        """The longest the kernel's DAD should take on ``nic``, with a margin."""
        def read(path, default):
            try:
                with open(path) as handle:
                    return int(handle.read().strip())
            except (OSError, ValueError):
                return default

        transmits = read(f"/proc/sys/net/ipv6/conf/{nic}/dad_transmits", 1)
        retrans = read(f"/proc/sys/net/ipv6/neigh/{nic}/retrans_time_ms", 1000) / 1000.0
        delay = read(f"/proc/sys/net/ipv6/conf/{nic}/router_solicitation_delay", 1)
        return delay + max(transmits, 1) * retrans + 1.0

    def _announce(self, link, count, background, refresh=False):
        """Tell the neighbours; failures are logged, never fatal (the address works)."""
        from ocfkit.net import neighbour

        reason = neighbour.cannot_announce(link)
        if reason:
            self.log.info("no announcements: %s", reason)
            return
        cfg = self.cfg
        interval = cfg.arp_interval / 1000.0
        try:
            if not background or count == 1:
                sent = neighbour.announce(link, cfg.ip, count, interval,
                                          deadline=self.deadline.fraction(0.9))
                if sent < count:
                    self.log.warning("sent %d of %d announcements of %s before the "
                                     "operation's time ran out", sent, count, cfg.ip.text)
                else:
                    log = self.log.debug if refresh else self.log.info
                    log("sent %d announcement(s) of %s on %s", sent, cfg.ip.text, link.name)
                return
            neighbour.announce(link, cfg.ip, 1, interval)
            from ocfkit.net import sender

            pidfile = self.state_path("announce.pid")
            sender.stop(pidfile, self.env.instance, self.deadline, self.log)
            pid = sender.spawn(_python(), pidfile, self.env.instance, link, cfg.ip,
                               count - 1, cfg.arp_interval, self.env.environ)
            self.log.info("sent 1 announcement of %s on %s; %d more from PID %d", cfg.ip.text,
                          link.name, count - 1, pid)
        except OSError as exc:
            self.log.warning("could not announce %s on %s: %s", cfg.ip.text, link.name, exc)


def _need_root(action):
    """Like IPaddr2: changing addresses needs root (4 rather than a failure half-way)."""
    import os

    if os.geteuid() != 0:
        raise ocf.ErrPerm(f"{action} must run as root")


def _python():
    """The interpreter this agent runs under, for the background sender."""
    import sys

    return sys.executable or "/usr/bin/python3"
