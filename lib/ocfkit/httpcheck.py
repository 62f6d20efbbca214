"""One HTTP(S) GET for a health check: bounded by a deadline, TLS verified, local only.

Why not ``requests`` or ``http.client``: a monitor runs every few seconds on every
node, and its whole CPU budget is a few milliseconds. ``import requests`` costs 70-95
ms of CPU and ``import http.client`` about 30 ms (it pulls in the ``email`` package to
parse headers), as much as or more than the shell reference agent spends on a whole
monitor (docs/benchmarks.md, Apache). A health check needs one GET and the status, a
few headers and the body, so this module speaks that much HTTP/1.1 itself over a plain
socket (``ssl`` is imported only for https URLs). What it keeps from the libraries:

- TLS: ``ssl.create_default_context()``: certificate and host name verification on,
  the system trust store or a given CA file;
- timeouts: every connect, send and receive is bounded by what is left of the
  caller's ``Deadline``, so a server that accepts connections but never answers (a
  SIGSTOPped httpd) ends in ``HTTPCheckError(kind="timeout")`` in time, never a hang;
  names other than ``localhost`` are resolved in a helper thread for the same reason;
- responses: Content-Length, chunked transfer coding and read-to-close bodies;
  redirects (301/302/303/307/308) are followed a few times, like ``curl -L``.

``local_only`` binds the socket's source address to the destination address itself:
the kernel accepts that only for an address of this node (loopback, or a service
address on any interface), so a check can never be answered by another node that holds
the service, and traffic stays inside the node. The reference agent binds 127.0.0.1
(``wget --bind-address``), which works for IPv4; from ``::1`` a refused IPv6
connection to a local service address is never answered (the RST is lost) and
``SO_BINDTODEVICE lo`` (curl's ``--interface lo``) cannot reach a local address on
another interface.
"""

_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_HEADER = 64 * 1024
DEFAULT_MAX_BODY = 8 * 1024 * 1024
USER_AGENT = "ocfkit-httpcheck"


class HTTPCheckError(Exception):
    """The check could not get a response. ``kind`` says what failed:

    ``url`` (bad URL), ``resolve`` (name lookup), ``refused``, ``timeout``,
    ``tls`` (handshake or certificate), ``network`` (other socket errors),
    ``protocol`` (not an HTTP response), ``redirect`` (too many or bad redirects).
    """

    def __init__(self, message, kind):
        super().__init__(message)
        self.kind = kind


class URL:
    """An absolute http(s) URL, split without ``urllib.parse`` (~4 ms to import)."""

    __slots__ = ("scheme", "host", "port", "target", "text")

    def __init__(self, scheme, host, port, target, text):
        self.scheme, self.host, self.port, self.target, self.text = (
            scheme, host, port, target, text)

    @property
    def netloc(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def __str__(self):
        return self.text


def parse_url(text):
    """A ``URL`` from ``http://host[:port]/path?query``; ``ValueError`` says what is wrong."""
    original = text
    text = text.strip()
    if any(c.isspace() or ord(c) < 32 for c in text):
        raise ValueError(f"URL {original!r} contains white space or control characters")
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"URL {original!r} must start with http:// or https://")
    authority, slash, path = rest.partition("/")
    authority, _, _ = authority.partition("#")
    target = "/" + path if slash else "/"
    if "?" in authority:  # http://host?query
        authority, _, query = authority.partition("?")
        target = "/?" + query
    target = target.partition("#")[0] or "/"
    if "@" in authority:
        raise ValueError(f"URL {original!r}: credentials in URLs are not supported "
                         "(use a test configuration file with user/password)")
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError(f"URL {original!r}: malformed IPv6 address")
        port_text = after[1:] if after else ""
        if ":" not in host:
            raise ValueError(f"URL {original!r}: {host!r} in brackets is not an IPv6 address")
    else:
        host, colon, port_text = authority.partition(":")
        if colon and ":" in port_text:
            raise ValueError(f"URL {original!r}: put an IPv6 address in brackets, "
                             "e.g. http://[::1]:80/")
    if not host:
        raise ValueError(f"URL {original!r} has no host")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"URL {original!r}: port {port_text!r} is not 1-65535")
        port = int(port_text)
    else:
        port = 443 if scheme == "https" else 80
    return URL(scheme, host.lower(), port, target, text)


