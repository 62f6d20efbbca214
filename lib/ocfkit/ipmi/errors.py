"""IPMI failures, one class per thing a user must be told apart.

Every message is one line and never contains a password or key: they are built from
our own words, names and numbers, never from raw packets.
``retry`` tells the session layer whether a fresh session might succeed.
"""


class IpmiError(Exception):
    retry = False
    #: for NoAnswer/SessionLost: how many times the request was sent (0: time was up)
    sends = None

    def __init__(self, message, sends=None):
        super().__init__(message)
        self.sends = sends


class NoAnswer(IpmiError):
    """The BMC did not answer within the time allowed (silent, unreachable, lossy)."""

    retry = True


class NothingListening(NoAnswer):
    """ICMP port unreachable: no BMC (or no IPMI service) at that address and port."""

    retry = False


class SessionLost(IpmiError):
    """An established session stopped being answered (BMC restarted, session expired)."""

    retry = True


class LoginRefused(IpmiError):
    """The BMC refused the credentials; retrying only risks locking the account."""


class WrongPassword(LoginRefused):
    pass


class SuspectedWrongPassword(WrongPassword):
    """IPMI v1.5: the BMC ignored our authenticated Activate Session. A wrong password
    looks like that, and so does a lost answer the BMC will not repeat: the session
    layer tries once more before it says so."""

    retry = True


class UnknownUser(LoginRefused):
    pass


class InsufficientPrivilege(LoginRefused):
    pass


class CipherRejected(LoginRefused):
    pass


class WrongKey(LoginRefused):
    """The BMC key K_G (hexadecimal_kg) does not match."""


class SessionLimit(IpmiError):
    """The BMC has no free session slot; one may free up (sessions time out)."""

    retry = True


class CommandRefused(IpmiError):
    """The BMC answered a command with a failure completion code."""

    #: completion codes that mean "try again shortly": node busy, timeout while processing,
    #: BMC initialization in progress
    TRANSIENT = frozenset((0xC0, 0xC3, 0xD2))

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code
        self.retry = code in self.TRANSIENT


class ProtocolError(IpmiError):
    """A malformed or unexpected answer."""

    retry = True


# Completion codes (IPMI v2.0 table 5-2) worth a word in an error message.
COMPLETION_CODES = {
    0xC0: "node busy", 0xC1: "invalid command", 0xC2: "invalid for this LUN",
    0xC3: "timeout while processing", 0xC4: "out of space", 0xC5: "reservation cancelled",
    0xC6: "request data truncated", 0xC7: "request data length invalid",
    0xC8: "request data field length limit exceeded", 0xC9: "parameter out of range",
    0xCA: "cannot return requested number of bytes", 0xCB: "requested item not present",
    0xCC: "invalid data field in request", 0xCD: "command illegal for this item",
    0xCE: "response could not be provided", 0xCF: "duplicated request",
    0xD0: "SDR repository in update mode", 0xD1: "firmware update mode",
    0xD2: "BMC initialization in progress", 0xD3: "destination unavailable",
    0xD4: "insufficient privilege level", 0xD5: "not supported in present state",
    0xD6: "sub-function disabled", 0xFF: "unspecified error",
}

# RMCP+ session set-up status codes (IPMI v2.0 table 13-15).
STATUS_CODES = {
    0x01: "insufficient resources to create a session",
    0x02: "invalid session ID", 0x03: "invalid payload type",
    0x04: "invalid authentication algorithm", 0x05: "invalid integrity algorithm",
    0x06: "no matching authentication payload", 0x07: "no matching integrity payload",
    0x08: "inactive session ID", 0x09: "invalid role",
    0x0A: "unauthorized role or privilege level requested",
    0x0B: "insufficient resources to create a session at the requested role",
    0x0C: "invalid name length", 0x0D: "unauthorized name", 0x0E: "unauthorized GUID",
    0x0F: "invalid integrity check value", 0x10: "invalid confidentiality algorithm",
    0x11: "no cipher suite match with proposed security algorithms",
    0x12: "illegal or unrecognized parameter",
}


def describe_completion(code):
    return f"completion code 0x{code:02X} ({COMPLETION_CODES.get(code, 'unknown')})"


def describe_status(code):
    return f"status 0x{code:02X} ({STATUS_CODES.get(code, 'unknown')})"
