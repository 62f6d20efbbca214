"""Client side of the fence_virt wire protocol spoken by ``fence_virtd`` (fence-virt 4.x).

Written from the protocol description in the project's notes (packet layout of
``fence_req_t``, signature, challenge-response, host list records), because no
Python library speaks it. Standard library only.

One request is a 176-byte packet, signed with the shared key. It reaches the daemon
either over TCP (the ``tcp`` listener: we connect and write it) or as UDP multicast
(the ``multicast`` listener: the daemon connects back to a TCP port we listen on).
Over that TCP connection both sides prove they hold the key, then the daemon sends
one result byte (or a host list followed by a result byte).

Differences from fence_xvm, on purpose:
- the callback port is ephemeral and the sequence number random, so concurrent
  clients on one host never collide (fence_xvm binds port 1229 and fails with
  "Address already in use");
- every wait is bounded by one deadline, and each failure mode gets its own message.
"""

# The C socket module: the `socket` wrapper adds nothing this client uses and costs
# ~3 ms of imports (enum, selectors) on every run, more than the whole request.
import _socket
import os
import struct
import time

# Request codes (fence_cmd_t).
OP_NULL, OP_OFF, OP_REBOOT, OP_ON, OP_STATUS, OP_DEVSTATUS, OP_HOSTLIST = range(7)
# Result bytes.
RESP_SUCCESS, RESP_FAIL, RESP_OFF, RESP_PERM, RESP_HOSTLIST = 0, 1, 2, 3, 253
# Packet signature / challenge-response algorithms, by the numbers the daemon uses.
ALGORITHMS = {"none": 0, "sha1": 1, "sha256": 2, "sha512": 3}

DOMAIN_MAX = 63          # bytes; the field is 64 with a terminating NUL
KEY_MAX = 4096           # the daemon reads at most this much of the key file
CHALLENGE_SIZE = 64
HASH_FIELD = 64
FLAG_UUID = 0x1
DEFAULT_MULTICAST_V4 = "225.0.0.12"
DEFAULT_MULTICAST_V6 = "ff05::3:1"
DEFAULT_PORT = 1229
MULTICAST_TTL = 4

# fence_req_t, packed, little-endian (x86 host order, which fence_virtd uses as is):
# request, hashtype, addrlen, flags, domain[64], address[28], port (u16),
# random[6], seqno (u32), family (u32), hash[64]  -> 176 bytes.
_REQUEST = struct.Struct("<BBBB64s28sH6sII64s")
# host_state_t: domain[64], uuid[64], state, pad -> 130 bytes.
_HOST = struct.Struct("<64s64sBB")
_VIR_DOMAIN_SHUTOFF = 5

_AF_INET, _AF_INET6 = 2, 10  # the numbers that travel in the packet (Linux values)
_SIOCGIFADDR = 0x8915
_IP_MULTICAST_IF_V4 = 32


class ProtocolError(Exception):
    """The request did not complete; the message is one line for the administrator."""


class Host:
    """One record of a host list: a domain name, its UUID and whether it runs."""

    __slots__ = ("name", "uuid", "state")

    def __init__(self, name, uuid, state):
        self.name, self.uuid, self.state = name, uuid, state

    @property
    def running(self):
        # fence_virtd's status answers "off" only for VIR_DOMAIN_SHUTOFF; do the same.
        return self.state != _VIR_DOMAIN_SHUTOFF

    def __repr__(self):
        return f"<Host {self.name} {self.uuid} state={self.state}>"


class Reply:
    __slots__ = ("result", "hosts")

    def __init__(self, result, hosts=None):
        self.result, self.hosts = result, hosts


# --------------------------------------------------------------------- packets
def _digest(algorithm, *parts):
    import hashlib

    return hashlib.new(algorithm, b"".join(parts)).digest().ljust(HASH_FIELD, b"\0")


