"""fence_ocfkit_ipmi against a real BMC simulator (ipmi_sim): every action, both option
forms, the power journal the BMC kept, and bad input that must not reach the BMC."""

import os
import socket
import subprocess

import pytest
from fixtures.ipmi_sim import ADMIN, OPERATOR, VIEWER, IpmiSim
from ipmi_helpers import AGENT, ROOT, run

FENCE_RNG = "/usr/share/cluster/relaxng/metadata.rng"


def stderr_lines(result):
    return [line for line in result.stderr.splitlines() if line.strip()]


# ----------------------------------------------------------------------- actions
def test_status_reports_on_and_off(sim):
    result = run(sim.options(action="status"))
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    sim.set_power("off")
    result = run(sim.options(action="status"))
    assert (result.rc, result.stdout) == (2, "Status: OFF\n"), result
    assert sim.journal() == []  # status never changes power


def test_off_and_on_change_power_and_are_verified(sim):
    result = run(sim.options(action="off"))
    assert result.rc == 0, result
    assert sim.power == "off" and sim.transitions() == [("on", "off")]
    # the agent read the state back from the BMC after the command
    assert sim.calls()[-2:] == ["set power 0", "get power"]
    assert run(sim.options(action="off")).rc == 0  # already off: success, no command
    assert sim.transitions() == [("on", "off")]
    result = run(sim.options(action="on"))
    assert result.rc == 0, result
    assert sim.power == "on" and sim.transitions() == [("on", "off"), ("off", "on")]


def test_reboot_is_off_verified_then_on_verified(sim):
    result = run(sim.options(action="reboot"))
    assert result.rc == 0, result
    assert sim.transitions() == [("on", "off"), ("off", "on")]
    calls = sim.calls()
    off, on = calls.index("set power 0"), calls.index("set power 1")
    assert "get power" in calls[off + 1:on], "off must be read back before power on"
    assert calls[-1] == "get power", "on must be read back too"


def test_default_action_is_reboot(sim):
    options = sim.options()
    assert "action" not in options
    assert run(options).rc == 0
    assert sim.transitions() == [("on", "off"), ("off", "on")]


def test_reboot_of_a_machine_that_is_off_powers_it_on(sim):
    sim.set_power("off")
    assert run(sim.options(action="reboot")).rc == 0
    assert sim.transitions() == [("off", "on")]


def test_method_cycle_is_one_bmc_cycle_then_verified_on(sim):
    result = run(sim.options(action="reboot", method="cycle"))
    assert result.rc == 0, result
    # ipmi_sim implements cycle as off, then on a second later
    assert sim.transitions() == [("on", "off"), ("off", "on")]
    assert sim.power == "on"


def test_method_cycle_of_a_machine_that_is_off_powers_it_on(sim):
    sim.set_power("off")
    result = run(sim.options(action="reboot", method="cycle"))
    assert result.rc == 0, result
    assert sim.transitions() == [("off", "on")]


def test_monitor_needs_a_real_login(sim):
    assert run(sim.options(action="monitor")).rc == 0
    sim.set_power("off")
    assert run(sim.options(action="monitor")).rc == 0  # device healthy, target off
    result = run(sim.options(action="monitor", password="not-the-password"))
    assert result.rc == 1
    assert "wrong password" in result.stderr


def test_list_prints_no_targets(sim):
    for action in ("list", "list-status"):
        result = run(sim.options(action=action))
        assert (result.rc, result.stdout) == (0, ""), result


def test_command_line_forms(sim):
    short = ["-a", sim.host, "-u", str(sim.port), "-l", ADMIN[0], "-p", ADMIN[1], "-P",
             "-C", "3", "-o", "status"]
    result = run(args=short)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    long = [f"--ip={sim.host}", f"--ipport={sim.port}", f"--username={ADMIN[0]}",
            f"--password={ADMIN[1]}", "--lanplus", "--cipher=3", "--action=off"]
    assert run(args=long).rc == 0
    assert sim.transitions() == [("on", "off")]


def test_deprecated_names_and_port_as_ip(sim):
    options = {"ipaddr": sim.host, "ipport": sim.port, "login": ADMIN[0],
               "passwd": ADMIN[1], "action": "off"}
    assert run(options).rc == 0
    options = {"port": sim.host, "port_as_ip": "1", "ipport": sim.port, "login": ADMIN[0],
               "passwd": ADMIN[1], "action": "on", "nodename": "node1"}
    assert run(options).rc == 0
    assert sim.transitions() == [("on", "off"), ("off", "on")]


