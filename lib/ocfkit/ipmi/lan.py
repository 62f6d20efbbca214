"""IPMI v1.5 sessions (``lanplus=0``) through python-ipmi, behind the same interface as
``LanPlusSession``: login, power_status, chassis_control, close.

v1.5 is legacy (MD5 or cleartext-password authentication, no encryption); python-ipmi
implements it and speed matters less here, so we use it. Its weaknesses are handled
above it: the session layer retries whole sessions within the deadline, and every
exception it can raise is turned into one of ours here. Its loggers are silenced (its
session object prints the password in its ``str()``).
"""

from ocfkit.ipmi.errors import (
    CommandRefused,
    InsufficientPrivilege,
    IpmiError,
    NoAnswer,
    NothingListening,
    ProtocolError,
    SessionLimit,
    SessionLost,
    SuspectedWrongPassword,
    UnknownUser,
    WrongPassword,
    describe_completion,
)
from ocfkit.ipmi.lanplus import CONTROL, MAX_NAME, MAX_PASSWORD, PRIVILEGES

_WAIT = 0.5  # python-ipmi waits this long per send, resending up to _RETRIES times
_RETRIES = 3


def _pyipmi():
    try:
        import logging

        import pyipmi
        import pyipmi.interfaces
    except ImportError:
        raise IpmiError("lanplus=0 (IPMI v1.5) needs python-ipmi "
                        "(pip install 'python-ipmi>=0.6.1')") from None
    quiet = logging.getLogger("pyipmi")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    quiet.setLevel(logging.CRITICAL + 1)
    return pyipmi


class LanSession:
    def __init__(self, host, port, username, password, privilege="administrator"):
        if len(username) > MAX_NAME:
            raise UnknownUser(f"user name is longer than {MAX_NAME} bytes (IPMI limit)")
        if len(password) > 16:
            raise WrongPassword("password is longer than 16 bytes (IPMI v1.5 limit; "
                                f"lanplus allows {MAX_PASSWORD})")
        self.host, self.port = host, port
        self.where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.username, self.password = username, password
        self.privilege_name = privilege
        self.connection = None

    @property
    def established(self):
        return self.connection is not None

    def login(self, deadline):
        pyipmi = _pyipmi()
        interface = pyipmi.interfaces.create_interface(
            "rmcp", keep_alive_interval=0, max_retries=_RETRIES)
        connection = pyipmi.create_connection(interface)
        session = connection.session
        session.set_session_type_rmcp(self.host, self.port)
        session.set_auth_type_user(self.username, self.password)
        if self.privilege_name == "callback":
            session._priv_level = PRIVILEGES["callback"]  # its setter lacks callback
        else:
            session.set_priv_level(self.privilege_name)
        connection.target = pyipmi.Target(ipmb_address=0x20)
        try:
            interface.open()
            interface.set_timeout(max(0.05, min(_WAIT, deadline.remaining())))
            session.establish()
        except Exception as exc:  # noqa: BLE001 - python-ipmi raises many kinds; map them all
            stage_after_challenge = bool(session.sid) and not session.activated
            self._drop(interface)
            raise self._login_error(exc, stage_after_challenge) from None
        self.connection = connection

    def _login_error(self, exc, after_challenge):
        from pyipmi.errors import CompletionCodeError

        user = self.username.decode("utf-8", "replace")
        if isinstance(exc, CompletionCodeError):
            if exc.cc in (0x81, 0x82) and not after_challenge:
                return UnknownUser(f"BMC {self.where} refused user '{user}': unknown user "
                                   f"(completion code 0x{exc.cc:02X})")
            if exc.cc == 0x81:
                return SessionLimit(f"session limit reached on BMC {self.where} "
                                    f"({describe_completion(exc.cc)})")
            if exc.cc in (0x80, 0x86):
                return InsufficientPrivilege(
                    f"user '{user}' may not use privilege level '{self.privilege_name}' on "
                    f"BMC {self.where} ({describe_completion(exc.cc)}); check privlvl")
            return ProtocolError(f"BMC {self.where} refused the login: "
                                 f"{describe_completion(exc.cc)}")
        if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc):
            return NothingListening(f"nothing listening at {self.where} "
                                    f"(ICMP port unreachable)")
        if isinstance(exc, (TimeoutError, OSError)) or type(exc).__name__ in (
                "IpmiConnectionError", "RetryError", "IpmiTimeoutError"):
            if after_challenge:
                # The BMC answered the challenge, then ignored our authenticated request:
                # that is how v1.5 BMCs (ipmi_sim included) treat a wrong password.
                return SuspectedWrongPassword(
                    f"BMC {self.where} ignored the authenticated login (Activate Session) "
                    f"of user '{user}': wrong password?")
            return NoAnswer(f"no answer from BMC {self.where} (IPMI v1.5)")
        return ProtocolError(f"IPMI v1.5 login to BMC {self.where} failed: "
                             f"{type(exc).__name__}")

    def _call(self, what, deadline, function):
        if self.connection is None:
            raise SessionLost("no session")
        from pyipmi.errors import CompletionCodeError

        self.connection.interface.set_timeout(max(0.05, min(_WAIT, deadline.remaining())))
        try:
            return function()
        except CompletionCodeError as exc:
            raise CommandRefused(f"BMC {self.where} refused {what}: "
                                 f"{describe_completion(exc.cc)}", exc.cc) from None
        except Exception as exc:  # noqa: BLE001 - anything else: the session is gone
            self._drop(self.connection.interface)
            self.connection = None
            raise SessionLost(f"no answer from BMC {self.where} to {what} "
                              f"({type(exc).__name__})") from None

    def power_status(self, deadline, max_sends=0):
        status = self._call("Get Chassis Status", deadline,
                            lambda: self.connection.get_chassis_status())
        return bool(status.power_on)

    def chassis_control(self, action, deadline, max_sends=0):
        code = CONTROL[action]
        self._call(f"Chassis Control ({action})", deadline,
                   lambda: self.connection.chassis_control(code))

    def close(self, deadline):
        if self.connection is None:
            return
        interface = self.connection.interface
        try:
            interface.set_timeout(max(0.05, min(0.3, deadline.remaining())))
            interface.max_retries = 1
            self.connection.session.close()
        except Exception:  # noqa: BLE001 - best effort, like lanplus
            pass
        finally:
            self._drop(interface)
            self.connection = None

    @staticmethod
    def _drop(interface):
        try:
            interface.close()
        except Exception:  # noqa: BLE001 - closing a socket must not fail the action
            pass
