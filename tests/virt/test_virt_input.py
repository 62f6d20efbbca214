"""fence_ocfkit_virt on bad input: one clear line on stderr, exit 1, and nothing sent.

"Nothing sent" is observed, not assumed: the options point the agent at a TCP socket
(fence_virt transport) or a unix socket (libvirt transport) this test listens on, and
the test checks that nobody connected.
"""

import os
import secrets
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest
from virt_helpers import AGENT, fence, needs_root

FENCE_RNG = "/usr/share/cluster/relaxng/metadata.rng"

pytestmark = needs_root


@pytest.fixture
def trap(tmp_path):
    """Sockets that record whether an agent connected: TCP on loopback and a unix one."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    unix = socket.socket(socket.AF_UNIX)
    unix_path = str(tmp_path / "libvirt-sock")
    unix.bind(unix_path)
    unix.listen(8)
    unix.setblocking(False)

    class Trap:
        port = tcp.getsockname()[1]
        uri = f"test+unix:///default?socket={unix_path}"

        @staticmethod
        def touched():
            for sock in (tcp, unix):
                try:
                    sock.accept()[0].close()
                    return True
                except BlockingIOError:
                    pass
            return False

    yield Trap
    tcp.close()
    unix.close()


@pytest.fixture
def key(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(os.urandom(64))
    return str(path)


def assert_refused(result, *fragments):
    lines = result.stderr.strip().splitlines()
    assert result.rc == 1, result
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def virt_tcp(trap, **extra):
    options = {"action": "status", "transport": "fence_virt", "ip": "127.0.0.1",
               "ipport": trap.port, "plug": "okx-a"}
    options.update(extra)
    return options


@pytest.mark.parametrize("action", ["status", "off", "list", "monitor", "validate-all"])
def test_missing_key_file(trap, action):
    result = fence(virt_tcp(trap, action=action, key_file="/nonexistent/okx.key"))
    assert_refused(result, "cannot read key_file /nonexistent/okx.key",
                   "No such file or directory")
    assert not trap.touched()


def test_unreadable_key_file(trap, tmp_path):
    directory = tmp_path / "key.d"
    directory.mkdir()
    assert_refused(fence(virt_tcp(trap, key_file=str(directory))), "Is a directory")
    assert not trap.touched()


def test_key_unreadable_by_the_user_running_the_agent(trap, tmp_path):
    secret = tmp_path / "secret.key"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o600)
    os.chmod(tmp_path, 0o755)
    from ocfkit.testing import run
    from virt_helpers import ENV, stdin_of

    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", AGENT]
    result = run(argv, ENV, stdin=stdin_of(virt_tcp(trap, key_file=str(secret))))
    assert_refused(result, f"cannot read key_file {secret}", "Permission denied")
    assert not trap.touched()


def test_empty_key_file(trap, tmp_path):
    empty = tmp_path / "empty.key"
    empty.write_bytes(b"")
    assert_refused(fence(virt_tcp(trap, key_file=str(empty))), "is empty")
    assert not trap.touched()


def test_unknown_transport(trap, key):
    result = fence(virt_tcp(trap, transport="ssh", key_file=key))
    assert_refused(result, "transport", "'ssh' is not one of: libvirt, fence_virt")
    assert not trap.touched()


@pytest.mark.parametrize("uri", ["not a uri", "qemu:///system\tx", "://nothing"])
def test_malformed_uri(trap, uri):
    result = fence({"action": "status", "uri": uri, "plug": "okx-a"})
    assert_refused(result, "is not a libvirt URI")
    assert not trap.touched()


def test_uri_of_no_driver_fails_in_one_line():
    result = fence({"action": "status", "uri": "okxnosuchdriver:///x", "plug": "okx-a"})
    assert_refused(result, "libvirt (okxnosuchdriver:///x) failed connecting")


def test_options_of_the_other_transport_are_refused(trap, key):
    assert_refused(fence({"action": "status", "uri": trap.uri, "plug": "okx-a",
                          "key_file": key}),
                   "option 'key_file' applies to transport=fence_virt")
    assert_refused(fence(virt_tcp(trap, key_file=key, uri=trap.uri)),
                   "option 'uri' applies to transport=libvirt")
    assert not trap.touched()


@pytest.mark.parametrize("extra, message", [
    ({"multicast_address": "225.0.0.12"}, "either ip"),
    ({"interface": "lo"}, "interface applies to multicast only"),
])
def test_conflicting_fence_virt_options(trap, key, extra, message):
    assert_refused(fence(virt_tcp(trap, key_file=key, **extra)), message)
    assert not trap.touched()


@pytest.mark.parametrize("extra, message", [
    ({"multicast_address": "198.51.100.7"}, "is not a multicast address"),
    ({"multicast_address": "not-an-address"}, "is not an IP address"),
    ({"multicast_address": "225.0.0.12", "ip_family": "ipv6"}, "is not an ipv6 address"),
    ({"interface": "okxnosuch0"}, "no network interface named 'okxnosuch0'"),
])
def test_bad_multicast_options(key, extra, message):
    options = {"action": "status", "transport": "fence_virt", "key_file": key,
               "plug": "okx-a", **extra}
    assert_refused(fence(options), message)


@pytest.mark.parametrize("plug, extra, message", [
    ("okx\ta", {}, "control characters"),
    ("okx\x7fa", {}, "control characters"),
    ("x" * 64, {}, "longer than 63 bytes"),
    ("é" * 32, {}, "longer than 63 bytes"),
    ("okx-a", {"use_uuid": "1"}, "is not a UUID"),
])
def test_odd_domain_names_are_refused_before_anything_is_sent(trap, key, plug, extra, message):
    assert_refused(fence(virt_tcp(trap, key_file=key, plug=plug, **extra)), message)
    assert not trap.touched()


def test_control_characters_in_plug_on_the_command_line(trap):
    from ocfkit.testing import run
    from virt_helpers import ENV

    result = run([AGENT, "-o", "status", "--uri", trap.uri, "-n", "okx\na"], ENV)
    assert_refused(result, "control characters")
    assert not trap.touched()


@pytest.mark.parametrize("data, message", [
    (b"action=status\nthis is not an option line\n", "stdin line 6 is not key=value"),
    (b"action=status\nplug=okx-\xff\xfe\n", "stdin line 6 is not valid UTF-8"),
    (b"\x00\x01\x02garbage\xff", "not valid UTF-8"),
    (b"action=status\nplug=a\x00b\n", "NUL"),
])
def test_garbage_stdin(trap, key, data, message):
    # The agent is pointed at the trap first, so any traffic would be seen.
    prefix = (f"transport=fence_virt\nip=127.0.0.1\nipport={trap.port}\n"
              f"key_file={key}\n").encode()
    assert_refused(fence(None, raw=prefix + data), message)
    assert not trap.touched()


def test_action_needing_a_plug_without_one(trap, key):
    options = virt_tcp(trap, key_file=key)
    del options["plug"]
    assert_refused(fence(options), "needs a plug")
    assert not trap.touched()


def test_validate_all_accepts_a_good_configuration_without_traffic(trap, key):
    assert fence(virt_tcp(trap, key_file=key, action="validate-all")).rc == 0
    assert fence({"action": "validate-all", "uri": trap.uri, "plug": "okx-a"}).rc == 0
    assert not trap.touched()


def test_import_of_libvirt_only_for_the_libvirt_transport(trap, key):
    """The fence_virt transport never loads libvirt (≈20 ms of start-up it does not need)."""
    code = ("import sys\n"
            "from ocfkit.drivers.virt import VirtFence\n"
            f"sys.argv = ['x', '-o', 'validate-all', '--transport', 'fence_virt', '-k', {key!r},"
            " '-a', '127.0.0.1']\n"
            "rc = VirtFence.run(sys.argv[1:])\n"
            "assert rc == 0, rc\n"
            "assert 'libvirt' not in sys.modules, 'libvirt imported'\n")
    subprocess.run(["/usr/bin/python3", "-I", "-c", code], check=True)


# ------------------------------------------------------------------ metadata & pcs
def metadata():
    return subprocess.run([AGENT, "-o", "metadata"], capture_output=True, text=True,
                          check=True).stdout


def test_metadata_is_valid_and_checked_in():
    text = metadata()
    if os.path.exists(FENCE_RNG):
        lxml = pytest.importorskip("lxml.etree")
        schema = lxml.RelaxNG(lxml.parse(FENCE_RNG))
        assert schema.validate(lxml.fromstring(text.encode())), str(schema.error_log)
    root = ET.fromstring(text)
    names = [p.get("name") for p in root.iter("parameter")]
    for name in ("plug", "port", "use_uuid", "uri", "key_file", "ip", "ipaddr",
                 "ipport", "multicast_address", "hash", "auth", "timeout", "delay",
                 "transport", "interface", "retrans"):
        assert name in names, name
    actions = [a.get("name") for a in root.iter("action")]
    assert actions == ["on", "off", "reboot", "status", "list", "list-status", "monitor",
                       "metadata", "manpage", "validate-all"]
    checked_in = os.path.join(os.path.dirname(os.path.dirname(AGENT)), "metadata",
                              "fence_ocfkit_virt.xml")
    with open(checked_in) as handle:
        assert handle.read() == text, "regenerate metadata/fence_ocfkit_virt.xml"


@pytest.fixture
def installed(tmp_path):
    """The agent under a unique name in /usr/sbin, where Pacemaker looks for fence agents."""
    if os.geteuid() != 0 or not shutil.which("pcs"):
        pytest.skip("needs root and pcs")
    name = f"fence_okxvirt{secrets.token_hex(3)}"
    path = os.path.join("/usr/sbin", name)
    shutil.copy(AGENT, path)
    os.chmod(path, 0o755)
    yield name
    os.unlink(path)


def pcs(cib, *args):
    return subprocess.run(["pcs", "-f", str(cib), *args], capture_output=True, text=True,
                          timeout=120)


def test_pcs_stonith_create_accepts_both_transports_without_warning(installed, tmp_path, key):
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)
    for name, options in (
        ("f-libvirt", ["uri=qemu+ssh://root@hv1/system", "plug=okx-a"]),
        ("f-mcast", ["transport=fence_virt", f"key_file={key}", "plug=okx-a",
                     "pcmk_host_map=n1:okx-a"]),
        ("f-tcp", ["transport=fence_virt", f"key_file={key}", "ip=127.0.0.1",
                   "ipport=1229", "plug=okx-a", "timeout=10s"]),
    ):
        result = pcs(cib, "stonith", "create", name, installed, *options, "--agent-validation")
        assert result.returncode == 0, result.stderr
        assert "warning" not in (result.stdout + result.stderr).lower(), result.stderr
    assert cib.read_text().count(f'type="{installed}"') == 3


def test_pcs_agent_validation_reports_our_message(installed, tmp_path):
    cib = tmp_path / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)
    result = pcs(cib, "stonith", "create", "f1", installed, "transport=fence_virt",
                 "key_file=/nonexistent/okx.key", "--agent-validation")
    assert result.returncode != 0
    assert "cannot read key_file /nonexistent/okx.key" in result.stderr
