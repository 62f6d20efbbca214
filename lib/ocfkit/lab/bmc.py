"""The BMCs: one OpenIPMI ``ipmi_sim`` per node, on the management network.

All simulators run in the lab's "bmc" network namespace, each bound to its node's BMC
address (203.0.113.11x, UDP 623). Their ``chassis_control`` hook is this module:
``ipmi_sim`` runs ``sh -c "HOOK CONFIG get power"`` / ``"HOOK CONFIG set power 0|1"``
synchronously, and the hook really pulls or restores the node's power
(``ocfkit.lab.power``), then appends what happened to the BMC's journal, so a drill
can show that fencing went through IPMI all the way to the power cord.

Powering on delays the node's cluster start by ``boot_delay`` (lab-notes trap 1: a
fenced node that is back before the survivors' token + consensus expired reads "We
were allegedly just fenced" and shuts down).
"""

import json
import os
import sys
import time

from ocfkit.deadline import Deadline
from ocfkit.lab import netns, power
from ocfkit.lab.topology import BMC_USER, TOKEN_MS, Lab, LabError
from ocfkit.process import cmdline, spawn_daemon

IPMI_PORT = 623


def bmc_dir(lab, node):
    return f"{lab.root}/bmc/{node.name}"


def journal_path(lab, node):
    return f"{bmc_dir(lab, node)}/journal.jsonl"


def prepare(lab, node, password, boot_delay):
    directory = bmc_dir(lab, node)
    os.makedirs(f"{directory}/state", exist_ok=True)
    os.chmod(directory, 0o700)
    hook = f"{directory}/hook.json"
    with open(hook, "w") as handle:
        json.dump({"lab": lab.name, "nodes": lab.node_count, "token_ms": lab.token_ms,
                   "state_root": os.path.dirname(lab.root), "node": node.name,
                   "boot_delay": boot_delay}, handle)
    guid = (node.name.encode().hex() + "0" * 32)[:32]
    # The password lives in this 0600 file only; the fence agents get it through a
    # password script, never on a command line.
    fd = os.open(f"{directory}/lan.conf", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f'name "{lab.name}-{node.name}-bmc"\n'
            "set_working_mc 0x20\n"
            "  startlan 1\n"
            f"    addr {node.bmc_ip} {IPMI_PORT}\n"
            "    priv_limit admin\n"
            "    allowed_auths_callback none md2 md5 straight\n"
            "    allowed_auths_user none md2 md5 straight\n"
            "    allowed_auths_operator none md2 md5 straight\n"
            "    allowed_auths_admin none md2 md5 straight\n"
            f"    guid {guid}\n"
            "  endlan\n"
            f'  chassis_control "{power.PYTHON} -I -m ocfkit.lab.bmc {hook}"\n'
            f'  user 2 true "{BMC_USER}" "{password}" admin 10 md2 md5 straight\n')
    with open(f"{directory}/bmc.emu", "w") as handle:
        handle.write("mc_setbmc 0x20\n"
                     "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\n"
                     "sel_enable 0x20 50 0x0a\n"
                     "mc_enable 0x20\n")


def _argv(lab, node):
    directory = bmc_dir(lab, node)
    return ["ipmi_sim", "-n", "-c", f"{directory}/lan.conf", "-f", f"{directory}/bmc.emu",
            "-s", f"{directory}/state"]


def pid(lab, node):
    try:
        with open(f"{bmc_dir(lab, node)}/pid") as handle:
            value = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return value if cmdline(value) == _argv(lab, node) else None


def _bound(pid_, address, port):
    """Is ``pid_`` listening on UDP address:port (as seen in its network namespace)?"""
    a, b, c, d = (int(x) for x in address.split("."))
    needle = f"{d:02X}{c:02X}{b:02X}{a:02X}:{port:04X}"
    try:
        with open(f"/proc/{pid_}/net/udp") as handle:
            return any(line.split()[1] == needle for line in list(handle)[1:])
    except (OSError, IndexError):
        return False


def start(lab, node, timeout=10.0):
    if pid(lab, node):
        return
    directory = bmc_dir(lab, node)
    argv = ["nsenter", f"--net={netns.NETNS_DIR}/{lab.bmc.netns}", "--", *_argv(lab, node)]
    # nsenter without --pid execs its command: the PID is ipmi_sim's.
    new = spawn_daemon(argv, env=power.ENV, cwd=directory, stdout=f"{directory}/ipmi_sim.log",
                       stderr=f"{directory}/ipmi_sim.log")
    with open(f"{directory}/pid", "w") as handle:
        handle.write(f"{new}\n")
    if not Deadline(timeout).poll(lambda: _bound(new, node.bmc_ip, IPMI_PORT),
                                  interval=0.01, max_interval=0.1):
        raise LabError(f"the BMC of {node.name} (ipmi_sim) did not start: see "
                       f"{directory}/ipmi_sim.log")


def journal(lab, node):
    """The BMC's power journal: [{"t", "mono", "action", "was_on", "result"}]."""
    entries = []
    try:
        with open(journal_path(lab, node)) as handle:
            for line in handle:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return entries


def _record(lab, node, action, was_on, result):
    entry = {"t": time.time(), "mono": time.monotonic(), "node": node.name,
             "action": action, "was_on": was_on, "result": result}
    with open(journal_path(lab, node), "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def hook(argv):
    """ipmi_sim's chassis_control: ``CONFIG get power`` / ``CONFIG set power 0|1``."""
    if len(argv) < 3:
        return 1
    with open(argv[0]) as handle:
        config = json.load(handle)
    lab = Lab(config["lab"], config["nodes"], root=config["state_root"],
              token_ms=config.get("token_ms", TOKEN_MS))
    node = lab.node(config["node"])
    verb, item = argv[1], argv[2]
    value = argv[3].strip('"') if len(argv) > 3 else ""
    if verb == "get":
        if item == "power":
            print(f"power:{1 if power.is_on(node) else 0}")
        return 0
    if verb != "set":
        return 1
    was_on = power.is_on(node)
    try:
        if item == "power" and value == "0" or item == "shutdown":
            power.power_off(lab, node)
            _record(lab, node, "off", was_on, "done")
        elif item == "power" and value == "1":
            power.power_on(lab, node, boot_delay=config["boot_delay"])
            _record(lab, node, "on", was_on, "done")
        elif item == "reset":
            power.power_off(lab, node)
            _record(lab, node, "off", was_on, "done")
            power.power_on(lab, node, boot_delay=config["boot_delay"])
            _record(lab, node, "on", False, "done")
        return 0
    except LabError as exc:
        _record(lab, node, f"{item}={value}", was_on, f"failed: {exc}")
        print(f"power hook: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(hook(sys.argv[1:]))