def pack_request(op, domain, *, key, hash_name="sha256", family=_AF_INET, address=b"",
                 port=0, seqno=0, salt=None, uuid=False):
    """The signed 176-byte request. ``domain`` is bytes (at most 63)."""
    if len(domain) > DOMAIN_MAX:
        raise ValueError(f"domain name longer than {DOMAIN_MAX} bytes")
    fields = [op, ALGORITHMS[hash_name], len(address), FLAG_UUID if uuid else 0, domain,
              address, port, salt if salt is not None else os.urandom(6), seqno, family,
              b""]
    unsigned = _REQUEST.pack(*fields)
    if hash_name == "none":
        return unsigned
    fields[-1] = _digest(hash_name, key, unsigned)
    return _REQUEST.pack(*fields)


def unpack_hosts(data):
    """Host records from a host list body (without the terminating all-zero record)."""
    hosts = []
    for offset in range(0, len(data), _HOST.size):
        name, uuid, state, _ = _HOST.unpack_from(data, offset)
        hosts.append(Host(_cstring(name), _cstring(uuid), state))
    return hosts


def _cstring(raw):
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


# ------------------------------------------------------------- the conversation
class _Conversation:
    """What happens on the TCP connection once it exists (both transports)."""

    def __init__(self, sock, peer, key, auth_name, deadline):
        self.sock, self.peer, self.key, self.auth = sock, peer, key, auth_name
        self.deadline = deadline

    def _timeout(self, doing):
        left = self.deadline.remaining()
        if left <= 0:
            raise ProtocolError(f"fence_virtd at {self.peer} timed out while {doing}")
        self.sock.settimeout(left)

    def send(self, data, doing):
        self._timeout(doing)
        try:
            self.sock.sendall(data)
        except _socket.timeout:
            raise ProtocolError(f"fence_virtd at {self.peer} timed out while {doing}") from None
        except OSError as exc:
            raise ProtocolError(f"fence_virtd at {self.peer}: connection lost while {doing}: "
                                f"{exc.strerror or exc}") from None

    def receive(self, size, doing, closed_means):
        chunks, missing = [], size
        while missing:
            self._timeout(doing)
            try:
                chunk = self.sock.recv(missing)
            except _socket.timeout:
                raise ProtocolError(f"fence_virtd at {self.peer} timed out while {doing}"
                                    ) from None
            except ConnectionResetError:
                chunk = b""  # the daemon dropped us, as it does on a key mismatch
            except OSError as exc:
                raise ProtocolError(f"fence_virtd at {self.peer}: connection lost while "
                                    f"{doing}: {exc.strerror or exc}") from None
            if not chunk:
                raise ProtocolError(f"fence_virtd at {self.peer} closed the connection while "
                                    f"{doing}: {closed_means}")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def authenticate(self):
        """Mutual challenge-response: we check the daemon first, then it checks us."""
        if self.auth == "none":
            return
        import hmac

        challenge = os.urandom(CHALLENGE_SIZE)
        self.send(challenge, "sending our challenge")
        answer = self.receive(HASH_FIELD, "waiting for its answer to our challenge",
                              "the key file, hash or auth settings differ from the daemon's")
        if not hmac.compare_digest(answer, _digest(self.auth, self.key, challenge)):
            raise ProtocolError(f"fence_virtd at {self.peer} failed authentication: its key "
                                f"differs from key_file, or auth={self.auth} does not match")
        theirs = self.receive(CHALLENGE_SIZE, "waiting for its challenge",
                              "the key file, hash or auth settings differ from the daemon's")
        self.send(_digest(self.auth, self.key, theirs), "answering its challenge")

    def result(self):
        closed = "the daemon rejected our key (auth setting or key file differ)"
        code = self.receive(1, "waiting for the result", closed)[0]
        if code != RESP_HOSTLIST:
            return Reply(code)
        body = []
        while True:
            record = self.receive(_HOST.size, "reading the domain list", "list cut short")
            if not record.strip(b"\0"):
                break
            body.append(record)
        code = self.receive(1, "waiting for the result", "list cut short")[0]
        return Reply(code, unpack_hosts(b"".join(body)))


