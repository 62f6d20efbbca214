"""The Apache agent's parts without httpd: configuration reader, HTTP client, matching."""

import os
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ocfkit.agents import apache, apache_config
from ocfkit.deadline import Deadline
from ocfkit.httpcheck import HTTPCheckError, fetch, join_url, parse_url


# ------------------------------------------------------------ configuration
def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_includes_conditions_variables_and_vhosts(tmp_path):
    root = tmp_path / "etc"
    write(root / "mods" / "status.load", "LoadModule status_module /x/mod_status.so\n")
    write(root / "mods" / "mpm.load", "LoadModule mpm_event_module /x/mod_mpm_event.so\n")
    write(root / "mods" / "status.conf",
          "<IfModule mod_status.c>\n  <Location /status-page>\n"
          "    SetHandler server-status\n  </Location>\n</IfModule>\n")
    write(root / "mods" / "mpm.conf",
          "<IfModule mpm_prefork_module>\n  MaxRequestWorkers 11\n</IfModule>\n"
          "<IfModule mpm_event_module>\n  MaxRequestWorkers 33\n</IfModule>\n")
    write(root / "conf.d" / "a.conf", "Listen 127.0.0.1:8081\n")
    write(root / "conf.d" / "b.conf", "<IfDefine !STATUS>\n  Listen 9999\n</IfDefine>\n")
    main = write(root / "httpd.conf", "\n".join([
        "Define RUN /srv/run",
        "PidFile ${RUN}/httpd.pid",
        "IncludeOptional mods/*.load",
        "IncludeOptional mods/*.conf",
        "Include conf.d",
        "IncludeOptional nowhere/*.conf",
        'ErrorLog "${LOGS}/error.log"',
        "<IfModule ssl_module>",
        "  Listen 443",
        "</IfModule>",
        "<VirtualHost 127.0.0.1:8443>",
        "  SSLEngine on",
        "  <Location /vhost-status>",
        "    SetHandler server-status",
        "  </Location>",
        "</VirtualHost>",
        "# SetHandler server-status",
        "<Location /long \\",
        "  >",
        "</Location>",
    ]) + "\n")
    config = apache_config.read(main, server_root=str(root), defines=["STATUS"],
                                environ={"LOGS": "/var/log/x"})
    assert config.pid_file == "/srv/run/httpd.pid"
    assert config.error_log == "/var/log/x/error.log"
    assert [(item.address, item.port) for item in config.listens] == [("127.0.0.1", 8081)]
    assert config.mpm == "event" and config.worker_limit == 33
    assert [handler.path for handler in config.status_handlers] == ["/status-page",
                                                                    "/vhost-status"]
    vhost = config.status_handlers[1]
    assert (vhost.vhost_address, vhost.vhost_port, vhost.ssl) == ("127.0.0.1", 8443, True)
    assert str(root / "mods") in config.watched_dirs
    assert str(root / "conf.d" / "b.conf") in config.files


def test_relative_pid_file_and_command_line_directives(tmp_path):
    main = write(tmp_path / "httpd.conf", "PidFile run/httpd.pid\nListen 80\n")
    config = apache_config.read(main, server_root="/srv/apache",
                                before=["Define X 1"], after=["Listen [::1]:8080 https"])
    assert config.pid_file == "/srv/apache/run/httpd.pid"
    assert [(item.address, item.port, item.is_https) for item in config.listens] == [
        (None, 80, False), ("::1", 8080, True)]
    assert config.worker_limit is None  # no MPM loaded: unknown


def test_environment_is_consulted_only_for_undefined_variables(tmp_path):
    asked = []

    class Environment(dict):
        def __contains__(self, key):
            asked.append(key)
            return super().__contains__(key)

    main = write(tmp_path / "httpd.conf", "Define A /a\nPidFile ${A}/pid\n")
    apache_config.read(main, server_root="/", environ=Environment())
    assert asked == []


def test_missing_include_is_an_error_but_optional_is_not(tmp_path):
    main = write(tmp_path / "httpd.conf", f"Include {tmp_path}/missing.conf\n")
    with pytest.raises(apache_config.ConfigError, match="missing.conf"):
        apache_config.read(main, server_root="/")
    main = write(tmp_path / "ok.conf", f"IncludeOptional {tmp_path}/missing.conf\n")
    apache_config.read(main, server_root="/")


def test_recursive_include_is_bounded(tmp_path):
    main = write(tmp_path / "loop.conf", f"Include {tmp_path}/loop.conf\n")
    with pytest.raises(apache_config.ConfigError, match="nested"):
        apache_config.read(main, server_root="/")


