"""``FenceAgent``: a fence agent supplies power status, power control and (optionally) a
list; the library does everything else (contract B1-B9).

It parses stdin or argv, types and checks every option, resolves ``password_script``,
applies ``delay``, composes reboot (off, verified off, on, verified on; or one
verified cycle), polls the device for the state it reports instead of sleeping blind,
prints status, list and list-status in the shape pacemaker-fenced parses, and exits
0 (done / on), 2 (status: off) or 1 (any failure, with one line on stderr).
"""

import os
import sys
import time

from ocfkit.deadline import Deadline
from ocfkit.fence import options as std
from ocfkit.fence.args import ArgumentError, _show, parse_argv, parse_stdin
from ocfkit.log import Log, Secrets
from ocfkit.params import Boolean, collect_params

ON, OFF = "on", "off"
EXIT_OK, EXIT_FAIL, EXIT_OFF = 0, 1, 2

ACTIONS = ("on", "off", "reboot", "status", "list", "list-status", "monitor", "metadata",
           "manpage", "validate-all")
_ACTION_ALIASES = {"meta-data": "metadata", "enable": "on", "disable": "off"}
# Characters pacemaker-fenced accepts in a target name from list output (contract B8).
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class FenceError(Exception):
    """Raise from agent code: the action fails with exit 1 and this one-line message.

    Say "timed out" in the message for a timeout: pacemaker-fenced classifies
    failures by that text.
    """


class FenceAgent:
    """Base class of every fence agent. See docs/writing-agents.md."""

    #: Agent name (``fence_...``); defaults to the class name.
    agent_name = None
    agent_version = None
    shortdesc = None
    longdesc = None
    vendor_url = ""
    #: ((name, shortdesc), ...) other names this agent is installed under.
    symlinks = ()
    #: Whether on/off/reboot/status need a plug (only meaningful if ``plug`` is declared).
    needs_plug = True
    #: Metadata: ``on`` runs automatically when a node joins (unfencing devices).
    automatic_on = False
    #: Metadata: ``on`` must run on the target node itself.
    on_target = False
    #: A fabric device (cuts storage or network, not power): no ``reboot`` action and
    #: ``off`` is the default action (contract B3).
    fabric = False

    # Options every fence agent has (fencing.py's universal set).
    action = std.action()
    verbose = std.verbose()
    debug_file = std.debug_file()
    quiet = std.quiet()
    version = std.version()
    help = std.help()
    delay = std.delay()
    login_timeout = std.login_timeout()
    power_timeout = std.power_timeout()
    power_wait = std.power_wait()
    stonith_status_sleep = std.stonith_status_sleep()
    retry_on = std.retry_on()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if vars(cls).get("agent_name") is None:
            cls.agent_name = cls.__name__
        params = collect_params(cls)
        # action first, the agent's own options next, the universal ones last
        universal = [p for p in collect_params(FenceAgent) if p != "action"]
        if cls.fabric and params["action"].default == "reboot":
            params["action"] = std.action(default="off")
        ordered = {"action": params["action"]}
        ordered.update((n, p) for n, p in params.items() if n not in universal and n != "action")
        ordered.update((n, params[n]) for n in universal)
        cls._params = ordered
        doc = (cls.__doc__ or "").strip()
        first, _, rest = doc.partition("\n")
        if cls.shortdesc is None:
            cls.shortdesc = first.strip() or cls.agent_name
        if cls.longdesc is None:
            cls.longdesc = " ".join(rest.split()) or cls.shortdesc

    # ------------------------------------------------------------- agent hooks
    def validate(self):
        """Check options against each other; raise FenceError. No device traffic here."""

    def connect(self):
        """Open a session to the device (called once before any device call)."""

    def disconnect(self):
        """Close the session (always called when connect() succeeded)."""

    def get_power_status(self, plug):
        """Return ON or OFF for ``plug`` (None for single-target devices)."""
        raise NotImplementedError

    def set_power_status(self, plug, state):
        """Ask the device to power ``plug`` ON or OFF; the library verifies the result."""
        raise NotImplementedError

    #: Optional: ``def get_list(self) -> {plug id: alias or None}``.
    get_list = None
    #: Optional: ``def get_list_status(self) -> {plug id: (alias or None, ON|OFF|None)}``.
    get_list_status = None
    #: Optional: ``def reboot_cycle(self, plug)``: one device-level power cycle (method=cycle).
    reboot_cycle = None

    def monitor(self):
        """Is the device reachable and healthy?

        Default: the list if the device has one; else the status of the plug, or of the
        device itself when it has no plugs. A plug device without a list, asked with no
        plug (as pacemaker-fenced does), is healthy when ``connect()`` succeeded.
        """
        if self.get_list is not None:
            self.get_list()
        elif self.target is not None or "plug" not in type(self)._params:
            self.get_power_status(self.target)

    # ------------------------------------------------------------- helpers
    @property
    def target(self):
        """The plug to act on (None for single-target devices)."""
        return self.__dict__.get("plug")

    # ------------------------------------------------------------- dispatch
    @classmethod
    def main(cls):
        code = cls.run(sys.argv[1:])
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # reader gone: exit quietly
        sys.exit(code)

    @classmethod
    def run(cls, args, stdin=None, environ=None, stdout=None, stderr=None):
        """Run one invocation; returns the exit code.

        ``stdin`` is bytes (read from the real stdin when None and ``args`` is empty).
        """
        real = sys.stdout, sys.stderr
        sys.stdout = stdout if stdout is not None else sys.stdout
        sys.stderr = stderr if stderr is not None else sys.stderr
        invocation = _Invocation(cls, list(args), stdin,
                                 os.environ if environ is None else environ)
        invocation.secrets.activate()
        try:
            return invocation.run()
        except Exception as exc:  # noqa: BLE001 - a library bug still owes exit 1, not a trace
            return invocation.fail(invocation.secrets.mask(
                f"internal error in ocfkit: {type(exc).__name__}: {exc}"))
        finally:
            invocation.secrets.deactivate()
            sys.stdout, sys.stderr = real