def join_url(base, location):
    """Resolve a redirect's Location against the URL that sent it."""
    location = location.strip()
    if "://" in location.partition("?")[0]:
        return parse_url(location)
    if location.startswith("//"):
        return parse_url(f"{base.scheme}:{location}")
    if not location.startswith("/"):
        directory = base.target.partition("?")[0].rpartition("/")[0]
        location = f"{directory}/{location}"
    return parse_url(f"{base.scheme}://{base.netloc}{location}")


class Response:
    __slots__ = ("status", "reason", "headers", "body", "url", "truncated")

    def __init__(self, status, reason, headers, body, url, truncated=False):
        self.status, self.reason, self.headers, self.body, self.url, self.truncated = (
            status, reason, headers, body, url, truncated)

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<Response {self.status} {self.reason} {len(self.body)} bytes from {self.url}>"


def fetch(url, deadline, *, ca_file=None, local_only=True, prefer_ipv6=False, auth=None,
          headers=None, max_redirects=5, max_body=DEFAULT_MAX_BODY):
    """GET ``url`` (a str or ``URL``) within ``deadline``; return a ``Response``.

    Any HTTP status is a response (the caller judges it); ``HTTPCheckError`` means
    no response. ``auth`` is ``(user, password)`` for HTTP basic authentication; it
    is sent only to the host of the original URL.
    """
    if not isinstance(url, URL):
        try:
            url = parse_url(url)
        except ValueError as exc:
            raise HTTPCheckError(str(exc), "url") from None
    origin = (url.scheme, url.host, url.port)
    for _ in range(max_redirects + 1):
        send_auth = auth if (url.scheme, url.host, url.port) == origin else None
        response = _get_once(url, deadline, ca_file, local_only, prefer_ipv6, send_auth,
                             headers, max_body)
        location = response.headers.get("location")
        if response.status not in _REDIRECTS or not location:
            return response
        try:
            url = join_url(url, location)
        except ValueError as exc:
            raise HTTPCheckError(f"{response.url} redirects to an invalid URL: {exc}",
                                 "redirect") from None
    raise HTTPCheckError(f"more than {max_redirects} redirects starting at {url}", "redirect")


def _get_once(url, deadline, ca_file, local_only, prefer_ipv6, auth, extra_headers, max_body):
    where = f"{url.host}:{url.port}" if ":" not in url.host else f"[{url.host}]:{url.port}"
    sock = _connect(url, where, deadline, local_only, prefer_ipv6)
    try:
        if url.scheme == "https":
            sock = _wrap_tls(sock, url, where, deadline, ca_file)
        lines = [f"GET {url.target} HTTP/1.1", f"Host: {url.netloc}",
                 f"User-Agent: {USER_AGENT}", "Accept: */*", "Connection: close"]
        if auth is not None:
            from binascii import b2a_base64

            token = b2a_base64(f"{auth[0]}:{auth[1]}".encode(), newline=False).decode()
            lines.append(f"Authorization: Basic {token}")
        for name, value in (extra_headers or {}).items():
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        _io(sock, deadline, where, "sending the request", sock.sendall, request)
        reader = _Reader(sock, deadline, where)
        return _read_response(reader, url, max_body)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def _io(sock, deadline, where, doing, call, *args):
    """Run ``call(*args)`` with the deadline's remainder as timeout; map its errors."""
    remaining = deadline.remaining()
    if remaining <= 0:
        raise HTTPCheckError(
            f"no response from {where} within {deadline.seconds:.1f}s (timed out while "
            f"{doing})", "timeout")
    sock.settimeout(remaining)
    try:
        return call(*args)
    except TimeoutError:
        raise HTTPCheckError(
            f"no response from {where} within {deadline.seconds:.1f}s (timed out while "
            f"{doing})", "timeout") from None
    except ConnectionRefusedError:
        raise HTTPCheckError(f"connection refused by {where}", "refused") from None
    except (ConnectionResetError, BrokenPipeError):
        raise HTTPCheckError(f"connection reset by {where} while {doing}", "network") from None
    except OSError as exc:
        if _is_tls_error(exc):
            raise HTTPCheckError(f"TLS error with {where} while {doing}: {_tls_text(exc)}",
                                 "tls") from None
        raise HTTPCheckError(f"{where}: {exc.strerror or exc} while {doing}",
                             "network") from None