def test_plug_is_ignored_without_port_as_ip(sim):
    # pacemaker-fenced always sends plug=<node name>; with ip set it must not matter
    result = run(sim.options(action="status", plug="node1", nodename="node1"))
    assert result.rc == 0, result


def test_password_script(sim, tmp_path):
    script = tmp_path / "pw"
    script.write_text(f"#!/bin/sh\necho '{ADMIN[1]}'\n")
    script.chmod(0o700)
    options = sim.options(action="status", password_script=str(script))
    del options["password"]
    assert run(options).rc == 0
    script.write_text("#!/bin/sh\nexit 3\n")
    result = run(options)
    assert result.rc == 1 and "password_script" in result.stderr


@pytest.mark.parametrize("cipher", ["1", "2", "3"])
def test_cipher_suites_the_simulator_supports(sim, cipher):
    assert run(sim.options(action="status", cipher=cipher)).rc == 0


def test_cipher_17_refused_by_the_bmc_is_reported(sim):
    result = run(sim.options(action="status", cipher="17"))
    assert result.rc == 1
    assert "refused cipher suite 17" in result.stderr, result


def test_ipmi_v15(sim):
    result = run(sim.options(action="status", lanplus="0"))
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert run(sim.options(action="reboot", lanplus="0")).rc == 0
    assert sim.transitions() == [("on", "off"), ("off", "on")]
    result = run(sim.options(action="status", lanplus="0", password="wrong-one"))
    assert result.rc == 1 and "wrong password" in result.stderr


def test_ipv6_bmc(tmp_path):
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    with IpmiSim(tmp_path / "bmc", host="::1") as sim:
        assert run(sim.options(action="reboot")).rc == 0
        assert sim.transitions() == [("on", "off"), ("off", "on")]
        result = run(sim.options(action="status", lanplus="0"))
        assert result.rc == 1 and "IPv4" in result.stderr, result


def test_privilege_levels(sim):
    assert run(sim.options(OPERATOR, action="off", privlvl="operator")).rc == 0
    assert run(sim.options(VIEWER, action="status", privlvl="user")).rc == 2
    result = run(sim.options(VIEWER, action="on", privlvl="user"))
    assert result.rc == 1
    assert "insufficient privilege" in result.stderr, result
    assert sim.power == "off"


def test_bmc_key(tmp_path):
    with IpmiSim(tmp_path / "bmc", kg="K_g-4-test") as sim:
        key = b"K_g-4-test".hex()
        assert run(sim.options(action="status", hexadecimal_kg=key)).rc == 0
        result = run(sim.options(action="status", hexadecimal_kg="00" * 20))
        assert result.rc == 1
        assert "hexadecimal_kg" in result.stderr, result
        assert run(sim.options(action="status")).rc == 1