class _Invocation:
    def __init__(self, cls, args, stdin, environ):
        self.cls = cls
        self.args = args
        self.stdin = stdin
        self.environ = environ
        self.secrets = Secrets()
        self.log = Log(f"{cls.agent_name}[{os.getpid()}]", {}, self.secrets,
                       stderr_level="warning")
        self.stdout = None

    def fail(self, message):
        self.log.error("%s", " ".join(self.secrets.mask(message).split()))
        return EXIT_FAIL

    def run(self):
        cls = self.cls
        try:
            if self.args:
                texts, used = parse_argv(self.args, cls._params)
                extras = {}
            else:
                data = self.stdin if self.stdin is not None else _read_stdin()
                texts, used, extras = parse_stdin(data, cls._params, self.log.warning)
        except ArgumentError as exc:
            return self.fail(exc)
        for name, param in cls._params.items():
            if param.secret and texts.get(name):
                self.secrets.add(texts[name])
        # Only the actions that print a result own stdout; stray prints go to stderr.
        self.stdout = sys.stdout
        sys.stdout = sys.stderr
        action = texts.get("action", cls._params["action"].default).strip().lower()
        action = _ACTION_ALIASES.get(action, action)
        if _truthy(texts.get("help")):
            self.stdout.write(_usage(cls))
            return EXIT_OK
        if _truthy(texts.get("version")):
            from ocfkit import __version__

            self.stdout.write(f"{cls.agent_version or __version__}\n")
            return EXIT_OK
        if action in ("list", "list-status") and "plug" not in cls._params:
            # fencing.py's answer for a device without plugs; not advertised in metadata
            self.stdout.write("N/A\n")
            return EXIT_OK
        if action not in self.supported_actions():
            return self.fail(f"unrecognized action '{_show(action)}'")
        if action in ("metadata", "manpage"):
            from ocfkit.fence import metadata

            render = metadata.to_xml if action == "metadata" else metadata.to_manpage
            self.stdout.write(render(cls))
            return EXIT_OK
        agent = cls.__new__(cls)
        agent.nodename = extras.get("nodename")
        try:
            self.load(agent, texts, used)
        except FenceError as exc:
            return self.fail(exc)
        self.log.debug_enabled = self.log.verbose = agent.verbose
        self.log.quiet = agent.quiet
        if agent.debug_file:
            self.log._debug_file = agent.debug_file
            self.log.debug_enabled = True
        agent.log = self.log
        try:
            self.resolve_password(agent)
            agent.validate()
            if action == "validate-all":
                return EXIT_OK
            return self.perform(agent, action)
        except FenceError as exc:
            return self.fail(exc)
        except Exception as exc:  # noqa: BLE001 - one line and exit 1, never a traceback
            self.debug_traceback()
            return self.fail(f"unexpected error during {action}: {type(exc).__name__}: {exc}")

    def supported_actions(self):
        return supported_actions(self.cls)

    # ------------------------------------------------------------- options
    def load(self, agent, texts, used):
        cls = self.cls
        missing = []
        for name, param in cls._params.items():
            text = texts.get(name)
            if text == "" and isinstance(param, Boolean):
                # fencing.py ignores a flag without a value; say so instead of guessing
                self.log.warning("option '%s' has no value; using its default", name)
                text = None
            if text is None or text == "":
                if param.required:
                    missing.append(name)
                value = param.default_value()
            else:
                try:
                    value = param.parse(text)
                except ValueError as exc:
                    shown = used.get(name, name)
                    detail = "invalid value" if param.secret else str(exc)
                    raise FenceError(f"option '{shown}': {detail}") from None
            agent.__dict__[param.attr] = value
            key = used.get(name)
            if key is not None and key != name and not key.startswith("-"):
                self.log.debug("option '%s' is deprecated, use '%s'", key, name)
        if missing:
            raise FenceError(f"missing required option: {', '.join(missing)}")

    def resolve_password(self, agent):
        """``password_script`` gives the password when ``password`` is not set."""
        cls = self.cls
        if "password" in cls._params and "password_script" in cls._params \
                and not agent.__dict__.get("password"):
            command = agent.__dict__.get("password_script")
            if command:
                agent.__dict__["password"] = self.password_from_script(command, agent)

    def password_from_script(self, command, agent):
        """Run password_script (split like a shell would, but never through one)."""
        import shlex

        from ocfkit.process import CommandError, run

        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise FenceError(f"password_script cannot be parsed: {exc}") from None
        if not argv:
            raise FenceError("password_script is empty")
        try:
            result = run(argv, timeout=float(agent.login_timeout) + 10, log=self.log)
        except CommandError as exc:
            raise FenceError(f"password_script: {exc}") from None
        if result.returncode != 0:
            raise FenceError(f"password_script failed (exit {result.returncode})")
        lines = result.stdout.splitlines()
        secret = lines[0].rstrip("\r") if lines else ""
        self.secrets.add(secret)
        if not secret:
            raise FenceError("password_script printed no password")
        return secret

    # ------------------------------------------------------------- actions
    def perform(self, agent, action):
        plug = agent.target
        if (action in ("on", "off", "reboot", "status") and "plug" in self.cls._params
                and self.cls.needs_plug and not plug):
            raise FenceError(f"action '{action}' needs a plug (--plug / plug=)")
        if action in ("off", "reboot") and agent.delay:
            self.log.info("delay: waiting %gs before %s", agent.delay, action)
            # The delay *is* the requested behaviour (staggered fencing), not a guess.
            time.sleep(agent.delay)
        agent.connect()
        try:
            return self.perform_connected(agent, action, plug)
        finally:
            try:
                agent.disconnect()
            except Exception as exc:  # noqa: BLE001 - closing must not change the outcome
                self.log.debug("disconnect failed: %s", exc)

    def plugs(self, agent, plug):
        """The plugs one request names: ``plug=1,2`` with a declared ``plug_separator``."""
        separator = agent.__dict__.get("plug_separator")
        if plug and separator and separator in plug:
            return [p for p in plug.split(separator) if p]
        return [plug]

    def perform_connected(self, agent, action, plug):
        plugs = self.plugs(agent, plug)
        if action == "status":
            # Several plugs power one machine: it is on while any of them is.
            states = [self.status(agent, p) for p in plugs]
            state = ON if ON in states else OFF
            self.stdout.write(f"Status: {state.upper()}\n")
            return EXIT_OK if state == ON else EXIT_OFF
        if action == "monitor":
            agent.monitor()
            return EXIT_OK
        if action in ("on", "off"):
            for each in plugs:
                self.set_verified(agent, each, action)
            return EXIT_OK
        if action == "reboot":
            return self.reboot(agent, plugs)
        if action == "list":
            self.print_list(agent, with_status=False)
            return EXIT_OK
        if action == "list-status":
            self.print_list(agent, with_status=True)
            return EXIT_OK
        raise FenceError(f"unrecognized action '{action}'")

    def status(self, agent, plug):
        state = agent.get_power_status(plug)
        if state not in (ON, OFF):
            raise FenceError(f"device reported an unknown power state {state!r}")
        return state

    def wait_for(self, agent, plug, state):
        """Poll until the device reports ``state``; transient read errors are retried."""
        last_error = []

        def reached():
            try:
                return self.status(agent, plug) == state
            except FenceError as exc:
                last_error[:] = [exc]
                self.log.debug("status check failed, retrying: %s", exc)
                return False

        deadline = Deadline(agent.power_timeout)
        if deadline.poll(reached, interval=0.05,
                         max_interval=max(0.05, agent.stonith_status_sleep)):
            return
        detail = f" (last error: {last_error[0]})" if last_error else ""
        raise FenceError(f"timed out after {agent.power_timeout:g}s waiting for power "
                         f"{state}{detail}")

    def set_verified(self, agent, plug, state):
        if self.status(agent, plug) == state:
            self.log.info("already %s", state)
            return
        self.log.info("powering %s", state)
        agent.set_power_status(plug, state)
        if agent.power_wait:
            # power_wait is the user's explicit settle time for devices that report
            # a state change before it has happened; honour it before polling.
            Deadline(agent.power_wait).poll(lambda: False, interval=agent.power_wait)
        self.wait_for(agent, plug, state)
        self.log.info("power %s verified", state)

    def reboot(self, agent, plugs):
        method = agent.__dict__.get("method", "onoff")
        if method == "cycle":
            if self.cls.reboot_cycle is None:
                raise FenceError("method=cycle is not supported by this device")
            for plug in plugs:
                self.log.info("power cycle")
                agent.reboot_cycle(plug)
                self.wait_for(agent, plug, ON)
            return EXIT_OK
        # Every plug off first: a machine with two supplies is fenced only when both are.
        for plug in plugs:
            self.set_verified(agent, plug, OFF)
        errors = []
        for attempt in range(1, max(1, agent.retry_on) + 1):
            try:
                for plug in plugs:
                    self.set_verified(agent, plug, ON)
                return EXIT_OK
            except FenceError as exc:
                errors.append(exc)
                self.log.warning("power on attempt %d failed: %s", attempt, exc)
        # Contract B3: a reboot succeeds once the off part is verified; the node is fenced.
        self.log.error("node is fenced (power off verified) but did not power on: %s",
                       errors[-1])
        return EXIT_OK

    def print_list(self, agent, with_status):
        separator = agent.__dict__.get("separator") or ","
        if with_status:
            if self.cls.get_list_status is not None:
                entries = agent.get_list_status()
            else:
                entries = {plug: (alias, self.safe_status(agent, plug))
                           for plug, alias in agent.get_list().items()}
        else:
            entries = {plug: (alias, None) for plug, alias in agent.get_list().items()}
        lines = []
        for plug, (alias, state) in sorted(entries.items()):
            if not set(plug) <= _NAME_OK or alias and not set(alias) <= _NAME_OK:
                self.log.warning("not listing %r: pacemaker-fenced accepts only letters, "
                                 "digits and _ . - in target names", plug)
                continue
            fields = [plug, alias or ""]
            if with_status:
                fields.append((state or "unknown").upper())
            lines.append(separator.join(fields))
        self.stdout.write("".join(line + "\n" for line in lines))

    def safe_status(self, agent, plug):
        try:
            return self.status(agent, plug)
        except FenceError:
            return None

    def debug_traceback(self):
        if self.log.debug_enabled:
            import traceback

            for line in traceback.format_exc().rstrip().splitlines():
                self.log.debug("%s", line)


def supported_actions(cls):
    actions = list(ACTIONS)
    if cls.get_list is None:
        actions.remove("list")
        actions.remove("list-status")
    if cls.fabric:
        actions.remove("reboot")
    return actions


def _truthy(text):
    return text is not None and text.strip().lower() in ("", "1", "yes", "true", "on", "y")


def _read_stdin():
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return b""
        return sys.stdin.buffer.read()
    except (OSError, ValueError, AttributeError):
        return b""


def _usage(cls):
    from ocfkit.fence.metadata import getopt_text

    lines = [f"Usage: {cls.agent_name} [options]   (or key=value lines on stdin)", "Options:"]
    for param in cls._params.values():
        lines.append(f"   {getopt_text(param):<40} {param.shortdesc}")
    lines.append(f"Actions: {', '.join(supported_actions(cls))}")
    return "\n".join(lines) + "\n"
