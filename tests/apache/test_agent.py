"""ocf:ocfkit:Apache against a real Debian apache2, side by side with ocf:heartbeat:apache.

Every test runs its own site (tests/fixtures/apache.py: a configuration in a fresh
directory on a free loopback port); both agents are run as pacemaker-execd runs them.
"""

import os
import signal
import socket
import subprocess
import time

import pytest
from apache_paths import OURS, REFERENCE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="starts httpd (needs root)")

PROBE = {"interval_ms": None}          # monitor with interval 0: a probe
RECURRING = {"interval_ms": 10000}


def reasons(result):
    return [line for line in result.stderr.splitlines() if line.startswith("ocf-exit-reason:")]


def assert_clean_failure(result, code, *words):
    """The contract's code, one exit reason naming the problem, no traceback."""
    assert result.rc == code, result
    assert "Traceback" not in result.stderr, result.stderr
    assert len(reasons(result)) == 1, result.stderr
    for word in words:
        assert word.lower() in result.exit_reason.lower(), result.exit_reason


def wait_for(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


# --------------------------------------------------------------- lifecycle
def test_lifecycle_same_codes_as_the_reference(apache_site, runner):
    params = apache_site.params()
    for agent in (OURS, REFERENCE):
        assert runner.run(agent, "monitor", params).rc == 7          # probe, stopped
    stopped = runner.ours("monitor", params, **RECURRING)
    assert stopped.rc == 7 and stopped.wall < 2.0                      # no 5 s wait

    started = runner.ours("start", params)
    assert started.rc == 0, started
    master = apache_site.master_pid()
    assert master is not None and apache_site.answers()
    for agent in (OURS, REFERENCE):
        assert runner.run(agent, "monitor", params).rc == 0           # probe, running
        assert runner.run(agent, "monitor", params, **RECURRING).rc == 0
        assert runner.run(agent, "start", params).rc == 0             # already running
    assert apache_site.master_pid() == master                         # nothing restarted

    stop = runner.ours("stop", params)
    assert stop.rc == 0, stop
    assert apache_site.processes() == []
    assert not os.path.exists(apache_site.pid_file)
    assert [name for name in os.listdir(runner.rsctmp) if name.endswith(".site")] == []
    for agent in (OURS, REFERENCE):
        assert runner.run(agent, "stop", params).rc == 0              # already stopped
        assert runner.run(agent, "monitor", params).rc == 7


def test_each_agent_manages_a_server_the_other_started(apache_site, runner):
    params = apache_site.params()
    assert runner.reference("start", params).rc == 0
    assert runner.ours("monitor", params, **RECURRING).rc == 0
    assert runner.ours("stop", params).rc == 0
    assert apache_site.processes() == []

    assert runner.ours("start", params).rc == 0
    assert runner.reference("monitor", params, **RECURRING).rc == 0
    assert runner.reference("stop", params).rc == 0
    assert apache_site.processes() == []
    assert runner.ours("monitor", params).rc == 7


def test_start_returns_as_soon_as_the_status_page_answers(apache_site, runner):
    params = apache_site.params()
    result = runner.ours("start", params)
    assert result.rc == 0
    assert result.wall < 2.0, result.wall   # the reference sleeps 1 s after launching
    assert apache_site.answers()


def test_event_mpm_and_derived_status_url(make_site, runner):
    site = make_site(mpm="event", workers=4)
    params = site.params()
    assert runner.ours("start", params).rc == 0
    assert runner.ours("monitor", params, **RECURRING).rc == 0
    assert runner.ours("stop", params).rc == 0
    assert site.processes() == []


def test_ipv6_loopback_listen(make_site, runner):
    site = make_site(host="::1")
    params = site.params(use_ipv6="true")
    assert runner.ours("start", params).rc == 0
    assert runner.ours("monitor", params, **RECURRING).rc == 0
    assert runner.reference("monitor", params, **RECURRING).rc == 0
    assert runner.ours("stop", params).rc == 0


def test_configuration_without_pid_file_gets_one_like_the_reference(make_site, runner):
    site = make_site(pid_file=False)
    params = site.params()
    assert runner.ours("start", params).rc == 0
    forced = f"/run/apache2-{runner.instance}.pid"
    try:
        assert os.path.exists(forced)
        assert runner.reference("monitor", params, **RECURRING).rc == 0  # same file
        assert runner.ours("monitor", params, **RECURRING).rc == 0
        assert runner.ours("stop", params).rc == 0
        assert site.processes() == []
        assert not os.path.exists(forced)
    finally:
        site.kill_all()
        if os.path.exists(forced):
            os.unlink(forced)


def test_monitor_imports_nothing_heavy(apache_site, runner):
    """With the default testregex a monitor needs neither re nor subprocess nor ssl."""
    import subprocess

    from ocfkit.testing import execd_environment

    params = apache_site.params()
    assert runner.ours("start", params).rc == 0
    env = execd_environment(params, action="monitor", instance=runner.instance,
                            interval_ms=10000, extra={"HA_RSCTMP": runner.rsctmp})
    for _ in range(2):  # the first run fills the configuration cache
        result = subprocess.run(["/usr/bin/python3", "-I", "-X", "importtime", OURS,
                                 "monitor"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported & {"re", "subprocess", "ssl", "socket", "http.client", "shlex",
                       "glob", "enum"} == set()


# ------------------------------------------------------------ failures
def test_syntax_error_is_not_configured_with_httpds_message(apache_site, runner):
    apache_site.write_config(extra="BogusDirective on")
    result = runner.ours("start", apache_site.params())
    assert_clean_failure(result, 6, "BogusDirective", "line")
    assert apache_site.processes() == []


def test_port_already_in_use(apache_site, runner):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", apache_site.port))
        squatter.listen()
        result = runner.ours("start", apache_site.params())
    assert_clean_failure(result, 1, "address already in use")
    assert result.wall < 1.0       # the squatter accepts but never answers: not waited for
    assert apache_site.processes() == []
    assert not os.path.exists(apache_site.pid_file)


@pytest.mark.slow
def test_stopped_server_fails_monitor_within_its_deadline(apache_site, runner):
    params = apache_site.params()
    assert runner.ours("start", params).rc == 0
    apache_site.signal_all(signal.SIGSTOP)
    result = runner.ours("monitor", params, timeout_ms=3000, **RECURRING)
    assert_clean_failure(result, 1, "no response", "is stopped")
    assert result.wall < 3.0, result.wall
    # The reference's wget waits 15 minutes: Pacemaker kills it at the timeout.
    reference = runner.reference("monitor", params, timeout_ms=3000, timeout=3,
                                 **RECURRING)
    assert reference.rc is None
    # A stop ends it: graceful for half the timeout, then SIGTERM, then SIGKILL.
    stop = runner.ours("stop", params, timeout_ms=4000)
    assert stop.rc == 0, stop
    assert stop.wall < 4.0
    assert apache_site.processes() == []


def test_killed_server_with_stale_pid_file_is_not_running(apache_site, runner):
    params = apache_site.params()
    assert runner.ours("start", params).rc == 0
    apache_site.kill_all()
    assert os.path.exists(apache_site.pid_file)                     # stale
    for agent in (OURS, REFERENCE):
        assert runner.run(agent, "monitor", params).rc == 7
    assert runner.ours("monitor", params, **RECURRING).rc == 7
    assert runner.ours("stop", params).rc == 0
    assert runner.ours("start", params).rc == 0                      # starts over it
    assert runner.ours("monitor", params, **RECURRING).rc == 0


def test_killed_master_with_workers_left_is_a_failure(apache_site, runner):
    params = apache_site.params()
    assert runner.ours("start", params).rc == 0
    workers = [pid for pid in apache_site.processes() if pid != apache_site.master_pid()]
    os.kill(apache_site.master_pid(), signal.SIGKILL)
    assert wait_for(lambda: apache_site.master_pid() is None)
    if not any(os.path.exists(f"/proc/{pid}") for pid in workers):
        pytest.skip("the workers exited with their master")
    result = runner.ours("monitor", params, **RECURRING)
    assert_clean_failure(result, 1, "master process is gone")
    # The reference only reads the pid file: "not running", while workers still serve.
    assert runner.reference("monitor", params, **RECURRING).rc == 7
    assert runner.ours("stop", params).rc == 0
    assert apache_site.processes() == []


def test_pid_file_removed_while_running(apache_site, runner):
    params = apache_site.params()
    assert runner.ours("start", params).rc == 0
    master = apache_site.master_pid()
    os.unlink(apache_site.pid_file)
    result = runner.ours("monitor", params, **RECURRING)
    assert result.rc == 0 and f"master process PID {master}" in result.stderr
    assert runner.reference("monitor", params).rc == 7             # would start a second one
    assert runner.ours("start", params).rc == 0                     # already running
    assert runner.ours("stop", params).rc == 0
    assert apache_site.processes() == []


def test_pid_file_naming_another_process(apache_site, runner):
    """A stale pid file whose PID now belongs to another program (PID reuse)."""
    import subprocess

    params = apache_site.params()
    other = subprocess.Popen(["sleep", "30"])
    try:
        with open(apache_site.pid_file, "w") as handle:
            handle.write(f"{other.pid}\n")
        assert runner.ours("monitor", params).rc == 7
        assert runner.ours("monitor", params, **RECURRING).rc == 7
        # The reference sees /proc/PID and fetches the status page of a stopped server.
        assert runner.reference("monitor", params, **RECURRING).rc == 1
        assert runner.ours("stop", params).rc == 0
        assert other.poll() is None                                  # never signalled
        assert runner.ours("start", params).rc == 0
    finally:
        other.kill()
        other.wait()


def test_port_parameter_moves_the_derived_url(apache_site, runner):
    from fixtures.apache import free_port

    assert runner.ours("start", apache_site.params()).rc == 0
    elsewhere = apache_site.params(port=free_port())
    result = runner.ours("monitor", elsewhere, **RECURRING)
    assert_clean_failure(result, 1, "connection refused")
    assert runner.reference("monitor", elsewhere, **RECURRING).rc == 0   # ignores port
    same = apache_site.params(port=apache_site.port, client="curl")   # client: ignored
    assert runner.ours("monitor", same, **RECURRING).rc == 0


def test_status_page_answering_500(apache_site, runner):
    params = apache_site.params(statusurl=apache_site.url("/cgi/fail.cgi"))
    assert runner.ours("start", apache_site.params()).rc == 0
    result = runner.ours("monitor", params, **RECURRING)
    assert_clean_failure(result, 1, "HTTP 500")
    assert runner.reference("monitor", params, **RECURRING).rc == 1


def test_status_page_with_the_wrong_text(apache_site, runner):
    params = apache_site.params(testregex="no such text on the page")
    assert runner.ours("start", apache_site.params()).rc == 0
    result = runner.ours("monitor", params, **RECURRING)
    assert_clean_failure(result, 1, "does not match", "testregex")
    assert runner.reference("monitor", params, **RECURRING).rc == 1


def test_connection_refused_is_named(apache_site, runner):
    from fixtures.apache import free_port

    assert runner.ours("start", apache_site.params()).rc == 0
    refused = apache_site.params(statusurl=f"http://127.0.0.1:{free_port()}/server-status")
    result = runner.ours("monitor", refused, **RECURRING)
    assert_clean_failure(result, 1, "connection refused")


def test_status_page_that_never_works_fails_start_and_leaves_nothing(apache_site, runner):
    params = apache_site.params(statusurl=apache_site.url("/no-such-page"))
    result = runner.ours("start", params)
    assert_clean_failure(result, 1, "HTTP 404")
    assert apache_site.processes() == []


def _busy(site, count, seconds):
    """``count`` requests that keep a worker each for ``seconds``; returns the sockets."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", site.port), timeout=5)
        sock.sendall(f"GET /cgi/sleep.cgi?{seconds} HTTP/1.0\r\n\r\n".encode())
        socks.append(sock)
    return socks


def test_every_worker_busy_is_degraded(make_site, runner):
    site = make_site(workers=3)
    params = site.params()
    assert runner.ours("start", params).rc == 0
    one = _busy(site, 1, "17.25")
    assert wait_for(lambda: site.busy_workers() >= 2)
    assert runner.ours("monitor", params, **RECURRING).rc == 0        # one worker idle
    two = _busy(site, 1, "17.25")
    assert wait_for(lambda: site.busy_workers() >= 3)
    result = runner.ours("monitor", params, **RECURRING)
    assert result.rc == 190, result
    assert "all 3 workers" in result.exit_reason and "MaxRequestWorkers 3" in result.exit_reason
    assert runner.reference("monitor", params, **RECURRING).rc == 0  # it cannot tell
    # Requests in flight: the graceful stop waits (half of 4 s), then TERM/KILL the tree,
    # CGI children included.
    stop = runner.ours("stop", params, timeout_ms=4000)
    assert stop.rc == 0, stop
    assert 1.5 < stop.wall < 4.0
    for sock in one + two:
        sock.close()
    assert site.processes() == []
    assert not _processes_with_argv(["sleep", "17.25"])


def _processes_with_argv(argv):
    wanted = [part.encode() for part in argv]
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read().rstrip(b"\0").split(b"\0") == wanted:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_graceful_stop_lets_a_request_finish(apache_site, runner):
    params = apache_site.params()
    assert runner.ours("start", params).rc == 0
    sock = _busy(apache_site, 1, "1")[0]
    assert wait_for(lambda: apache_site.busy_workers() >= 2)
    stop = runner.ours("stop", params)
    assert stop.rc == 0
    assert 0.5 < stop.wall < 5.0
    sock.settimeout(5)
    answer = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200") and answer.rstrip().endswith(b"slept"), answer
    assert apache_site.processes() == []


# ------------------------------------------------------------ depth 10
def test_depth_10_with_testurl(apache_site, runner):
    params = apache_site.params(testurl="/hello.txt", testregex10="HELLO from")
    assert runner.ours("start", params).rc == 0
    assert runner.ours("monitor", params, check_level=10, **RECURRING).rc == 0
    assert runner.reference("monitor", params, check_level=10, **RECURRING).rc == 0
    wrong = apache_site.params(testurl="/hello.txt", testregex10="goodbye")
    result = runner.ours("monitor", wrong, check_level=10, **RECURRING)
    assert_clean_failure(result, 1, "/hello.txt", "does not match")
    assert runner.reference("monitor", wrong, check_level=10, **RECURRING).rc == 1
    # level 0 ignores the test URL
    assert runner.ours("monitor", wrong, **RECURRING).rc == 0
    # level 10 includes level 0 for us; the reference checks only the test URL
    broken_status = apache_site.params(testurl="/hello.txt", testregex10="hello",
                                       testregex="not on the status page")
    assert runner.ours("monitor", broken_status, check_level=10, **RECURRING).rc == 1
    assert runner.reference("monitor", broken_status, check_level=10, **RECURRING).rc == 0


def test_depth_10_test_file_with_basic_auth_never_shows_the_password(make_site, runner,
                                                                      tmp_path):
    from fixtures.apache import AUTH_PASSWORD, AUTH_USER

    site = make_site(auth=True)
    tests = tmp_path / "apache-tests"
    tests.write_text(
        "# tests for the extended monitor\n"
        f"test public\nurl {site.url('/hello.txt')}\nmatch hello\nend\n"
        f"test private\nurl /private/\nuser {AUTH_USER}\npassword {AUTH_PASSWORD}\n"
        "match private area OK\nend\n"
        f"test wrongpw\nurl /private/\nuser {AUTH_USER}\npassword not-{AUTH_PASSWORD}\n"
        "match private area OK\nend\n")
    debug = {"HA_debug": "1"}
    for name, code in (("public", 0), ("private", 0), ("wrongpw", 1), ("", 0)):
        params = site.params(testconffile=str(tests), testname=name or None)
        if name == "public" or not name:
            assert runner.ours("start", params).rc == 0
        result = runner.ours("monitor", params, check_level=10, extra=debug, **RECURRING)
        assert result.rc == code, (name, result)
        assert AUTH_PASSWORD not in result.stderr
        if code:
            assert "HTTP 401" in result.exit_reason
    # The reference ignores testname and always runs the first test.
    wrongpw = site.params(testconffile=str(tests), testname="wrongpw")
    assert runner.reference("monitor", wrongpw, check_level=10, **RECURRING).rc == 0
    missing = site.params(testconffile=str(tests), testname="nope")
    assert_clean_failure(runner.ours("monitor", missing, check_level=10, **RECURRING), 1,
                         "no test named 'nope'")


# ------------------------------------------------------------------ TLS
def test_https_status_url_is_verified(make_site, runner):
    site = make_site(tls=True)
    url = site.tls_url("/server-status")
    trusted = site.params(statusurl=url, cacert=site.ca_file)
    assert runner.ours("start", trusted).rc == 0
    assert runner.ours("monitor", trusted, **RECURRING).rc == 0
    untrusted = site.params(statusurl=url)
    result = runner.ours("monitor", untrusted, **RECURRING)
    assert_clean_failure(result, 1, "certificate verification failed")
    by_name = site.params(statusurl=url.replace("127.0.0.1", "localhost"), cacert=site.ca_file)
    assert runner.ours("monitor", by_name, **RECURRING).rc == 0
    assert runner.ours("stop", trusted).rc == 0
    assert site.processes() == []


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("params, code, words", [
    ({"configfile": "/nonexistent/httpd.conf"}, 5, ["/nonexistent/httpd.conf", "not found"]),
    ({"httpd": "/usr/sbin/no-such-httpd"}, 5, ["no-such-httpd"]),
    ({"statusurl": "ftp://127.0.0.1/"}, 6, ["statusurl", "http://"]),
    ({"statusurl": "http://[::1/server-status"}, 6, ["statusurl", "IPv6"]),
    ({"statusurl": "http://127.0.0.1:99999/"}, 6, ["statusurl", "port"]),
    ({"testregex": "(unclosed"}, 6, ["testregex", "regular expression"]),
    ({"testurl": "/x", "testregex10": "[a-"}, 6, ["testregex10"]),
    ({"testurl": "/x"}, 6, ["testurl and testregex10"]),
    ({"options": "-c 'LogLevel debug"}, 6, ["options"]),
    ({"options": "-f /etc/other.conf"}, 6, ["-f", "configfile"]),
    ({"envfiles": "relative/envvars"}, 6, ["envfiles"]),
    ({"port": "http"}, 6, ["port"]),
    ({"testconffile": "/nonexistent/tests"}, 5, ["testconffile"]),
])
def test_bad_input(apache_site, runner, params, code, words):
    merged = apache_site.params(**params)
    result = runner.ours("start", merged)
    assert_clean_failure(result, code, *words)
    assert apache_site.processes() == []
    assert runner.ours("monitor", merged).rc == 7                    # probe
    assert runner.ours("stop", merged).rc == 0
    recurring = runner.ours("monitor", merged, **RECURRING)
    assert recurring.rc == 1 and "Traceback" not in recurring.stderr


def test_missing_configuration_matches_the_reference(runner):
    params = {"configfile": "/nonexistent/httpd.conf", "httpd": "/usr/sbin/apache2"}
    for action, extra, code in (("start", {}, 5), ("monitor", {}, 7), ("stop", {}, 0)):
        assert runner.ours(action, params, **extra).rc == code
        assert runner.reference(action, params, **extra).rc == code
    # validate-all: level 0 checks only the syntax (pcs may call it on any node);
    # level 10 checks this node, like the reference always does.
    assert runner.ours("validate-all", params).rc == 0
    assert runner.ours("validate-all", params, check_level=10).rc == 5
    assert runner.reference("validate-all", params).rc == 5


def test_configuration_that_is_a_directory_or_a_fifo(runner, tmp_path):
    result = runner.ours("start", {"configfile": str(tmp_path), "httpd": "/usr/sbin/apache2"})
    assert_clean_failure(result, 5, "not a regular file", "directory")
    fifo = tmp_path / "httpd.conf"
    os.mkfifo(fifo)
    for action, code in (("start", 5), ("monitor", 7)):      # start, probe
        result = runner.ours(action, {"configfile": str(fifo), "httpd": "/usr/sbin/apache2"},
                             timeout=10)
        assert result.rc == code and result.wall < 5          # never blocked reading it


def test_configuration_without_status_handler(make_site, runner):
    site = make_site(status=False)
    result = runner.ours("start", site.params())
    assert_clean_failure(result, 6, "server-status", "statusurl")
    assert site.processes() == []
    # The reference falls back to fetching the index page instead.
    assert runner.reference("start", site.params()).rc == 0


def test_reference_uses_another_binary_when_httpd_is_missing(apache_site, runner):
    """Documented difference: a given but missing httpd is 5 for us, silently replaced
    by the first binary found for the reference."""
    params = apache_site.params(httpd="/usr/sbin/no-such-httpd")
    assert runner.ours("start", params).rc == 5
    assert runner.reference("start", params).rc == 0
    assert apache_site.master_pid() is not None


def test_validate_all_level_10_runs_the_syntax_check(apache_site, runner):
    params = apache_site.params()
    assert runner.ours("validate-all", params, check_level=10).rc == 0
    apache_site.write_config(extra="BogusDirective on")
    assert runner.ours("validate-all", params).rc == 0            # syntax of parameters only
    result = runner.ours("validate-all", params, check_level=10)
    assert_clean_failure(result, 6, "BogusDirective")


def test_debian_layout_is_found_and_read(runner):
    """The system's /etc/apache2 (never started here): binary, envvars, pid file, URL."""
    if not os.path.exists("/etc/apache2/apache2.conf"):
        pytest.skip("no Debian apache2 configuration")
    result = runner.ours("monitor", {}, extra={"HA_debug": "1"})
    assert result.rc in (0, 7), result
    assert "/etc/apache2/apache2.conf" in result.stderr
    assert "pid file /var/run/apache2/apache2.pid" in result.stderr
    assert "/server-status" in result.stderr


# ------------------------------------------------------- service address
@pytest.mark.netns
def test_status_url_on_a_service_address_and_never_another_node(make_site, runner):
    """A server bound to a service address (a VIP) is checked from this node only."""
    import sys

    from fixtures.netns import Network

    with Network("oka") as net:
        here = net.node("here", "198.51.100.10/24", "2001:db8::10/64")
        there = net.node("there", "198.51.100.20/24")
        there.spawn([sys.executable, "-m", "http.server", "--bind", "198.51.100.20", "8080"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        site = make_site(host="198.51.100.10", port=8080)
        params = site.params()          # derived: http://198.51.100.10:8080/server-status
        env = {"extra": {"HA_RSCTMP": runner.rsctmp}, "instance": runner.instance}
        assert here.run_agent(OURS, "start", params, **env).rc == 0
        assert here.run_agent(OURS, "monitor", params, interval_ms=10000, **env).rc == 0
        assert here.run_agent(REFERENCE, "monitor", params, interval_ms=10000, **env).rc == 0
        assert wait_for(lambda: there.run(
            ["python3", "-c", "import socket; socket.create_connection(('198.51.100.20', "
             "8080), 1)"], check=False).returncode == 0)
        # The other node answers on its address; a check must not take that for ours.
        other = site.params(statusurl="http://198.51.100.20:8080/", testregex="Directory")
        result = here.run_agent(OURS, "monitor", other, interval_ms=10000, **env)
        assert_clean_failure(result, 1, "not an address of this node")
        assert here.run_agent(REFERENCE, "monitor", other, interval_ms=10000, **env).rc == 1
        # IPv6 from ::1 reaches this node's own address (nothing listens there: refused,
        # not "not an address of this node").
        v6 = site.params(statusurl="http://[2001:db8::10]:8080/server-status")
        result = here.run_agent(OURS, "monitor", v6, interval_ms=10000, **env)
        assert_clean_failure(result, 1, "connection refused")
        assert here.run_agent(OURS, "stop", params, **env).rc == 0
        assert site.processes() == []


# ------------------------------------------------------------ ocfkit check
def test_ocfkit_check_passes(apache_site):
    """The project's contract checker, lifecycle included, on a real site."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "ocfkit", "check", "-o",
            f"configfile={apache_site.config_path}", "-o", "httpd=/usr/sbin/apache2", OURS]
    checker = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        output, _ = checker.communicate(timeout=180)
    finally:
        for suffix in ("site", "lock"):  # the checker's resource instance is check-<its PID>
            path = f"/run/resource-agents/ocfkit-Apache-ocfkit-check-{checker.pid}.{suffix}"
            if os.path.exists(path):
                os.unlink(path)
    assert checker.returncode == 0, output
    assert "0 rules broken" in output
    assert apache_site.processes() == []
