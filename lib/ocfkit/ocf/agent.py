"""``ResourceAgent``: one declaration, every OCF action, the contract's exit codes.

A subclass declares typed parameters as class attributes and actions as decorated
methods. ``main()`` reads the action from argv and the parameters from
``OCF_RESKEY_*``, runs the agent's ``validate()`` and then the action, and maps what
the method returned or raised to an exit code and one ``ocf-exit-reason:`` line.

The safe answers are the library's defaults (contract A5): when parameters or the
node fail validation, ``stop`` succeeds (nothing can be running), a probe reports
"not running", a recurring monitor fails, every other action returns the validation
code. An unexpected exception is an ``ERR_GENERIC`` with a one-line reason, never a
traceback on stderr (the traceback goes to the debug log). Only meta-data writes to
stdout: during every other action ``sys.stdout`` is stderr, so a stray ``print()``
cannot corrupt what Pacemaker parses.

Start-up cost is part of the contract (a monitor runs every few seconds): the logger,
the deadline and the secrets registry are created on first use, so a monitor that
succeeds silently never imports ocfkit.log or ocfkit.deadline.
"""

import os
import sys
import time

from ocfkit.ocf import contract
from ocfkit.ocf.contract import (
    RESKEY,
    ActionSpec,
    Environment,
    OCFError,
    OCFExit,
    action,
    collect_actions,
)
from ocfkit.params import collect_params

EXIT_REASON_PREFIX = "ocf-exit-reason:"
# Names the framework uses on an agent instance; parameters may not shadow them.
RESERVED = frozenset((
    "env", "log", "deadline", "params", "main", "run", "validate", "state_path", "lock",
    "agent_name", "agent_version", "shortdesc", "longdesc", "usage",
    "set_promotion_score",
))
# Leave this much of Pacemaker's timeout unused, so the agent answers before SIGKILL.
_SAFETY_SHARE, _SAFETY_MAX = 0.1, 2.0
# Codes that say "this node's configuration or software is unusable" (contract A4/A5):
# on stop they mean nothing can be running, on a probe "not running here".
_ENVIRONMENT_CODES = (contract.ERR_ARGS, contract.ERR_INSTALLED, contract.ERR_CONFIGURED)
# Codes only a monitor may return.
_MONITOR_ONLY = (contract.NOT_RUNNING, contract.RUNNING_PROMOTED, contract.FAILED_PROMOTED,
                 contract.DEGRADED, contract.DEGRADED_PROMOTED)