def _addresses(url, where, deadline, prefer_ipv6):
    import _socket  # the C module: socket.py's enum set-up costs ~1 ms we do not need

    host = url.host
    if ":" in host:
        return [(_socket.AF_INET6, (host, url.port, 0, 0))]
    if host.replace(".", "").isdigit():
        return [(_socket.AF_INET, (host, url.port))]
    if host in ("localhost", "localhost."):  # RFC 6761: always loopback, never DNS
        v4, v6 = (_socket.AF_INET, ("127.0.0.1", url.port)), (
            _socket.AF_INET6, ("::1", url.port, 0, 0))
        return [v6, v4] if prefer_ipv6 else [v4, v6]
    infos = _resolve(host, url.port, where, deadline)
    found = [(family, sockaddr) for family, _, _, _, sockaddr in infos
             if family in (_socket.AF_INET, _socket.AF_INET6)]
    if prefer_ipv6:
        found.sort(key=lambda item: item[0] != _socket.AF_INET6)
    if not found:
        raise HTTPCheckError(f"{host} has no IPv4 or IPv6 address", "resolve")
    return found


def _resolve(host, port, where, deadline):
    """getaddrinfo in a helper thread: it has no timeout of its own and DNS can hang."""
    import _socket
    import _thread

    result = {}
    done = _thread.allocate_lock()
    done.acquire()

    def lookup():
        try:
            result["infos"] = _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc
        finally:
            done.release()

    _thread.start_new_thread(lookup, ())
    if not done.acquire(timeout=max(0.001, deadline.remaining())):
        raise HTTPCheckError(f"resolving {host} did not finish within "
                             f"{deadline.seconds:.1f}s", "timeout")
    if "error" in result:
        error = result["error"]
        raise HTTPCheckError(f"cannot resolve {host}: {error.strerror or error}", "resolve")
    return result["infos"]


