"""Property-based tests of both parsers: whatever Pacemaker (or a fuzzer) hands an agent,
the library never raises and always ends in a contract exit code, with at most one
exit-reason line and nothing on stdout but metadata."""

import io
import os

from core_paths import SERVICE, SWITCH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocfkit import fence, ocf
from ocfkit.fence import std
from ocfkit.testing import execd_environment, run, run_fence_agent

OCF_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191}
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
# Environment values cannot hold NUL; anything else can arrive.
env_text = st.text(alphabet=st.characters(blacklist_characters="\0"), max_size=40)


class Typed(ocf.ResourceAgent):
    """Every parameter type, no side effects."""

    ip = ocf.IPAddress(required=True, unique_group="ip")
    prefix = ocf.CIDRPrefix(aliases=("netmask",))
    port = ocf.Port(default=80)
    flag = ocf.Boolean(default=False)
    mode = ocf.Select(("a", "b"), default="a")
    wait = ocf.Duration(default="1s", reloadable=True)
    path = ocf.Path(default="/tmp/x")
    count = ocf.Integer(default=0, min=0, max=10)
    secret = ocf.String(secret=True)
    answer = ocf.Integer(default=0)

    def validate(self):
        if self.flag and self.mode == "b":
            raise ocf.ErrConfigured("flag and mode b conflict")

    @ocf.action(timeout="20s")
    def start(self):
        return self.answer

    @ocf.action(timeout="20s")
    def stop(self):
        return self.answer

    @ocf.action(timeout="20s", interval="10s", depth=0)
    @ocf.action(timeout="20s", interval="60s", depth=10)
    def monitor(self):
        if self.count == 3:
            raise ValueError("an agent bug")
        return self.answer

    @ocf.action(timeout="20s")
    def notify(self):
        return self.answer


KEYS = (["OCF_RESKEY_" + name for name in ("ip", "prefix", "netmask", "port", "flag", "mode",
                                           "wait", "path", "count", "secret", "answer")]
        + ["OCF_RESKEY_CRM_meta_" + name for name in (
            "interval", "timeout", "notify_type", "notify_operation", "notify_start_resource",
            "notify_start_uname", "clone", "clone_max", "promotable", "master_max", "on_node")]
        + ["OCF_CHECK_LEVEL", "OCF_RESOURCE_INSTANCE", "OCF_EXIT_REASON_PREFIX", "HA_debug",
           "HA_LOGFACILITY", "HA_DATEFMT", "OCF_RESKEY_unknown", "OCF_RA_VERSION_MAJOR"])
ACTIONS = ["start", "stop", "monitor", "status", "notify", "validate-all", "meta-data",
           "reload-agent", "promote", "usage", "help", "migrate_to", ""]


@FAST
@given(environ=st.dictionaries(st.sampled_from(KEYS) | env_text, env_text, max_size=12),
       action=st.sampled_from(ACTIONS) | env_text)
def test_resource_agent_environment_parser(environ, action):
    environ = {key: value for key, value in environ.items() if key and "=" not in key}
    environ.pop("HA_LOGFILE", None)
    environ.pop("HA_DEBUGLOG", None)
    out, err = io.StringIO(), io.StringIO()
    rc = Typed.run([action] if action else [], environ=environ, stdout=out, stderr=err)
    assert rc in OCF_CODES
    if action != "meta-data":
        assert out.getvalue() == ""
    text = err.getvalue()
    assert "Traceback" not in text
    assert sum(line.startswith("ocf-exit-reason:") for line in text.splitlines()) <= 1
    if action == "stop":
        assert rc not in (2, 5, 6, 7)  # a stop never fails for environment reasons
    secret = environ.get("OCF_RESKEY_secret", "")
    if len(secret) >= 2:
        assert secret not in text.replace("OCF_RESKEY_secret", "")


class CappedDuration(fence.Duration):
    """Parses like every duration, but never makes the fuzzer sleep."""

    def parse(self, text):
        return min(super().parse(text), 0.01)


class NoFile(fence.String):
    """debug_file for the fuzzer: parsed, then refused, so no file is ever written."""

    def parse(self, text):
        super().parse(text)
        raise ValueError("no debug file while fuzzing")


