"""IPMI v2.0 RMCP+ ("lanplus") sessions and the chassis commands fencing needs.

Session set-up (IPMI v2.0 section 13.17-13.32): Open Session, RAKP 1/2 (the BMC
proves it knows the password), RAKP 3/4 (we prove it), Set Session Privilege Level.
Afterwards every message is authenticated (HMAC, key K1) and, for cipher suites 3
and 17, encrypted (AES-CBC-128, key K2). We skip the pre-session Get Channel
Authentication Capabilities and ASF ping ipmitool sends: neither is required and each
costs a round trip (and a chance to lose a packet).

The password and K_G are only ever HMAC keys here; no packet is logged, so no
secret can reach a log line.
"""

import hashlib
import hmac
import os
import struct

from ocfkit.ipmi import errors
from ocfkit.ipmi.errors import (
    CipherRejected,
    CommandRefused,
    InsufficientPrivilege,
    IpmiError,
    ProtocolError,
    SessionLimit,
    SessionLost,
    UnknownUser,
    WrongKey,
    WrongPassword,
)

# Cipher suite id -> (authentication, integrity, confidentiality) algorithm numbers.
AUTH_HMAC_SHA1, AUTH_HMAC_SHA256 = 1, 3
INTEG_NONE, INTEG_HMAC_SHA1_96, INTEG_HMAC_SHA256_128 = 0, 1, 4
CONF_NONE, CONF_AES_CBC_128 = 0, 1
CIPHER_SUITES = {
    1: (AUTH_HMAC_SHA1, INTEG_NONE, CONF_NONE),
    2: (AUTH_HMAC_SHA1, INTEG_HMAC_SHA1_96, CONF_NONE),
    3: (AUTH_HMAC_SHA1, INTEG_HMAC_SHA1_96, CONF_AES_CBC_128),
    15: (AUTH_HMAC_SHA256, INTEG_NONE, CONF_NONE),
    16: (AUTH_HMAC_SHA256, INTEG_HMAC_SHA256_128, CONF_NONE),
    17: (AUTH_HMAC_SHA256, INTEG_HMAC_SHA256_128, CONF_AES_CBC_128),
}
_AUTH_HASH = {AUTH_HMAC_SHA1: (hashlib.sha1, 12), AUTH_HMAC_SHA256: (hashlib.sha256, 16)}
_INTEG = {INTEG_HMAC_SHA1_96: (hashlib.sha1, 12), INTEG_HMAC_SHA256_128: (hashlib.sha256, 16)}

PRIVILEGES = {"callback": 1, "user": 2, "operator": 3, "administrator": 4}

RMCP_HEADER = b"\x06\x00\xff\x07"      # RMCP v1.0, no ACK, class IPMI
AUTHTYPE_RMCPPLUS = 0x06
PAYLOAD_IPMI = 0x00
PAYLOAD_OPEN_REQ, PAYLOAD_OPEN_RSP = 0x10, 0x11
PAYLOAD_RAKP1, PAYLOAD_RAKP2, PAYLOAD_RAKP3, PAYLOAD_RAKP4 = 0x12, 0x13, 0x14, 0x15
ENCRYPTED, AUTHENTICATED = 0x80, 0x40

NETFN_CHASSIS, NETFN_APP = 0x00, 0x06
CMD_CHASSIS_STATUS, CMD_CHASSIS_CONTROL = 0x01, 0x02
CMD_SET_SESSION_PRIVILEGE, CMD_CLOSE_SESSION = 0x3B, 0x3C
CONTROL = {"off": 0, "on": 1, "cycle": 2, "reset": 3, "diag": 4, "soft": 5}

BMC_ADDRESS, CONSOLE_ADDRESS = 0x20, 0x81
MAX_NAME, MAX_PASSWORD = 16, 20
RAKP3_SENDS = 3  # see login(): a BMC may ignore a resent RAKP 3


def checksum(data):
    return -sum(data) & 0xFF


def ipmi_request(netfn, cmd, rq_seq, data=b""):
    head = bytes((BMC_ADDRESS, netfn << 2))
    body = bytes((CONSOLE_ADDRESS, (rq_seq & 0x3F) << 2, cmd)) + data
    return head + bytes((checksum(head),)) + body + bytes((checksum(body),))


def parse_ipmi_response(message, netfn, cmd, rq_seq):
    """(completion code, data) if ``message`` answers that request, else None."""
    if len(message) < 8 or checksum(message[:3]) != 0 or checksum(message[3:]) != 0:
        return None
    if message[1] >> 2 != netfn + 1 or message[4] >> 2 != rq_seq or message[5] != cmd:
        return None
    return message[6], message[7:-1]


