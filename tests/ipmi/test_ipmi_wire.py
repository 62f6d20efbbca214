"""ocfkit.ipmi below the agent: AES against the NIST vectors, sealing and opening RMCP+
messages, IPMI framing, and the UDP link's resend logic against small UDP servers."""

import socket
import threading
import time

import pytest
from ocfkit.deadline import Deadline
from ocfkit.ipmi import CIPHER_SUITE_IDS, aes, errors, lanplus
from ocfkit.ipmi.link import MIN_RTO, Link

# NIST SP 800-38A, F.2.1 CBC-AES128.Encrypt
KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
IV = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
PLAIN = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
CIPHER = bytes.fromhex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")


def test_aes_matches_nist_vectors():
    assert aes.encrypt(KEY, IV, PLAIN) == CIPHER
    assert aes.decrypt(KEY, IV, CIPHER) == PLAIN


def test_aes_fallback_to_cryptography(monkeypatch):
    pytest.importorskip("cryptography")
    monkeypatch.setattr(aes, "_lib", None)
    monkeypatch.setattr(aes, "_LIBRARIES", ("libdoes-not-exist.so",))
    assert aes.encrypt(KEY, IV, PLAIN) == CIPHER
    assert aes.decrypt(KEY, IV, CIPHER) == PLAIN


def test_cipher_suite_list_is_shared():
    assert tuple(lanplus.CIPHER_SUITES) == CIPHER_SUITE_IDS


@pytest.mark.parametrize("suite", CIPHER_SUITE_IDS)
def test_seal_and_open_round_trip(suite):
    keys = lanplus.SessionKeys(suite, b"\x11" * 20)
    message = lanplus.ipmi_request(lanplus.NETFN_CHASSIS, lanplus.CMD_CHASSIS_STATUS, 5)
    packet = keys.seal(message, 0x1234, 7)
    assert keys.open(packet) == (lanplus.PAYLOAD_IPMI, 0x1234, message)
    other = lanplus.SessionKeys(suite, b"\x22" * 20)
    integrity, confidentiality = lanplus.CIPHER_SUITES[suite][1:]
    if integrity or confidentiality:
        assert other.open(packet) is None  # another session's keys: not ours
    if integrity:
        tampered = bytearray(packet)
        tampered[20] ^= 1
        assert keys.open(bytes(tampered)) is None
    assert keys.open(packet[:10]) is None


def test_ipmi_framing():
    request = lanplus.ipmi_request(0x06, 0x3B, 9, b"\x04")
    assert lanplus.checksum(request[:3]) == 0 and lanplus.checksum(request[3:]) == 0
    body = bytes((0x20, (9 << 2), 0x3B, 0x00, 0x04))
    head = bytes((0x81, (0x07 << 2)))
    response = head + bytes((lanplus.checksum(head),)) + body + bytes((lanplus.checksum(body),))
    assert lanplus.parse_ipmi_response(response, 0x06, 0x3B, 9) == (0, b"\x04")
    assert lanplus.parse_ipmi_response(response, 0x06, 0x3B, 10) is None  # other request
    assert lanplus.parse_ipmi_response(response, 0x06, 0x3C, 9) is None
    assert lanplus.parse_ipmi_response(response[:-1] + b"\x00", 0x06, 0x3B, 9) is None


def test_session_refuses_over_long_credentials():
    with pytest.raises(errors.WrongPassword):
        lanplus.LanPlusSession(None, b"admin", b"x" * 21)
    with pytest.raises(errors.UnknownUser):
        lanplus.LanPlusSession(None, b"u" * 17, b"x")
    with pytest.raises(errors.CipherRejected):
        lanplus.LanPlusSession(None, b"admin", b"x", cipher=0)


class Server:
    """A UDP server answering each datagram according to ``behaviour(n, data)``: a list
    of datagrams to send back (possibly none)."""

    def __init__(self, behaviour):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.received = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            self.received += 1
            for answer in self.behaviour(self.received, data):
                self.sock.sendto(answer, peer)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def server():
    servers = []

    def make(behaviour):
        servers.append(Server(behaviour))
        return servers[-1]

    yield make
    for item in servers:
        item.close()


def accept_echo(data):
    return data if data.startswith(b"ok") else None


def test_link_resends_and_skips_garbage(server):
    # ignore two sends, then answer with garbage followed by the real answer
    bmc = server(lambda n, data: [] if n < 3 else [b"\x00garbage", b"ok" + data])
    link = Link("127.0.0.1", bmc.port)
    start = time.monotonic()
    assert link.exchange("test", lambda: b"ping", accept_echo, Deadline(5)) == b"okping"
    assert bmc.received == 3
    assert time.monotonic() - start >= MIN_RTO * 3 * 0.9  # 0.25 + 0.5 s of waiting
    assert link.rto > MIN_RTO  # backed off (Karn) until a clean sample
    assert link.exchange("test", lambda: b"again", accept_echo, Deadline(5)) == b"okagain"
    assert link.rto == MIN_RTO
    link.close()


def test_link_gives_up_at_the_deadline(server):
    bmc = server(lambda n, data: [])
    link = Link("127.0.0.1", bmc.port)
    start = time.monotonic()
    with pytest.raises(errors.NoAnswer) as info:
        link.exchange("Silent Request", lambda: b"x", accept_echo, Deadline(1.2))
    assert 1.1 <= time.monotonic() - start <= 1.6
    assert "no answer from BMC 127.0.0.1" in str(info.value)
    assert "Silent Request" in str(info.value)
    with pytest.raises(errors.NoAnswer):
        link.exchange("x", lambda: b"x", accept_echo, Deadline(10), max_sends=2)
    link.close()


def test_link_nothing_listening_fails_fast():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    link = Link("127.0.0.1", port)
    start = time.monotonic()
    with pytest.raises(errors.NothingListening):
        link.exchange("x", lambda: b"x", accept_echo, Deadline(5))
    assert time.monotonic() - start < 1.0
    link.close()


def test_more_telling_error_is_kept():
    from ocfkit.drivers.ipmi_session import _more_telling

    limit = errors.SessionLimit("session limit reached")
    late = errors.NoAnswer("no answer after 0 send(s)", 0)
    assert _more_telling(limit, late) is limit
    real = errors.NoAnswer("no answer after 4 send(s)", 4)
    assert _more_telling(limit, real) is real
    assert _more_telling(None, late) is late