# ----------------------------------------------------------------- transports
def request_tcp(host, port, op, domain, *, key, hash_name, auth_name, uuid, deadline,
                log=None):
    """One request to fence_virtd's tcp listener at ``host:port``."""
    peer = _show_peer(host, port)
    try:
        # bytes for an ASCII name: a str goes through the idna codec (~2 ms to import)
        name = host.encode() if host.isascii() else host
        infos = _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM)
    except _socket.gaierror as exc:
        raise ProtocolError(f"cannot resolve fence_virtd host {host!r}: {exc.strerror}"
                            ) from None
    last = None
    for family, kind, proto, _, address in infos:
        if deadline.remaining() <= 0:
            break
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.remaining())
            try:
                sock.connect(address)
            except _socket.timeout:
                last = "timed out connecting"
                continue
            except OSError as exc:
                last = exc.strerror or str(exc)
                continue
            packet = pack_request(op, domain, key=key, hash_name=hash_name,
                                  family=_AF_INET6 if family == _socket.AF_INET6 else _AF_INET,
                                  seqno=_random_seqno(), uuid=uuid)
            talk = _Conversation(sock, peer, key, auth_name, deadline)
            talk.send(packet, "sending the request")
            if log is not None:
                log.debug("fence_virt: request %d for %r sent to %s", op, domain, peer)
            talk.authenticate()
            return talk.result()
        finally:
            sock.close()
    if last and "timed out" in last:
        raise ProtocolError(f"cannot connect to fence_virtd at {peer}: timed out")
    raise ProtocolError(f"cannot connect to fence_virtd at {peer}: "
                        f"{last or 'timed out'}")


def request_multicast(group, port, op, domain, *, key, hash_name, auth_name, uuid, deadline,
                      interface=None, retransmit=2.0, log=None):
    """One request by multicast; the daemon calls back on an ephemeral TCP port.

    A copy is sent from each local address (or only ``interface``'s), carrying that
    address as the callback target, like fence_xvm does; the daemon serves the first
    copy it sees and drops the others as repeats (same sequence number). Copies are
    resent every ``retransmit`` seconds until an answer arrives or the deadline passes.
    """
    import select

    family = _family_of(group)
    peer = _show_peer(group, port)
    sources = local_addresses(family, interface)
    if not sources:
        where = f"interface {interface}" if interface else "any interface"
        version = "IPv6" if family == _socket.AF_INET6 else "IPv4"
        raise ProtocolError(f"no {version} address on {where} to send the multicast "
                            "request from")
    listener = _socket.socket(family, _socket.SOCK_STREAM)
    senders = []
    try:
        listener.bind(("::" if family == _socket.AF_INET6 else "0.0.0.0", 0))
        listener.listen(8)
        callback_port = listener.getsockname()[1]
        seqno = _random_seqno()
        wire_family = _AF_INET6 if family == _socket.AF_INET6 else _AF_INET
        for ifindex, text in sources:
            sender = _socket.socket(family, _socket.SOCK_DGRAM)
            raw = _socket.inet_pton(family, text)
            try:
                if family == _socket.AF_INET6:
                    sender.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_MULTICAST_HOPS,
                                      MULTICAST_TTL)
                    sender.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_MULTICAST_IF, ifindex)
                else:
                    sender.setsockopt(_socket.IPPROTO_IP, _socket.IP_MULTICAST_TTL, MULTICAST_TTL)
                    sender.setsockopt(_socket.IPPROTO_IP, _IP_MULTICAST_IF_V4, raw)
            except OSError as exc:
                sender.close()
                if log is not None:
                    log.debug("fence_virt: cannot send via %s: %s", text, exc.strerror or exc)
                continue
            packet = pack_request(op, domain, key=key, hash_name=hash_name, family=wire_family,
                                  address=raw, port=callback_port, seqno=seqno, uuid=uuid)
            senders.append((sender, packet, text))
        next_send = 0.0
        while True:
            now = time.monotonic()
            if now >= next_send:
                sent = _send_all(senders, group, port, log)
                if not sent:
                    raise ProtocolError(f"cannot send the multicast request to {peer}: "
                                        "no route or interface refused it")
                next_send = now + retransmit
            left = deadline.remaining()
            if left <= 0:
                break
            ready, _, _ = select.select([listener], [], [], min(left, next_send - now))
            if not ready:
                continue
            fd, address = listener._accept()
            conn = _socket.socket(family, _socket.SOCK_STREAM, 0, fd)
            # The daemon verified our signature before calling back, and it serves a
            # request once (repeats are dropped): whatever this connection ends in is
            # the answer; waiting for another one would only run out the clock.
            try:
                talk = _Conversation(conn, f"{address[0]} (callback for {peer})", key,
                                     auth_name, deadline)
                talk.authenticate()
                return talk.result()
            finally:
                conn.close()
        raise ProtocolError(
            f"no answer from fence_virtd via multicast {peer} within "
            f"{deadline.seconds:g}s (timed out): the daemon is not running or not listening "
            "there, multicast does not reach it, or key_file/hash do not match its settings")
    finally:
        listener.close()
        for sender, _, _ in senders:
            sender.close()