def _aes_ready():
    from ocfkit.ipmi import aes

    try:
        aes.encrypt(bytes(16), bytes(16), bytes(16))
    except aes.AesUnavailable as exc:
        raise IpmiError(f"cipher suites 3 and 17 need AES: {exc}") from None
    return aes


class SessionKeys:
    """K1/K2 of an established session: seal and open session messages."""

    def __init__(self, suite, sik):
        auth, self.integrity, self.confidentiality = CIPHER_SUITES[suite]
        digest = _AUTH_HASH[auth][0]
        size = digest().digest_size
        self.k1 = hmac.new(sik, b"\x01" * size, digest).digest()
        self.k2 = hmac.new(sik, b"\x02" * size, digest).digest()
        self.aes = _aes_ready() if self.confidentiality == CONF_AES_CBC_128 else None

    def seal(self, payload, session_id, sequence):
        payload_type = PAYLOAD_IPMI
        if self.confidentiality == CONF_AES_CBC_128:
            pad = (-(len(payload) + 1)) % 16
            clear = payload + bytes(range(1, pad + 1)) + bytes((pad,))
            iv = os.urandom(16)
            payload = iv + self.aes.encrypt(self.k2[:16], iv, clear)
            payload_type |= ENCRYPTED
        if self.integrity != INTEG_NONE:
            payload_type |= AUTHENTICATED
        body = struct.pack("<BBIIH", AUTHTYPE_RMCPPLUS, payload_type, session_id, sequence,
                           len(payload)) + payload
        if self.integrity != INTEG_NONE:
            digest, length = _INTEG[self.integrity]
            pad = (-(len(body) + 2)) % 4
            body += b"\xff" * pad + bytes((pad, 0x07))
            body += hmac.new(self.k1, body, digest).digest()[:length]
        return RMCP_HEADER + body

    def open(self, packet):
        """(payload type, session id, payload) of a valid session message, else None."""
        header = _split(packet)
        if header is None:
            return None
        payload_type, session_id, payload, body = header
        if self.integrity != INTEG_NONE:
            if not payload_type & AUTHENTICATED:
                return None
            digest, length = _INTEG[self.integrity]
            if len(body) < 12 + len(payload) + 2 + length:
                return None
            signed, code = body[:-length], body[-length:]
            if not hmac.compare_digest(hmac.new(self.k1, signed, digest).digest()[:length],
                                       code):
                return None
        if payload_type & ENCRYPTED:
            if self.confidentiality != CONF_AES_CBC_128 or len(payload) < 32 \
                    or len(payload) % 16:
                return None
            clear = self.aes.decrypt(self.k2[:16], payload[:16], payload[16:])
            pad = clear[-1]
            if pad >= 16:
                return None
            payload = clear[:-1 - pad]
        elif self.confidentiality != CONF_NONE:
            return None
        return payload_type & 0x3F, session_id, payload


def _split(packet):
    """RMCP+ header fields: (payload type, session id, payload, body from authtype)."""
    if len(packet) < 16 or packet[:4] != RMCP_HEADER or packet[4] != AUTHTYPE_RMCPPLUS:
        return None
    body = packet[4:]
    payload_type, session_id, _, length = struct.unpack_from("<BIIH", body, 1)
    if payload_type & 0x3F == 0x02 or 12 + length > len(body):
        return None  # OEM payloads carry extra header fields; never ours
    return payload_type, session_id, body[12:12 + length], body


def _presession(payload_type, payload):
    return RMCP_HEADER + struct.pack("<BBIIH", AUTHTYPE_RMCPPLUS, payload_type, 0, 0,
                                     len(payload)) + payload