def _connect(url, where, deadline, local_only, prefer_ipv6):
    import _socket

    failure = None
    for family, sockaddr in _addresses(url, where, deadline, prefer_ipv6):
        sock = _socket.socket(family, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        if local_only:
            try:
                sock.bind((sockaddr[0], 0, *sockaddr[2:]))
            except OSError as exc:
                sock.close()
                failure = HTTPCheckError(
                    f"{where} is not an address of this node (checks are local only: "
                    f"{exc.strerror})", "network")
                continue
        try:
            _io(sock, deadline, where, "connecting", sock.connect, sockaddr)
            return sock
        except HTTPCheckError as exc:
            sock.close()
            if exc.kind == "timeout":
                raise
            failure = exc
    raise failure


def _wrap_tls(sock, url, where, deadline, ca_file):
    import socket  # ssl needs a socket.socket, not the bare C object
    import ssl

    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise HTTPCheckError(f"cannot load CA certificates from {ca_file}: {exc}",
                             "tls") from None
    plain = socket.socket(fileno=sock.detach())
    server_name = None if _is_ip(url.host) else url.host
    try:
        wrapped = context.wrap_socket(plain, server_hostname=server_name or url.host,
                                      do_handshake_on_connect=False)
    except (OSError, ValueError) as exc:
        plain.close()
        raise HTTPCheckError(f"TLS set-up for {where} failed: {exc}", "tls") from None
    try:
        _io(wrapped, deadline, where, "in the TLS handshake", wrapped.do_handshake)
    except HTTPCheckError:
        wrapped.close()
        raise
    return wrapped


def _is_ip(host):
    return ":" in host or host.replace(".", "").isdigit()


def _is_tls_error(exc):
    return type(exc).__module__ == "ssl" or type(exc).__name__.startswith("SSL")


def _tls_text(exc):
    detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
    if type(exc).__name__ == "SSLCertVerificationError":
        return f"certificate verification failed: {detail}"
    return str(detail)


class _Reader:
    """Buffered reads from a socket, each bounded by the deadline."""

    def __init__(self, sock, deadline, where):
        self.sock, self.deadline, self.where = sock, deadline, where
        self.buffer = b""
        self.eof = False

    def _fill(self, doing):
        chunk = _io(self.sock, self.deadline, self.where, doing, self.sock.recv, 65536)
        if not chunk:
            self.eof = True
        self.buffer += chunk
        return bool(chunk)

    def until(self, marker, limit, doing):
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise HTTPCheckError(f"{self.where}: response header too large", "protocol")
            if not self._fill(doing):
                return None
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def exactly(self, count, doing):
        while len(self.buffer) < count:
            if not self._fill(doing):
                raise HTTPCheckError(f"{self.where} closed the connection in the middle of "
                                     "the response body", "protocol")
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def rest(self, limit, doing):
        while not self.eof and len(self.buffer) <= limit:
            self._fill(doing)
        data, self.buffer = self.buffer, b""
        return data


def _read_response(reader, url, max_body):
    where = reader.where
    while True:
        head = reader.until(b"\r\n\r\n", _MAX_HEADER, "waiting for the response")
        if head is None:
            if reader.buffer:
                raise HTTPCheckError(f"{where} sent an incomplete HTTP response header",
                                     "protocol")
            raise HTTPCheckError(f"{where} closed the connection without answering",
                                 "protocol")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code_text, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not (code_text.isdigit() and len(code_text) == 3):
            raise HTTPCheckError(f"{where} did not answer with HTTP "
                                 f"(first line {status_line[:60]!r})", "protocol")
        status = int(code_text)
        if status >= 200 or status == 101:
            break  # 1xx interim responses are skipped
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    truncated = False
    if headers.get("transfer-encoding", "").lower().endswith("chunked"):
        body, truncated = _read_chunked(reader, max_body)
    elif "content-length" in headers:
        length_text = headers["content-length"]
        if not length_text.isdigit():
            raise HTTPCheckError(f"{where} sent an invalid Content-Length {length_text!r}",
                                 "protocol")
        length = int(length_text)
        truncated = length > max_body
        body = reader.exactly(min(length, max_body), "reading the response body")
    else:
        body = reader.rest(max_body, "reading the response body")
        truncated = len(body) > max_body
        body = body[:max_body]
    return Response(status, reason.strip(), headers, body, url.text, truncated)


def _read_chunked(reader, max_body):
    parts, total = [], 0
    while True:
        line = reader.until(b"\r\n", 1024, "reading the response body")
        if line is None:
            raise HTTPCheckError(f"{reader.where} closed the connection in the middle of "
                                 "a chunked body", "protocol")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HTTPCheckError(f"{reader.where} sent an invalid chunk size "
                                 f"{size_text[:20]!r}", "protocol") from None
        if size == 0:
            return b"".join(parts), False
        parts.append(reader.exactly(size, "reading the response body"))
        total += size
        if total > max_body:
            return b"".join(parts)[:max_body], True
        reader.exactly(2, "reading the response body")  # CRLF after each chunk