# --------------------------------------------------------------------- bad input
@pytest.fixture
def listener():
    """A UDP socket standing in for a BMC, to prove that nothing was sent to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def received(sock):
    try:
        sock.recv(4096)
        return True
    except OSError:
        return False


def base(sock, **extra):
    options = {"ip": "127.0.0.1", "ipport": sock.getsockname()[1], "username": "admin",
               "password": "pw", "action": "status"}
    options.update(extra)
    return options


@pytest.mark.parametrize("change, words", [
    ({"action": "explode"}, "unrecognized action"),
    ({"ip": ""}, "no BMC address"),
    ({"ipport": "six23"}, "ipport"),
    ({"ipport": "70000"}, "ipport"),
    ({"cipher": "three"}, "cipher"),
    ({"cipher": "0"}, "cipher"),
    ({"cipher": "99"}, "cipher"),
    ({"privlvl": "root"}, "privlvl"),
    ({"method": "pray"}, "method"),
    ({"lanplus": "maybe"}, "lanplus"),
    ({"hexadecimal_kg": "xyz"}, "hexadecimal_kg"),
    ({"password": "p" * 21}, "longer than 20 bytes"),
    ({"login_timeout": "soon"}, "login_timeout"),
    ({"password": "", "password_script": "/nonexistent/pw"}, "password_script"),
])
def test_bad_options_fail_with_one_line_and_no_traffic(listener, change, words):
    options = base(listener, **change)
    for action in (options["action"], "validate-all"):
        result = run(dict(options, action=action) if action == "validate-all" else options)
        assert result.rc == 1, result
        lines = stderr_lines(result)
        assert len(lines) == 1 and words in lines[0], result
        assert "Traceback" not in result.stderr
        if change.get("action"):
            break
    assert not received(listener)


@pytest.mark.parametrize("stdin", [
    b"\xff\xfe garbage\n",
    b"ip=127.0.0.1\naction=status\nthis line has no equals sign\n",
    b"\x00\x01\x02",
])
def test_garbage_on_stdin(listener, stdin):
    result = run(stdin=stdin + f"\nipport={listener.getsockname()[1]}\n".encode())
    assert result.rc == 1
    assert len(stderr_lines(result)) == 1 and "Traceback" not in result.stderr, result
    assert not received(listener)


def test_unknown_option_on_the_command_line(listener):
    result = run(args=["-a", "127.0.0.1", "--ipmitool-path=/bin/true", "-o", "status"])
    assert result.rc == 1 and "unknown option" in result.stderr
    assert not received(listener)


def test_unknown_option_on_stdin_is_ignored_with_a_warning(sim):
    result = run(sim.options(action="status", auth="md5", ipmitool_path="/usr/bin/ipmitool"))
    assert result.rc == 0, result
    assert "auth" in result.stderr and "ipmitool_path" in result.stderr


def test_validate_all_accepts_good_options_without_traffic(listener):
    result = run(base(listener, action="validate-all"))
    assert (result.rc, result.stderr) == (0, ""), result
    assert not received(listener)


# ---------------------------------------------------------------------- metadata
def test_metadata_is_valid_and_checked_in():
    result = run({"action": "metadata"})
    assert result.rc == 0
    with open(os.path.join(ROOT, "metadata", "fence_ocfkit_ipmi.xml")) as handle:
        assert handle.read() == result.stdout, "regenerate metadata/fence_ocfkit_ipmi.xml"
    if os.path.exists(FENCE_RNG):
        lxml = pytest.importorskip("lxml.etree")
        schema = lxml.RelaxNG(lxml.parse(FENCE_RNG))
        document = lxml.fromstring(result.stdout.encode())
        assert schema.validate(document), schema.error_log
    for name in ("ip", "ipaddr", "ipport", "username", "login", "password", "passwd",
                 "password_script", "passwd_script", "lanplus", "cipher", "privlvl",
                 "hexadecimal_kg", "method", "power_wait", "power_timeout", "login_timeout",
                 "delay", "retry_on", "verbose", "debug_file", "plug", "port", "port_as_ip"):
        assert f'name="{name}"' in result.stdout, name
    assert "pcmk_host_list" in result.stdout
    assert run({"action": "manpage"}).rc == 0


def test_metadata_and_validate_all_do_not_load_the_protocol():
    code = ("import sys; sys.argv = ['fence_ocfkit_ipmi', '-o', '{}', '-a', '127.0.0.1'];"
            "from ocfkit.drivers.ipmi import IpmiLan; rc = IpmiLan.run(sys.argv[1:]);"
            "loaded = [m for m in sys.modules if m.startswith(('pyipmi', 'cryptography', "
            "'socket', 'hashlib', 'ocfkit.ipmi.', 'ocfkit.drivers.ipmi_session'))];"
            "print(rc, sorted(loaded))")
    for action in ("metadata", "validate-all"):
        out = subprocess.run(["/usr/bin/python3", "-I", "-c", code.format(action)],
                             capture_output=True, text=True, check=True).stdout
        assert out.splitlines()[-1] == "0 []", out


def test_status_does_not_load_python_ipmi_or_cryptography(sim):
    code = ("import sys; from ocfkit.drivers.ipmi import IpmiLan;"
            f"rc = IpmiLan.run(['-a', '{sim.host}', '-u', '{sim.port}', '-l', '{ADMIN[0]}',"
            f" '-p', '{ADMIN[1]}', '-o', 'status']);"
            "print(rc, sorted(m for m in sys.modules if m.startswith(('pyipmi', "
            "'cryptography'))))")
    out = subprocess.run(["/usr/bin/python3", "-I", "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.splitlines()[-1] == "0 []", out


def test_ocfkit_check_passes(sim):
    options = []
    for key, value in sim.options().items():
        options += ["-o", f"{key}={value}"]
    result = subprocess.run(["/usr/bin/python3", "-m", "ocfkit", "check", "--fence", *options,
                             AGENT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout
    assert sim.transitions()[-2:] == [("on", "off"), ("off", "on")]  # it really fenced