class LanPlusSession:
    """One RMCP+ session. ``login`` then ``command``s, then ``close``.

    ``username``/``password``/``kg`` are bytes. Sessions are not reusable after a
    failure: the caller makes a new one (new session IDs, new keys).
    """

    def __init__(self, link, username, password, cipher=3, privilege="administrator",
                 kg=None):
        if len(username) > MAX_NAME:
            raise UnknownUser(f"user name is longer than {MAX_NAME} bytes (IPMI limit)")
        if len(password) > MAX_PASSWORD:
            raise WrongPassword(f"password is longer than {MAX_PASSWORD} bytes (IPMI limit)")
        if cipher not in CIPHER_SUITES:
            raise CipherRejected(f"cipher suite {cipher} is not supported "
                                 f"(use one of {', '.join(map(str, CIPHER_SUITES))})")
        self.link = link
        self.username = username
        self.password = password
        self.kg = kg or None
        self.cipher = cipher
        self.privilege_name = privilege
        self.privilege = PRIVILEGES[privilege]
        self.keys = None
        self.console_id = 0
        self.managed_id = 0
        self.sequence = 0
        self.rq_seq = 0
        self.tag = os.urandom(1)[0]  # a late answer to an earlier login must not match

    @property
    def established(self):
        return self.keys is not None

    def _next_tag(self):
        self.tag = (self.tag + 1) & 0xFF
        return self.tag

    # ------------------------------------------------------------------ login
    def login(self, deadline):
        auth, integ, conf = CIPHER_SUITES[self.cipher]
        if conf == CONF_AES_CBC_128:
            _aes_ready()  # fail early and clearly, before any traffic
        digest, icv_length = _AUTH_HASH[auth]
        self.console_id = struct.unpack("<I", os.urandom(4))[0] | 1
        where = self.link.where

        # Open Session: agree on the algorithms, get the BMC's session ID.
        tag = self._next_tag()
        request = struct.pack("<BBxxI", tag, self.privilege, self.console_id)
        for kind, algorithm in ((0, auth), (1, integ), (2, conf)):
            request += struct.pack("<BxxBBxxx", kind, 8, algorithm)
        response = self._handshake("Open Session", PAYLOAD_OPEN_REQ, request,
                                   PAYLOAD_OPEN_RSP, tag, deadline)
        if len(response) < 36 or struct.unpack_from("<I", response, 4)[0] != self.console_id:
            raise ProtocolError(f"BMC {where} sent a malformed Open Session response")
        self.managed_id = struct.unpack_from("<I", response, 8)[0]
        if (response[16] & 0x3F, response[24] & 0x3F, response[32] & 0x3F) != (auth, integ,
                                                                               conf):
            raise CipherRejected(f"BMC {where} did not accept cipher suite {self.cipher}")

        # RAKP 1/2: the BMC proves it knows the user's password.
        rm = os.urandom(16)
        role = self.privilege | 0x10  # name-only lookup, as ipmitool does
        name = bytes((role, len(self.username))) + self.username
        tag = self._next_tag()
        request = struct.pack("<BxxxI", tag, self.managed_id) + rm + \
            struct.pack("<BxxB", role, len(self.username)) + self.username
        response = self._handshake("RAKP 1", PAYLOAD_RAKP1, request, PAYLOAD_RAKP2, tag,
                                   deadline)
        size = digest().digest_size
        if len(response) < 40 + size:
            raise ProtocolError(f"BMC {where} sent a malformed RAKP 2 message")
        rc, guid = response[8:24], response[24:40]
        console_id = struct.pack("<I", self.console_id)
        managed_id = struct.pack("<I", self.managed_id)
        expected = hmac.new(self.password, console_id + managed_id + rm + rc + guid + name,
                            digest).digest()
        if not hmac.compare_digest(expected, response[40:40 + size]):
            # Tell the BMC, so it frees the session slot now rather than at timeout.
            self.link.sock.send(_presession(PAYLOAD_RAKP3, struct.pack(
                "<BBxxI", self._next_tag(), 0x0F, self.managed_id)))
            raise WrongPassword(f"wrong password for user '{self._user()}' on BMC {where}")

        # RAKP 3/4: we prove it; both sides derive the session keys.
        tag = self._next_tag()
        request = struct.pack("<BBxxI", tag, 0, self.managed_id) + \
            hmac.new(self.password, rc + console_id + name, digest).digest()
        sik = hmac.new(self.kg or self.password, rm + rc + name, digest).digest()
        try:
            response = self._handshake("RAKP 3", PAYLOAD_RAKP3, request, PAYLOAD_RAKP4, tag,
                                       deadline, max_sends=RAKP3_SENDS)
        except errors.NoAnswer:
            # BMCs (ipmi_sim included) ignore a resent RAKP 3 once they accepted the first:
            # its RAKP 4 was lost, the session exists. Use it; the authenticated answer to
            # Set Session Privilege Level below proves the keys instead of RAKP 4.
            if deadline.expired:
                raise
            confirmed = False
        else:
            expected = hmac.new(sik, rm + managed_id + guid, digest).digest()[:icv_length]
            if not hmac.compare_digest(expected, response[8:8 + icv_length]):
                raise WrongKey(f"the BMC key (hexadecimal_kg) does not match BMC {where}")
            confirmed = True
        self.keys = SessionKeys(self.cipher, sik)
        self.sequence = 0

        # Sessions start at user level; raise to the level fencing needs.
        if self.privilege > PRIVILEGES["user"] or not confirmed:
            try:
                self.command("Set Session Privilege Level", NETFN_APP,
                             CMD_SET_SESSION_PRIVILEGE, bytes((self.privilege,)), deadline,
                             max_sends=0 if confirmed else RAKP3_SENDS)
            except SessionLost as exc:
                self.keys = None
                if confirmed:
                    raise
                raise errors.NoAnswer(f"no answer from BMC {where} to RAKP 3", exc.sends) \
                    from None
            except CommandRefused as exc:
                raise InsufficientPrivilege(
                    f"user '{self._user()}' may not use privilege level "
                    f"'{self.privilege_name}' on BMC {where} "
                    f"({errors.describe_completion(exc.code)}); check privlvl") from None

    def _user(self):
        return self.username.decode("utf-8", "replace")

    def _handshake(self, what, request_type, request, response_type, tag, deadline,
                   max_sends=0):
        packet = _presession(request_type, request)

        console_id = struct.pack("<I", self.console_id)

        def accept(data):
            split = _split(data)
            if split is None or split[0] & 0x3F != response_type or split[1] != 0:
                return None
            payload = split[2]
            if len(payload) < 2 or payload[0] != tag:
                return None
            # every set-up answer carries our session ID at 4..8, unless it is a short
            # error answer (some BMCs truncate those)
            if len(payload) >= 8 and payload[4:8] != console_id:
                return None
            return payload

        payload = self.link.exchange(what, lambda: packet, accept, deadline, max_sends)
        if payload[1] != 0:
            raise self._status_error(what, payload[1])
        if len(payload) < 8:
            raise ProtocolError(f"BMC {self.link.where} sent a short answer to {what}")
        return payload

    def _status_error(self, what, status):
        where, user = self.link.where, self._user()
        text = errors.describe_status(status)
        if status in (0x01, 0x0B):
            return SessionLimit(f"session limit reached on BMC {where}: {text}; "
                                f"a client is not closing its sessions, or too many run")
        if status in (0x04, 0x05, 0x06, 0x07, 0x10, 0x11):
            return CipherRejected(f"BMC {where} refused cipher suite {self.cipher}: {text}")
        if status in (0x09, 0x0A):
            return InsufficientPrivilege(
                f"user '{user}' may not log in at privilege level '{self.privilege_name}' "
                f"on BMC {where}: {text}; check privlvl")
        if status in (0x0C, 0x0D) or (status == 0x12 and what == "RAKP 1"):
            # ipmi_sim answers an unknown user, or one whose maximum privilege is below
            # the level asked for, with 0x12 to RAKP 1.
            return UnknownUser(
                f"BMC {where} refused user '{user}' at privilege level "
                f"'{self.privilege_name}' ({text}): unknown user, or privlvl above "
                f"what the user may have")
        if status == 0x0F:
            return WrongPassword(f"BMC {where} refused the login of user '{user}' ({text}): "
                                 f"wrong password?")
        return ProtocolError(f"BMC {where} refused {what}: {text}")

    # ------------------------------------------------------------------ commands
    def command(self, what, netfn, cmd, data, deadline, max_sends=0):
        """Send a request in the session; the response data (after a zero completion code)."""
        if self.keys is None:
            raise SessionLost("no session")
        self.rq_seq = (self.rq_seq + 1) & 0x3F
        rq_seq = self.rq_seq
        message = ipmi_request(netfn, cmd, rq_seq, data)

        def build():
            self.sequence = (self.sequence + 1) & 0xFFFFFFFF or 1
            return self.keys.seal(message, self.managed_id, self.sequence)

        def accept(packet):
            opened = self.keys.open(packet)
            if opened is None or opened[0] != PAYLOAD_IPMI or opened[1] != self.console_id:
                return None
            return parse_ipmi_response(opened[2], netfn, cmd, rq_seq)

        try:
            code, payload = self.link.exchange(what, build, accept, deadline, max_sends)
        except errors.NoAnswer as exc:
            raise SessionLost(str(exc), exc.sends) from None
        if code != 0:
            raise CommandRefused(f"BMC {self.link.where} refused {what}: "
                                 f"{errors.describe_completion(code)}", code)
        return payload

    def power_status(self, deadline, max_sends=0):
        data = self.command("Get Chassis Status", NETFN_CHASSIS, CMD_CHASSIS_STATUS, b"",
                            deadline, max_sends)
        if not data:
            raise ProtocolError(f"BMC {self.link.where} sent an empty chassis status")
        return bool(data[0] & 0x01)

    def chassis_control(self, action, deadline, max_sends=0):
        self.command(f"Chassis Control ({action})", NETFN_CHASSIS, CMD_CHASSIS_CONTROL,
                     bytes((CONTROL[action],)), deadline, max_sends)

    def close(self, deadline):
        """Close Session, best effort: a lost answer must not delay or fail the action."""
        if self.keys is None:
            return
        try:
            self.command("Close Session", NETFN_APP, CMD_CLOSE_SESSION,
                         struct.pack("<I", self.managed_id), deadline, max_sends=2)
        except IpmiError:
            pass
        finally:
            self.keys = None
