"""Logging with ``ocf_log`` semantics (contract A12), shared by resource and fence agents.

Routing, as ocf-shellfuncs does it:
- stderr is a terminal: stderr only (a human is running the agent);
- ``HA_LOGFACILITY`` (or ``PCMK_logfacility``) set and not ``none``: syslog;
- ``HA_LOGFILE``: appended to that file;
- neither: stderr (pacemaker-execd logs an agent's stderr at info);
- debug lines only when ``HA_debug`` is true, and also to ``HA_DEBUGLOG``.

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

    def __bool__(self):
        return bool(self._values)


class Log:
    """A logger bound to one agent invocation.

    ``environ`` is read once, here, when the agent runs: never at import time.
    """

    def __init__(self, tag, environ=None, secrets=None, stderr=None, verbose=False,
                 debug_file=None, stderr_level="debug"):
        environ = os.environ if environ is None else environ
        self.tag = tag
        self.secrets = secrets if secrets is not None else Secrets()
        self._stderr = stderr if stderr is not None else sys.stderr
        self.debug_enabled = verbose or is_true(environ.get("HA_debug")) or is_true(
            environ.get("HA_DEBUG"))
        self._datefmt = environ.get("HA_DATEFMT") or "%b %d %T "
        self._logfile = environ.get("HA_LOGFILE") or None
        self._debuglog = environ.get("HA_DEBUGLOG") or None
        self._debug_file = debug_file
        facility = environ.get("HA_LOGFACILITY") or environ.get("PCMK_logfacility") or ""
        facility = facility.strip().lower()
        self._facility = _FACILITIES.get(facility) if facility not in ("", "none") else None
        try:
            interactive = self._stderr.isatty()
        except (AttributeError, ValueError):
            interactive = False
        self._to_stderr = verbose or interactive or (
            self._facility is None and self._logfile is None)
        self._syslog_open = False
        # Fence agents keep stderr for warnings and errors: fenced logs it at warning.
        self.stderr_level = stderr_level

    def _line(self, level, message):
        return f"{self.tag}: {_PREFIX[level]}: {message}"

    def log(self, level, message, *args):
        if level == "debug" and not self.debug_enabled:
            return
        if args:
            message = message % args
        message = self.secrets.mask(message)
        line = self._line(level, message)
        interactive_only = self._to_stderr and self._is_tty()
        if self._to_stderr and (self.debug_enabled or
                                LEVELS.index(level) >= LEVELS.index(self.stderr_level)):
            self._write_stderr(line)
        if not interactive_only:
            if self._facility is not None:
                self._syslog(level, line)
            if self._logfile:
                self._append(self._logfile, line)
            if level == "debug" and self._debuglog:
                self._append(self._debuglog, line)
        if self._debug_file:
            self._append(self._debug_file, line)

    def _is_tty(self):
        try:
            return self._stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def _write_stderr(self, line):
        try:
            self._stderr.write(line + "\n")
            self._stderr.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not turn a log line into a failed action

    def _syslog(self, level, line):
        import syslog

        if not self._syslog_open:
            syslog.openlog(self.tag.split("(")[0], syslog.LOG_PID, self._facility)
            self._syslog_open = True
        syslog.syslog(_SYSLOG_PRIORITY[level], line)

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