@pytest.mark.parametrize("text, expected", [
    ("80", (None, 80)), ("*:8080", (None, 8080)), ("[::1]:81", ("::1", 81)),
    ("198.51.100.1:82", ("198.51.100.1", 82)), ("0.0.0.0:83", (None, 83)), ("*", (None, None)),
    ("[::]:84", (None, 84)), ("host:99999", ("host", None)),
])
def test_split_listen(text, expected):
    assert apache_config.split_listen(text) == expected


@pytest.mark.parametrize("line, words", [
    ('Directive "a b" c', ["Directive", "a b", "c"]),
    ("Directive 'x y'", ["Directive", "x y"]),
    ('Directive "a \\" b"', ["Directive", 'a " b']),
    ("  \tDirective   a ", ["Directive", "a"]),
])
def test_split_words(line, words):
    assert apache_config.split_words(line) == words


def test_debian_configuration_of_this_system():
    """The real /etc/apache2 tree: Include globs, IfModule, envvars variables."""
    if not os.path.exists("/etc/apache2/apache2.conf"):
        pytest.skip("no Debian apache2 configuration")
    environ = apache._source(["/etc/apache2/envvars"], {"PATH": "/usr/bin:/bin"},
                             Deadline(10))
    assert environ["APACHE_PID_FILE"] == "/var/run/apache2/apache2.pid"
    config = apache_config.read("/etc/apache2/apache2.conf", server_root="/etc/apache2",
                                defines=["STATUS"], environ=environ)
    assert config.pid_file == "/var/run/apache2/apache2.pid"
    assert config.listens and config.listens[0].port == 80
    assert not config.undefined


def test_sourcing_a_broken_env_file_is_one_clear_error(tmp_path):
    broken = write(tmp_path / "envvars", "export A=1\nif then fi\n")
    with pytest.raises(apache.ocf.ErrInstalled, match="sourcing .*envvars failed"):
        apache._source([broken], {"PATH": "/usr/bin:/bin"}, Deadline(10))


# ---------------------------------------------------------------- matching
@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="<>/ htmlHTML\nxK\u212a", max_size=40))
def test_default_regex_without_re_finds_what_re_finds(text):
    expected = bool(apache._compile("testregex", apache.DEFAULT_TESTREGEX).search(text))
    assert apache._CLOSING_HTML_TAG.search(text) == expected


def test_posix_classes_are_translated():
    regex = apache._compile("testregex", "^[[:digit:]]+ [[:alpha:]]+$")
    assert regex.search("xx\n42 Apples\n")
    assert not regex.search("42 4pples")


@pytest.mark.parametrize("text, counts", [
    ("<dt>3 requests currently being processed, 0 workers gracefully restarting, "
     "0 idle workers</dt>", (3, 0)),
    ("<dt>1 requests currently being processed, 5 idle workers</dt>", (1, 5)),
    ("BusyWorkers: 4\nGracefulWorkers: 0\nIdleWorkers: 2\n", (4, 2)),
    ("<html>no status here</html>", None),
])
def test_worker_counts(text, counts):
    assert apache._worker_counts(text) == counts


def test_test_file_format():
    lines = ["# comment", "test first", "url /a", "match A", "end",
             "test second", "url /b", "user u", "password p", "match B", "end"]
    assert apache._parse_tests(lines, None, "f")["url"] == "/a"
    assert apache._parse_tests(lines, "second", "f")["password"] == "p"
    with pytest.raises(apache.ocf.ErrConfigured, match="no test named 'x'"):
        apache._parse_tests(lines, "x", "f")
    with pytest.raises(apache.ocf.ErrConfigured, match="unknown keyword 'bogus'"):
        apache._parse_tests(["test t", "bogus 1", "end"], None, "f")
    with pytest.raises(apache.ocf.ErrConfigured, match="both 'user' and 'password'"):
        apache._parse_tests(["test t", "url /", "match x", "user u", "end"], None, "f")


# ---------------------------------------------------------------- URLs
@pytest.mark.parametrize("text, parts", [
    ("http://127.0.0.1/server-status", ("http", "127.0.0.1", 80, "/server-status")),
    ("https://LocalHost:8443", ("https", "localhost", 8443, "/")),
    ("http://[::1]:81/a?b=c#frag", ("http", "::1", 81, "/a?b=c")),
    ("http://h?x=1", ("http", "h", 80, "/?x=1")),
])
def test_parse_url(text, parts):
    url = parse_url(text)
    assert (url.scheme, url.host, url.port, url.target) == parts


@pytest.mark.parametrize("text, message", [
    ("ftp://h/", "http:// or https://"), ("http://", "no host"), ("http://h:0/", "port"),
    ("http://[::1/", "IPv6"), ("http://::1/", "brackets"), ("http://u:p@h/", "credentials"),
    ("http://h/a b", "white space"),
])
def test_parse_url_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_url(text)