class fence_fuzz(fence.FenceAgent):
    """Fuzz target: an in-memory switch."""

    ip = std.ip(required=True)
    ipport = std.ipport(default=623)
    username = std.username()
    password = std.password()
    plug = std.plug()
    plug_separator = std.plug_separator()
    separator = std.separator()
    method = std.method()
    lanplus = fence.Boolean(short="P", default=False)
    delay = CappedDuration(default="0")
    power_wait = CappedDuration(default="0")
    power_timeout = CappedDuration(default="1")
    stonith_status_sleep = CappedDuration(default="0")
    retry_on = fence.Integer(default=1, min=1, max=3)
    debug_file = NoFile(aliases=("debug",), short="D")

    def get_power_status(self, plug):
        if plug not in ("n1", "n2"):
            raise fence.FenceError(f"no plug {plug!r}")
        return self.__dict__.setdefault("_state", fence.ON)

    def set_power_status(self, plug, state):
        self._state = state

    def reboot_cycle(self, plug):
        self._state = fence.ON

    def get_list(self):
        return {"n1": "one", "n2": None}


STDIN_KEYS = ["action", "ip", "ipaddr", "ipport", "username", "login", "password", "passwd",
              "plug", "port", "plug_separator", "separator", "method", "lanplus", "delay",
              "power_wait", "power_timeout", "stonith_status_sleep", "retry_on", "verbose",
              "quiet", "nodename", "help", "version", "unknown", "option", "power-timeout"]
VALUES = st.sampled_from(["on", "off", "reboot", "status", "list", "list-status", "monitor",
                          "metadata", "validate-all", "n1", "n1,n2", "1", "0", "yes", "",
                          "-3", "1e9", "0.5s", "cycle", "198.51.100.1"]) | st.text(max_size=20)
LINES = st.one_of(
    st.tuples(st.sampled_from(STDIN_KEYS), VALUES).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.sampled_from(["", "# comment", "   ", "garbage without equals", "=novalue"]),
    st.text(max_size=30),
)


def check_fence_outcome(rc, out, err):
    assert rc in (0, 1, 2)
    assert "Traceback" not in err
    if rc == 1:
        assert out == ""  # a failure prints its one line on stderr, nothing else


@FAST
@given(lines=st.lists(LINES, max_size=12))
def test_fence_stdin_parser_structured(lines):
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    out, err = io.StringIO(), io.StringIO()
    rc = fence_fuzz.run([], stdin=data, environ={}, stdout=out, stderr=err)
    check_fence_outcome(rc, out.getvalue(), err.getvalue())
    if rc == 2:
        assert out.getvalue() == "Status: OFF\n"


@FAST
@given(data=st.binary(max_size=200))
def test_fence_stdin_parser_raw_bytes(data):
    out, err = io.StringIO(), io.StringIO()
    rc = fence_fuzz.run([], stdin=data, environ={}, stdout=out, stderr=err)
    check_fence_outcome(rc, out.getvalue(), err.getvalue())


ARGS = st.sampled_from(["-o", "--action", "--action=status", "-a", "--ip", "--ip=x", "-l",
                        "-p", "-n", "--plug=n1", "-P", "--lanplus", "-v", "-vv", "-q", "-h",
                        "-V", "--method=cycle", "-m", "-u", "--ipport=70000", "--delay=1",
                        "-C", "--bogus", "-", "--", "-Z", "status", "off", "n1", "x=y"])


@FAST
@given(argv=st.lists(ARGS | st.text(max_size=12), min_size=1, max_size=10))
def test_fence_argv_parser(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = fence_fuzz.run(argv, environ={}, stdout=out, stderr=err)
    check_fence_outcome(rc, out.getvalue(), err.getvalue())


# ---------------------------------------- a few whole-process runs of the real examples
SUBPROCESS = settings(max_examples=12, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


@SUBPROCESS
@given(data=st.binary(max_size=120))
def test_fence_example_process_with_garbage_stdin(data):
    result = run_fence_agent(SWITCH, stdin=data, timeout=30)
    assert result.rc in (0, 1, 2)
    assert "Traceback" not in result.stderr


@SUBPROCESS
@given(values=st.dictionaries(st.sampled_from(["path", "content", "CRM_meta_interval",
                                               "CRM_meta_timeout"]), env_text, max_size=4),
       action=st.sampled_from(["monitor", "validate-all", "meta-data", "bogus"]))
def test_example_service_process_with_arbitrary_parameters(values, action):
    # only read-only actions: a fuzzer must not create files where it likes
    env = execd_environment({}, action=action)
    env.update({"OCF_RESKEY_" + key: value.encode("utf-8", "surrogatepass").decode(
        "utf-8", "replace") for key, value in values.items()})
    result = run([SERVICE, action], env, timeout=30)
    assert result.rc in OCF_CODES
    assert "Traceback" not in result.stderr
    if action != "meta-data":
        assert result.stdout == ""


def test_the_fuzz_agents_do_not_touch_the_filesystem():
    """Guard for the tests above: no debug_file/password_script reachable by generation."""
    assert isinstance(fence_fuzz._params["debug_file"], NoFile)
    assert "password_script" not in fence_fuzz._params
    assert os.path.isfile(SERVICE)