class ResourceAgent:
    """Base class of every resource agent. See the module docstring and docs/writing-agents.md."""

    #: Agent (OCF type) name; defaults to the class name.
    agent_name = None
    #: The agent's own version (metadata ``version`` attribute, not ``<version>``).
    agent_version = None
    #: One-line description; defaults to the first line of the class docstring.
    shortdesc = None
    #: Long description; defaults to the rest of the class docstring.
    longdesc = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if vars(cls).get("agent_name") is None:
            cls.agent_name = cls.__name__
        cls._params = collect_params(cls)
        cls._actions = collect_actions(cls)
        if "reload-agent" not in cls._actions and any(
                p.reloadable for p in cls._params.values()):
            # Parameters are parsed afresh on every action, so a reloadable parameter
            # that only shapes later actions needs no work: reload-agent validates the
            # new values and succeeds. Agents whose running service must pick a value
            # up define their own ``reload_agent``.
            cls._actions["reload-agent"] = ("_reload_parameters",
                                            [ActionSpec("reload-agent", "20s")])
        methods = {m for m, _ in cls._actions.values()}
        for param in cls._params.values():
            if param.attr in RESERVED or param.attr in methods:
                raise TypeError(f"{cls.__name__}: parameter name {param.attr!r} is reserved")
        doc = (cls.__doc__ or "").strip()
        first, _, rest = doc.partition("\n")
        if cls.shortdesc is None:
            cls.shortdesc = first.strip() or cls.agent_name
        if cls.longdesc is None:
            cls.longdesc = _dedent(rest).strip() or cls.shortdesc

    # ---------------------------------------------------------------- hooks
    def validate(self):
        """Check the parameters against each other and this node.

        Raise ``ErrConfigured`` (wrong everywhere), ``ErrArgs`` (wrong on this node),
        ``ErrInstalled`` (software missing here) or ``ErrPerm``. Runs before every
        action except meta-data. ``self.env.check_level`` is 0 for a syntax-only check
        (how pcs calls validate-all).
        """

    # ------------------------------------------------ per-invocation context
    @property
    def log(self):
        """The logger of this invocation (``ocf_log`` routing, secrets masked)."""
        return self._invocation.log

    @property
    def deadline(self):
        """The time this action may still take: Pacemaker's timeout minus a safety margin."""
        return self._invocation.deadline

    # ------------------------------------------------------- built-in actions
    @action(timeout="5s")
    def meta_data(self):
        from ocfkit.ocf.metadata import to_xml

        try:
            self._stdout.write(to_xml(type(self)))
            self._stdout.flush()
        except OSError as exc:  # the reader went away (`| head`): say so in one line
            raise contract.ErrGeneric(f"cannot write the metadata: {exc.strerror}") from None

    @action(timeout="20s")
    def validate_all(self):
        """Parameters and ``validate()`` already ran before this action; nothing failed."""

    def _reload_parameters(self):
        self.log.info("reloadable parameters applied (they take effect from the next action)")

    # --------------------------------------------------------------- helpers
    def state_path(self, suffix):
        """A per-resource file under HA_RSCTMP (created on demand)."""
        from ocfkit.ocf.state import state_path

        return state_path(self.env, self.agent_name, suffix)

    def lock(self, deadline=None):
        """A per-resource lock (context manager) so concurrent actions do not interleave."""
        from ocfkit.ocf.state import ResourceLock

        return ResourceLock(self.state_path("lock"), deadline or self.deadline)

    def set_promotion_score(self, score, lifetime="reboot"):
        """Tell Pacemaker how much this instance wants promotion (``crm_attribute -p``).

        ``score`` is an integer (higher wins) or None to withdraw it. Promotable
        agents set it from monitor/start and withdraw it on stop.
        """
        from ocfkit.ocf.promotion import set_score

        set_score(self, score, lifetime)

    # ------------------------------------------------------------- dispatch
    @classmethod
    def main(cls):
        """Entry point for an agent script: ``if __name__ == "__main__": Agent.main()``."""
        code = cls.run(sys.argv[1:])
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            # Pacemaker closed the pipe: nothing left to tell it; exit without a trace.
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        sys.exit(code)

    @classmethod
    def run(cls, args, environ=None, stdout=None, stderr=None):
        """Run one action; returns the exit code. ``args`` excludes the program name."""
        environ = os.environ if environ is None else environ
        real_stdout, real_stderr = sys.stdout, sys.stderr
        if stdout is not None:
            sys.stdout = stdout
        if stderr is not None:
            sys.stderr = stderr
        invocation = _Invocation(cls, list(args), environ)
        try:
            return int(invocation.run())
        finally:
            invocation.release()
            sys.stdout, sys.stderr = real_stdout, real_stderr

    @classmethod
    def usage(cls):
        names = [name for name in cls._actions if name != "status"]
        lines = [f"usage: {cls.agent_name} {{{'|'.join(names)}}}", "",
                 f"{cls.agent_name}: {cls.shortdesc}", "",
                 "Parameters come from the environment as OCF_RESKEY_<name>:"]
        for param in cls._params.values():
            notes = ["required"] if param.required else []
            default = param.default_text()
            if default is not None:
                notes.append(f"default {default}")
            note = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"  {param.name}{note}: {param.shortdesc or param.ocf_type}")
        lines.append(f"Full description: {cls.agent_name} meta-data")
        return "\n".join(lines)