def _send_all(senders, group, port, log):
    sent = 0
    for sender, packet, source in senders:
        try:
            sender.sendto(packet, (group, port))
            sent += 1
            if log is not None:
                log.debug("fence_virt: request sent to %s:%d via %s", group, port, source)
        except OSError as exc:
            if log is not None:
                log.debug("fence_virt: cannot send via %s: %s", source, exc.strerror or exc)
    return sent


def local_addresses(family, interface=None):
    """``[(ifindex, address text)]`` to send multicast from: each interface's address.

    IPv4: the interface's primary address (SIOCGIFADDR). IPv6: global and loopback
    addresses from /proc/net/if_inet6 (a link-local callback address would need a
    scope the daemon does not take).
    """
    if family == _socket.AF_INET6:
        return _ipv6_addresses(interface)
    import fcntl

    found = []
    probe = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        for index, name in _socket.if_nameindex():
            if interface and name != interface:
                continue
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue  # no IPv4 address
            found.append((index, _socket.inet_ntop(_socket.AF_INET, answer[20:24])))
    finally:
        probe.close()
    return found


def _ipv6_addresses(interface):
    found = []
    try:
        with open("/proc/net/if_inet6") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or (interface and fields[5] != interface):
            continue
        scope = int(fields[3], 16)
        if scope not in (0x00, 0x10):  # global, host (loopback)
            continue
        raw = bytes.fromhex(fields[0])
        found.append((int(fields[1], 16), _socket.inet_ntop(_socket.AF_INET6, raw)))
    return found


def _family_of(address):
    try:
        _socket.inet_pton(_socket.AF_INET, address)
        return _socket.AF_INET
    except OSError:
        pass
    try:
        _socket.inet_pton(_socket.AF_INET6, address)
        return _socket.AF_INET6
    except OSError:
        raise ProtocolError(f"{address!r} is not an IP address") from None


def is_multicast(address):
    family = _family_of(address)
    raw = _socket.inet_pton(family, address)
    if family == _socket.AF_INET:
        return 224 <= raw[0] <= 239
    return raw[0] == 0xFF


def _random_seqno():
    # os.urandom is what secrets.token_bytes uses; importing `secrets` costs ~5 ms.
    return int.from_bytes(os.urandom(4), "little")


def _show_peer(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def read_key(path):
    """The key as the daemon uses it: the first 4096 bytes of the file."""
    with open(path, "rb") as handle:
        return handle.read(KEY_MAX)