def test_join_url():
    base = parse_url("http://127.0.0.1:81/dir/page?q")
    assert join_url(base, "/x").text == "http://127.0.0.1:81/x"
    assert join_url(base, "y").text == "http://127.0.0.1:81/dir/y"
    assert join_url(base, "https://localhost/z").text == "https://localhost/z"


# ------------------------------------------------------------- HTTP client
class TinyServer:
    """A loopback TCP server answering each connection with ``respond(request)``."""

    def __init__(self, respond, read_request=True):
        self.read_request = read_request
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.respond = respond
        self.requests = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data and self.read_request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                answer = self.respond(data)
                if answer is not None:
                    conn.sendall(answer)

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.sock.close()


@pytest.fixture
def serve():
    servers = []

    def make(respond, read_request=True):
        server = TinyServer(respond, read_request)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def test_content_length_chunked_and_close_delimited_bodies(serve):
    bodies = {
        b"/length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloIGNORED",
        b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"/close": b"HTTP/1.0 200 OK\r\n\r\nuntil close",
        b"/interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    }
    server = serve(lambda request: bodies[request.split()[1]])
    assert fetch(server.url("/length"), Deadline(5)).body == b"hello"
    assert fetch(server.url("/chunked"), Deadline(5)).body == b"abcde"
    assert fetch(server.url("/close"), Deadline(5)).body == b"until close"
    assert fetch(server.url("/interim"), Deadline(5)).status == 204
    request = server.requests[0].decode()
    assert request.startswith("GET /length HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n" in request


def test_redirects_are_followed_and_bounded(serve):
    def respond(request):
        path = request.split()[1]
        if path == b"/loop":
            return b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
        if path == b"/old":
            return b"HTTP/1.1 301 Moved\r\nLocation: new\r\nContent-Length: 0\r\n\r\n"
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    server = serve(respond)
    response = fetch(server.url("/old"), Deadline(5))
    assert (response.status, response.body, response.url) == (200, b"ok", server.url("/new"))
    with pytest.raises(HTTPCheckError, match="more than 5 redirects") as failure:
        fetch(server.url("/loop"), Deadline(5))
    assert failure.value.kind == "redirect"


def test_basic_auth_is_sent_only_to_the_origin(serve):
    server = serve(lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    fetch(server.url("/"), Deadline(5), auth=("user", "pw"))
    assert b"Authorization: Basic dXNlcjpwdw==\r\n" in server.requests[0]


def test_silent_server_times_out_within_the_deadline(serve):
    server = serve(lambda request: time.sleep(3))
    started = time.monotonic()
    with pytest.raises(HTTPCheckError, match="no response") as failure:
        fetch(server.url("/"), Deadline(0.5))
    assert failure.value.kind == "timeout"
    assert time.monotonic() - started < 1.0


def test_refused_and_garbage(serve):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HTTPCheckError, match="connection refused") as failure:
        fetch(f"http://127.0.0.1:{port}/", Deadline(5))
    assert failure.value.kind == "refused"
    server = serve(lambda request: b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(HTTPCheckError, match="did not answer with HTTP") as failure:
        fetch(server.url("/"), Deadline(5))
    assert failure.value.kind == "protocol"
    closing = serve(lambda request: None)
    with pytest.raises(HTTPCheckError, match="without answering"):
        fetch(closing.url("/"), Deadline(5))


def test_checks_reach_only_this_nodes_addresses():
    """No packet leaves: binding the destination as source fails for a foreign address."""
    started = time.monotonic()
    with pytest.raises(HTTPCheckError, match="not an address of this node"):
        fetch("http://198.51.100.99:8080/", Deadline(5))
    with pytest.raises(HTTPCheckError, match="not an address of this node"):
        fetch("http://[2001:db8::99]:8080/", Deadline(5))
    assert time.monotonic() - started < 1.0


def test_localhost_never_needs_dns(serve):
    server = serve(lambda request: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert fetch(f"http://localhost:{server.port}/", Deadline(5)).status == 200


def test_https_against_plain_http_is_a_tls_error(serve):
    server = serve(lambda request: b"HTTP/1.1 400 Bad Request\r\n\r\n", read_request=False)
    with pytest.raises(HTTPCheckError, match="TLS") as failure:
        fetch(f"https://127.0.0.1:{server.port}/", Deadline(5))
    assert failure.value.kind == "tls"


def test_http_client_does_not_import_heavy_modules():
    import subprocess
    import sys

    code = ("import sys, ocfkit.httpcheck as h\n"
            "heavy = {'http', 'http.client', 'email', 'requests', 'urllib', 'ssl', 're',"
            " 'socket', 'subprocess'}\n"
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