class _Invocation:
    """One run of one action: parse, validate, dispatch, map the outcome."""

    def __init__(self, cls, args, environ):
        self.cls = cls
        self.args = args
        self.environ = environ
        self.env = None
        self._secrets = None
        self._log = None
        self._deadline = None

    # Created on first use: see the module docstring.
    @property
    def secrets(self):
        if self._secrets is None:
            from ocfkit.log import Secrets

            self._secrets = Secrets().activate()
        return self._secrets

    def mask(self, text):
        return self._secrets.mask(text) if self._secrets else str(text)

    def release(self):
        if self._secrets is not None:
            self._secrets.deactivate()

    @property
    def log(self):
        if self._log is None:
            from ocfkit.log import Log

            instance = self.env.instance if self.env else "default"
            self._log = Log(f"{self.cls.agent_name}({instance})[{os.getpid()}]",
                            self.environ, self.secrets)
        return self._log

    @property
    def deadline(self):
        if self._deadline is None:
            from ocfkit.deadline import Deadline

            timeout = self.env.timeout
            self._deadline = Deadline(timeout - min(timeout * _SAFETY_SHARE, _SAFETY_MAX),
                                      start=self.started)
        return self._deadline

    def run(self):
        self.started = time.monotonic()
        try:
            return self._run()
        except Exception as exc:  # noqa: BLE001 - a library bug still owes an exit code
            self._reason(f"internal error in ocfkit: {type(exc).__name__}: {exc}")
            return contract.ERR_GENERIC

    def _run(self):
        cls = self.cls
        if not self.args:
            sys.stderr.write(cls.usage() + "\n")
            return contract.ERR_ARGS
        name = self.args[0]
        if name in ("usage", "help", "-h", "--help"):
            sys.stderr.write(cls.usage() + "\n")
            return contract.SUCCESS
        if name == "status" and "status" not in cls._actions and "monitor" in cls._actions:
            name = "monitor"  # legacy alias, not advertised (pcs skips it)
        if name not in cls._actions:
            self._reason(f"action '{_printable(name)}' is not implemented by "
                         f"{cls.agent_name}")
            sys.stderr.write(cls.usage().partition("\n")[0] + "\n")
            return contract.ERR_UNIMPLEMENTED
        method_name, specs = cls._actions[name]
        depths = [s.depth for s in specs if s.depth is not None]
        self.env = env = Environment(self.environ, name, depths or (0,), specs[0].timeout)
        agent = cls.__new__(cls)
        agent.env = env
        agent._invocation = self
        agent._stdout = sys.stdout
        if name == "meta-data":
            return self._call(agent, name, method_name)
        # Only meta-data owns stdout; anything else printed goes where logs go.
        sys.stdout = sys.stderr
        try:
            agent.params = self._load_params(agent)
            agent.validate()
        except OCFError as exc:
            return self._invalid(env, exc.code, exc.reason)
        except Exception as exc:  # noqa: BLE001 - a crashing validate() is a failed validation
            self._debug_traceback()
            return self._invalid(env, contract.ERR_GENERIC,
                                 f"validation failed: {type(exc).__name__}: {exc}")
        return self._call(agent, name, method_name)

    # ------------------------------------------------------------ parameters
    def _load_params(self, agent):
        environ, cls = self.environ, self.cls
        # Secrets first, so that no message below can carry one unmasked.
        for param in cls._params.values():
            if param.secret:
                for key in (param.name, *param.aliases):
                    if environ.get(RESKEY + key):
                        self.secrets.add(environ[RESKEY + key])
        values, missing, problems = {}, [], []
        for param in cls._params.values():
            text = environ.get(RESKEY + param.name)
            if not text:
                for alias in param.aliases:
                    text = environ.get(RESKEY + alias)
                    if text:
                        self.log.warning("parameter '%s' is deprecated, use '%s'",
                                         alias, param.name)
                        break
            if param.deprecated and text:
                self.log.warning("parameter '%s' is deprecated: %s", param.name,
                                 param.deprecated)
            if not text:
                if param.required:
                    missing.append(param.name)
                    continue
                try:
                    value = param.default_value()
                except ValueError as exc:  # a bad default is the agent author's bug
                    raise contract.ErrGeneric(f"default of '{param.name}' is invalid: {exc}")
            else:
                try:
                    value = param.parse(text)
                except ValueError as exc:
                    problems.append(f"parameter '{param.name}': "
                                    + ("invalid value" if param.secret else str(exc)))
                    continue
            values[param.name] = value
            agent.__dict__[param.attr] = value
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise contract.ErrConfigured(
                f"required parameter{plural} not set: {', '.join(missing)}")
        if problems:
            raise contract.ErrConfigured("; ".join(problems))
        return values

    # ------------------------------------------------------------- outcomes
    def _invalid(self, env, code, reason):
        """Contract A5: the safe answer for each action when validation fails."""
        reason = self.mask(reason)
        action = env.action
        if action == "stop":
            self.log.warning("%s; nothing can be running, so stop succeeds", reason)
            return contract.SUCCESS
        if env.is_probe:
            self.log.info("probe: %s; reporting not running", reason)
            return contract.NOT_RUNNING
        if action == "notify":
            self.log.warning("notify ignored: %s", reason)
            return contract.SUCCESS
        self._reason(reason)
        if env.is_recurring_monitor:
            return contract.ERR_GENERIC
        return code

    def _call(self, agent, name, method_name):
        env = agent.env
        try:
            result = getattr(agent, method_name)()
        except OCFError as exc:
            code = exc.code
            reason = exc.reason
        except Exception as exc:  # noqa: BLE001 - the contract needs an exit code, not a crash
            code = contract.ERR_GENERIC
            reason = f"unexpected error in {name}: {type(exc).__name__}: {exc}"
            self._debug_traceback()
        else:
            reason = ""
            if result is None or result is True:
                code = contract.SUCCESS
            else:
                try:
                    code = OCFExit(result)
                except (TypeError, ValueError):
                    code = contract.ERR_GENERIC
                    reason = f"{name} returned {result!r}, which is not an OCF exit code"
        reason = self.mask(reason)
        return self._outcome(env, name, code, reason)

    def _outcome(self, env, name, code, reason):
        """Apply the contract's rules for ``name`` to what the agent's method produced."""
        if name == "notify" and code != contract.SUCCESS:
            self.log.warning("notify failed (%s): %s; notify always succeeds",
                             OCFExit(code).name, reason)
            return contract.SUCCESS
        if name == "stop" and (code in _ENVIRONMENT_CODES or code == contract.NOT_RUNNING):
            # A failed stop fences the node; these codes mean nothing can be running.
            self.log.warning("stop: %s (%s); nothing can be running, so stop succeeds",
                             reason or "not running", OCFExit(code).name)
            return contract.SUCCESS
        if env.is_probe and code in _ENVIRONMENT_CODES:
            self.log.info("probe: %s (%s); reporting not running", reason,
                          OCFExit(code).name)
            return contract.NOT_RUNNING
        if code in _MONITOR_ONLY and name not in ("monitor", "status"):
            reason = (f"{name} returned {OCFExit(code).name}, which only a monitor may "
                      f"return" + (f": {reason}" if reason else ""))
            code = contract.ERR_GENERIC
        if reason:
            if code == contract.SUCCESS or code == contract.NOT_RUNNING and env.is_probe:
                self.log.info("%s", reason)
            else:
                self._reason(reason)
        return code

    def _reason(self, reason):
        """One ``ocf-exit-reason:`` line on stderr (Pacemaker keeps the last one) + error log."""
        line = " ".join(str(reason).split())  # one line, whatever the message held
        line = self.mask(line)
        prefix = self.environ.get("OCF_EXIT_REASON_PREFIX") or EXIT_REASON_PREFIX
        if self.env is not None and not self.log.writes_stderr:
            self.log.error("%s", line)
        try:
            sys.stderr.write(f"{prefix}{line}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass

    def _debug_traceback(self):
        if self.env is not None and self.log.debug_enabled:
            import traceback

            for line in traceback.format_exc().rstrip().splitlines():
                self.log.debug("%s", line)


def _printable(text, limit=64):
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def _dedent(text):
    lines = text.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines)
