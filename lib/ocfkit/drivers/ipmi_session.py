"""The BMC conversation of fence_ocfkit_ipmi: sessions that survive a lossy network,
a busy BMC and a BMC that reboots mid-action, and one clear line per failure.

- Login: every exchange is resent within ``login_timeout`` (see ocfkit.ipmi.link);
  a failure that a new session might cure (no answer yet, session limit, garbled
  answer) starts a whole new session, until ``login_timeout`` is spent. Credential
  failures stop at once: retrying a wrong password only risks locking the account.
- Commands: each one must be answered within ``login_timeout``. An established session
  that stops answering (the BMC restarted and forgot it, or dropped it) is abandoned
  after a few resends; we log in again and repeat the command. Power on/off are
  idempotent, so repeating one whose answer was lost is safe.
- The session is always closed (BMCs have few session slots; ipmi_sim has 10ish).
"""

import time

from ocfkit.deadline import Deadline
from ocfkit.fence import FenceError
from ocfkit.ipmi import errors

# Resends of a command within a session before we assume the session is gone:
# sent at 0, 0.25, 0.75, 1.75 s with the minimum timeout (ocfkit.ipmi.link).
SESSION_SENDS = 4


class BmcSession:
    def __init__(self, *, host, port, username, password, lanplus=True, cipher=3,
                 privilege="administrator", kg=None, login_timeout=5.0, log=None):
        self.host, self.port = host, port
        self.username = (username or "").encode("utf-8")
        self.password = (password or "").encode("utf-8")
        self.kg = kg
        self.lanplus = lanplus
        self.cipher = cipher
        self.privilege = privilege
        self.login_timeout = login_timeout
        self.log = log
        self.link = None
        self.session = None
        self.logins = 0

    def debug(self, message, *args):
        if self.log is not None:
            self.log.debug(message, *args)

    # ------------------------------------------------------------------ sessions
    def open(self):
        self._login(Deadline(self.login_timeout))

    def _new_session(self):
        if not self.lanplus:
            from ocfkit.ipmi.lan import LanSession

            return LanSession(self.host, self.port, self.username, self.password,
                              self.privilege)
        from ocfkit.ipmi.lanplus import LanPlusSession
        from ocfkit.ipmi.link import Link

        if self.link is None:
            self.link = Link(self.host, self.port, self.log)
        return LanPlusSession(self.link, self.username, self.password, cipher=self.cipher,
                              privilege=self.privilege, kg=self.kg)

    def _login(self, deadline):
        attempt, last, suspected = 0, None, 0
        while True:
            if last is not None and deadline.remaining() < 0.01:
                raise FenceError(self._final(last, deadline, "log in"))
            attempt += 1
            started = time.monotonic()
            try:
                session = self._new_session()
                session.login(deadline)
            except errors.IpmiError as exc:
                self.debug("login attempt %d failed after %.2fs: %s", attempt,
                           time.monotonic() - started, exc)
                last = _more_telling(last, exc)
                suspected += isinstance(exc, errors.SuspectedWrongPassword)
                if not exc.retry or suspected >= 2:
                    raise FenceError(self._final(exc, deadline, "log in")) from None
                # A short pause: a full session table or a restarting BMC needs a moment.
                pause = 0.5 if isinstance(exc, errors.SessionLimit) else 0.05 * attempt
                time.sleep(min(pause, deadline.remaining()))
                continue
            self.session = session
            self.logins += 1
            self.debug("logged in (%s, attempt %d, %.3fs)",
                       f"lanplus cipher {self.cipher}" if self.lanplus else "IPMI v1.5",
                       attempt, time.monotonic() - started)
            return

    def _final(self, exc, deadline, doing):
        message = str(exc)
        if isinstance(exc, (errors.NoAnswer, errors.SessionLost)) \
                and not isinstance(exc, errors.NothingListening):
            message += f"; gave up after {deadline.elapsed():.1f}s (login_timeout " \
                       f"{self.login_timeout:g}s)"
        return f"cannot log in: {message}" if doing == "log in" else f"{doing}: {message}"

    def call(self, what, operation):
        """``operation(session, deadline, max_sends)``, logging in again if the session
        is lost, all within ``login_timeout``."""
        deadline = Deadline(self.login_timeout)
        last = None
        while True:
            if last is not None and deadline.remaining() < 0.01:
                raise FenceError(self._final(last, deadline, what))
            if self.session is None:
                self._login(deadline)
            started = time.monotonic()
            try:
                result = operation(self.session, deadline, SESSION_SENDS)
                self.debug("%s: %s (%.3fs)", what, result, time.monotonic() - started)
                return result
            except errors.SessionLost as exc:
                self.debug("%s: session lost (%s); logging in again", what, exc)
                self.session = None  # its BMC side is gone: nothing to close
                last = _more_telling(last, exc)
            except errors.IpmiError as exc:
                if not exc.retry:
                    raise FenceError(str(exc)) from None
                self.debug("%s: %s; retrying", what, exc)
                last = _more_telling(last, exc)
                time.sleep(min(0.2, deadline.remaining()))

    def close(self):
        session, self.session = self.session, None
        try:
            if session is not None:
                session.close(Deadline(min(1.0, self.login_timeout)))
        finally:
            if self.link is not None:
                self.link.close()
                self.link = None

    # ------------------------------------------------------------------ power
    def power_is_on(self):
        return self.call("power status", lambda s, d, n: s.power_status(d, n))

    def power(self, action):
        """Chassis Control: ``off``, ``on`` or ``cycle``."""
        self.call(f"power {action}", lambda s, d, n: s.chassis_control(action, d, n) or "sent")


def _more_telling(previous, current):
    """The error to report when time runs out: a plain "no answer" that only says the
    deadline had passed must not hide the real reason found before it."""
    if previous is not None and type(current) in (errors.NoAnswer, errors.SessionLost) \
            and current.sends == 0:
        return previous
    return current
