"""Logging with ``ocf_log`` semantics (contract A12), shared by resource and fence agents.

Routing, as ocf-shellfuncs' ``ha_log``/``ha_debug`` do it:
- stderr is a terminal: stderr only (a human is running the agent);
- ``HA_LOGFACILITY`` set and not ``none``: syslog with that facility;
- ``HA_LOGFILE``: appended to that file;
- neither: stderr (pacemaker-execd logs an agent's stderr at info);
- ``HA_DEBUGLOG``: every line is appended there too (unless it is ``HA_LOGFILE``);
- debug lines only when ``HA_debug`` (or ``OCF_TRACE_RA``, set by ``crm_resource -VV``)
  is true; they go to syslog and ``HA_DEBUGLOG``,
  or to stderr when neither is configured (never to ``HA_LOGFILE``).

Every line carries the tag ``<agent>(<instance>)[<pid>]``. Any secret value the
logger was told about is masked in every line, whatever the level or target.

Not the stdlib ``logging`` module: importing it costs ~7 ms, more than the whole
budget of a monitor, and its global handler state is the kind of import-time side
effect agents must not have.
"""

import os
import sys
import time

MASK = "****"

LEVELS = ("debug", "info", "warning", "error", "crit")
_PREFIX = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR", "crit": "CRIT"}
# syslog priorities (LOG_DEBUG ... LOG_CRIT); numeric so that `syslog` is imported only when used.
_SYSLOG_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "error": 3, "crit": 2}
_FACILITIES = {
    "kern": 0, "user": 8, "mail": 16, "daemon": 24, "auth": 32, "syslog": 40, "lpr": 48,
    "news": 56, "uucp": 64, "cron": 72, "authpriv": 80, "ftp": 88,
    "local0": 128, "local1": 136, "local2": 144, "local3": 152,
    "local4": 160, "local5": 168, "local6": 176, "local7": 184,
}


def is_true(value):
    return value is not None and value.strip().lower() in ("1", "yes", "true", "on", "y")


# Secrets of the agent invocations running in this process (normally exactly one).
# ocfkit.process consults it so that no command line ever carries a secret, even when
# the agent author did not hand the logger to process.run().
_active = []


class Secrets:
    """The set of secret strings to mask. Shared by a logger and everything it feeds."""

    def __init__(self, values=()):
        self._values = []
        for value in values:
            self.add(value)

    def add(self, value):
        if value is None:
            return
        value = str(value)
        # One-character "secrets" would mask half the log; they are too weak to matter.
        if len(value) >= 2 and value not in self._values:
            self._values.append(value)
            self._values.sort(key=len, reverse=True)

    def mask(self, text):
        text = str(text)
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def found_in(self, text):
        """True when ``text`` contains one of the secrets."""
        return any(value in text for value in self._values)

    def activate(self):
        """Register as the secrets of the running invocation (see ``active_secrets``)."""
        if self not in _active:
            _active.append(self)
        return self

    def deactivate(self):
        if self in _active:
            _active.remove(self)

    def __bool__(self):
        return bool(self._values)

    def __repr__(self):  # never the values themselves
        return f"<Secrets: {len(self._values)} value(s)>"


def active_secrets():
    """The Secrets objects of the invocations running in this process."""
    return list(_active)


class Log:
    """A logger bound to one agent invocation.

    ``environ`` is read once, here, when the agent runs: never at import time.
    ``stderr_level`` is the lowest level copied to stderr when stderr is a target
    (fence agents keep stderr for warnings and errors: fenced logs it at warning).
    ``debug_file`` (fence agents' ``--debug-file``) receives every line, debug included.
    """

    def __init__(self, tag, environ=None, secrets=None, stderr=None, verbose=False,
                 debug_file=None, stderr_level="debug"):
        environ = os.environ if environ is None else environ
        self.tag = tag
        self.secrets = secrets if secrets is not None else Secrets()
        self._stderr = stderr
        # OCF_TRACE_RA is how `crm_resource -VV` asks an agent for a trace.
        self.debug_enabled = verbose or any(is_true(environ.get(name)) for name in (
            "HA_debug", "HA_DEBUG", "OCF_TRACE_RA"))
        self._datefmt = environ.get("HA_DATEFMT") or "%b %d %T "
        self._logfile = environ.get("HA_LOGFILE") or None
        debuglog = environ.get("HA_DEBUGLOG") or None
        self._debuglog = debuglog if debuglog != self._logfile else None
        self._debug_file = debug_file
        facility = (environ.get("HA_LOGFACILITY") or "").strip().lower()
        self._facility = _FACILITIES.get(facility) if facility not in ("", "none") else None
        self._syslog_open = False
        self.stderr_level = stderr_level
        self.quiet = False
        self.verbose = verbose
        self.interactive = self._is_tty()

    @property
    def stderr(self):
        return self._stderr if self._stderr is not None else sys.stderr

    @property
    def writes_stderr(self):
        """Whether error lines reach stderr (then an exit reason need not be logged too)."""
        if self.quiet and not self.verbose:
            return False
        return self.interactive or self.verbose or (
            self._facility is None and self._logfile is None)

    # Kept for callers of the first version of this module.
    @property
    def _to_stderr(self):
        return self.writes_stderr

    def _line(self, level, message):
        return f"{self.tag}: {_PREFIX[level]}: {message}"

    def log(self, level, message, *args):
        if level == "debug" and not self.debug_enabled:
            return
        if args:
            try:
                message = message % args
            except (TypeError, ValueError):  # a bad format must not cost the message
                message = " ".join([str(message), *map(str, args)])
        line = self._line(level, self.secrets.mask(message))
        if self._debug_file:
            self._append(self._debug_file, line)
        if self.interactive:
            self._to_stderr_if_wanted(level, line)
            return
        if level == "debug":
            if self._facility is not None:
                self._syslog(level, line)
            if self._debuglog:
                self._append(self._debuglog, line)
            if self._facility is None and self._debuglog is None or self.verbose:
                self._to_stderr_if_wanted(level, line)
            return
        if self._facility is not None:
            self._syslog(level, line)
        if self._logfile:
            self._append(self._logfile, line)
        if self._facility is None and self._logfile is None or self.verbose:
            self._to_stderr_if_wanted(level, line)
        if self._debuglog:
            self._append(self._debuglog, line)

    def _to_stderr_if_wanted(self, level, line):
        if self.quiet and not self.verbose:
            return
        if level != "debug" and LEVELS.index(level) < LEVELS.index(self.stderr_level) \
                and not self.verbose:
            return
        try:
            self.stderr.write(line + "\n")
            self.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass  # a closed stderr must not turn a log line into a failed action

    def _is_tty(self):
        try:
            return self.stderr.isatty()
        except (AttributeError, ValueError, OSError):
            return False

    def _syslog(self, level, line):
        import syslog

        if not self._syslog_open:
            syslog.openlog(self.tag.split("(")[0].split("[")[0], 0, self._facility)
            self._syslog_open = True
        syslog.syslog(self._facility | _SYSLOG_PRIORITY[level], line)

    def _append(self, path, line):
        stamp = time.strftime(self._datefmt)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, f"{stamp}{line}\n".encode("utf-8", "replace"))
            finally:
                os.close(fd)
        except OSError:
            pass  # an unwritable log file must not fail the action it describes

    def debug(self, message, *args):
        self.log("debug", message, *args)

    def info(self, message, *args):
        self.log("info", message, *args)

    def warning(self, message, *args):
        self.log("warning", message, *args)

    warn = warning

    def error(self, message, *args):
        self.log("error", message, *args)

    def crit(self, message, *args):
        self.log("crit", message, *args)
