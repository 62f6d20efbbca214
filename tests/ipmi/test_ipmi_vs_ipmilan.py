"""Side by side with fence-agents' fence_ipmilan (ipmitool, --lanplus --cipher=3) on the
same simulator: the same input must give the same exit code and the same final power
state, as the BMC's own journal records it. Each case also states the expected result,
so that two agents agreeing on a wrong answer still fail.

Known, deliberate differences (docs/fence_ocfkit_ipmi.md) are tested elsewhere:
a stdin line without "=" (fence_ipmilan ignores it, we refuse the input), privlvl too
low for power control (fence_ipmilan loops until Pacemaker kills it), nothing
listening (fence_ipmilan takes ~30 s to say so).
"""

import time

import pytest
from fixtures.ipmi_sim import ADMIN, OPERATOR
from ipmi_helpers import AGENT, IPMILAN, needs_ipmilan, run
from ocfkit.testing import fence_stdin

pytestmark = [needs_ipmilan, pytest.mark.slow]


def sim_options(sim, **extra):
    return sim.options(**extra)


def renamed(options, **names):
    """Use other (deprecated) names for some options."""
    options = dict(options)
    for old, new in names.items():
        options[new] = options.pop(old)
    return options


# (name, initial power, options(sim, tmp_path) or argv(sim), expected rc, final power)
CASES = [
    ("status on", "on", lambda s, t: s.options(action="status"), 0, "on"),
    ("status off", "off", lambda s, t: s.options(action="status"), 2, "off"),
    ("off", "on", lambda s, t: s.options(action="off"), 0, "off"),
    ("off when off", "off", lambda s, t: s.options(action="off"), 0, "off"),
    ("on", "off", lambda s, t: s.options(action="on"), 0, "on"),
    ("on when on", "on", lambda s, t: s.options(action="on"), 0, "on"),
    ("reboot", "on", lambda s, t: s.options(action="reboot"), 0, "on"),
    ("reboot when off", "off", lambda s, t: s.options(action="reboot"), 0, "on"),
    ("reboot method=cycle", "on", lambda s, t: s.options(action="reboot", method="cycle"),
     0, "on"),
    ("monitor", "on", lambda s, t: s.options(action="monitor"), 0, "on"),
    ("monitor when off", "off", lambda s, t: s.options(action="monitor"), 0, "off"),
    ("wrong password", "on", lambda s, t: s.options(action="off", password="nope"), 1, "on"),
    ("wrong user", "on", lambda s, t: s.options(action="off", username="mallory"), 1, "on"),
    ("deprecated ipaddr/login/passwd", "on",
     lambda s, t: renamed(s.options(action="off"), ip="ipaddr", username="login",
                          password="passwd"), 0, "off"),
    ("deprecated port + port_as_ip", "off",
     lambda s, t: renamed(s.options(action="on", port_as_ip="1"), ip="port"), 0, "on"),
    ("deprecated passwd_script", "on",
     lambda s, t: dict(renamed(s.options(action="status"), password="passwd_script"),
                       passwd_script=str(t / "pw")), 0, "on"),
    ("operator privilege", "on",
     lambda s, t: s.options(OPERATOR, action="off", privlvl="operator"), 0, "off"),
    ("cipher 1", "on", lambda s, t: s.options(action="status", cipher="1"), 0, "on"),
    ("IPMI v1.5", "off", lambda s, t: s.options(action="on", lanplus="0"), 0, "on"),
    ("delay", "on", lambda s, t: s.options(action="off", delay="1"), 0, "off"),
    ("verbose + debug_file", "on",
     lambda s, t: s.options(action="status", verbose="1", debug_file=str(t / "dbg")), 0, "on"),
    ("unknown action", "on", lambda s, t: s.options(action="explode"), 1, "on"),
    ("no address", "on",
     lambda s, t: {k: v for k, v in s.options(action="off").items() if k != "ip"}, 1, "on"),
    ("unknown option ignored", "on",
     lambda s, t: s.options(action="status", no_such_option="1"), 0, "on"),
    ("validate-all", "on", lambda s, t: s.options(action="validate-all"), 0, "on"),
    ("metadata", "on", lambda s, t: {"action": "metadata"}, 0, "on"),
]

ARGV_CASES = [
    ("short options status", "off",
     lambda s: ["-a", s.host, "-u", str(s.port), "-l", ADMIN[0], "-p", ADMIN[1], "-P",
                "-C", "3", "-o", "status"], 2, "off"),
    ("long options off", "on",
     lambda s: [f"--ip={s.host}", f"--ipport={s.port}", f"--username={ADMIN[0]}",
                f"--password={ADMIN[1]}", "--lanplus", "--cipher=3", "--action=off"],
     0, "off"),
    ("long options reboot, separate values", "on",
     lambda s: ["--ip", s.host, "--ipport", str(s.port), "--username", ADMIN[0],
                "--password", ADMIN[1], "--lanplus", "--cipher", "3", "--action", "reboot"],
     0, "on"),
    ("command line wrong password", "on",
     lambda s: ["-a", s.host, "-u", str(s.port), "-l", ADMIN[0], "-p", "nope", "-P",
                "-C", "3", "-o", "off"], 1, "on"),
    ("command line port as ip", "off",
     lambda s: ["-n", s.host, "--port-as-ip", "-u", str(s.port), "-l", ADMIN[0], "-p",
                ADMIN[1], "-P", "-C", "3", "-o", "on"], 0, "on"),
]


def settle(sim):
    """ipmi_sim finishes a power cycle a second after the command: let it."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(c == "set power 0" for c in sim.calls()[-1:]):
        time.sleep(0.1)


def compare(sim, initial, launch):
    outcomes = {}
    for name, agent in (("ours", AGENT), ("fence_ipmilan", IPMILAN)):
        sim.set_power(initial)
        sim.clear_journal()
        result = launch(agent)
        settle(sim)
        outcomes[name] = (result.rc, sim.power)
        outcomes[name + " result"] = result
    return outcomes


@pytest.mark.parametrize("name, initial, make, rc, power", CASES, ids=[c[0] for c in CASES])
def test_same_stdin_same_outcome(sim, tmp_path, name, initial, make, rc, power):
    script = tmp_path / "pw"
    script.write_text(f"#!/bin/sh\necho '{ADMIN[1]}'\n")
    script.chmod(0o700)
    stdin = fence_stdin(make(sim, tmp_path))
    outcome = compare(sim, initial, lambda agent: run(stdin=stdin, agent=agent))
    assert outcome["ours"] == outcome["fence_ipmilan"], outcome
    assert outcome["ours"] == (rc, power), outcome


@pytest.mark.parametrize("name, initial, make, rc, power", ARGV_CASES,
                         ids=[c[0] for c in ARGV_CASES])
def test_same_command_line_same_outcome(sim, name, initial, make, rc, power):
    argv = make(sim)
    outcome = compare(sim, initial, lambda agent: run(args=argv, agent=agent))
    assert outcome["ours"] == outcome["fence_ipmilan"], outcome
    assert outcome["ours"] == (rc, power), outcome
