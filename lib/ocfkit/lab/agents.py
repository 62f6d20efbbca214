"""Which agents the lab's cluster runs, and how the nodes get ocfkit's.

Two sets: ``ocfkit`` (ocf:ocfkit:VirtualIP, ocf:ocfkit:Apache, fence_ocfkit_ipmi) and
``reference`` (ocf:heartbeat:IPaddr2, ocf:heartbeat:apache, fence_ipmilan), with the
same parameters, so that drills compare like with like.

ocfkit's agents run the way a real install runs them: pacemaker-execd and
pacemaker-fenced execute the launcher through its first line (``/usr/bin/python3 -I``),
which imports ocfkit from where scripts/install-deps (or the .deb) installed it. The
launchers of this checkout are overlaid (read-only overlayfs, inside the nodes' mount
namespaces only) onto /usr/lib/ocf/resource.d/ocfkit/ and /usr/sbin/fence_ocfkit_*;
nothing is written to the host's system paths and no PYTHONPATH is involved. Launchers
installed on the host by the package are used when the checkout has none.
"""

import os
import shutil

from ocfkit.lab.topology import BMC_USER, LabError

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
OCF_ROOT = "/usr/lib/ocf/resource.d"
SBIN = "/usr/sbin"
PASSWORD_SCRIPT = "/etc/pacemaker/lab-bmc-password"
APACHE_CONF = "/etc/apache2/apache2.conf"
STATUS_URL = "http://localhost/server-status"
# Monitor intervals. The story's vip uses the admin's 30s. The webserver's is 10s, not
# the 60s of the story text, so the "kill Apache" drill is detected in seconds.
VIP_MONITOR = "30s"
WEB_MONITOR = "10s"


class Agent:
    def __init__(self, role, spec, source=None):
        self.role = role  # "vip", "web", "fence"
        self.spec = spec  # "ocf:ocfkit:VirtualIP" / "fence_ipmilan"
        self.source = source  # launcher in this checkout, or None (installed on the host)

    @property
    def name(self):
        return self.spec.rsplit(":", 1)[-1]

    @property
    def is_fence(self):
        return not self.spec.startswith("ocf:")

    def installed_path(self):
        if self.is_fence:
            return f"{SBIN}/{self.spec}"
        _cls, provider, agent = self.spec.split(":")
        return f"{OCF_ROOT}/{provider}/{agent}"


class AgentSet:
    def __init__(self, name, vip, web, fence):
        self.name = name
        self.vip, self.web, self.fence = vip, web, fence

    @property
    def all(self):
        return (self.vip, self.web, self.fence)

    def describe(self):
        return {agent.role: agent.spec for agent in self.all}

    def vip_args(self, lab):
        return ["ip=" + lab.vip, "cidr_netmask=24", "nic=eth0",
                "op", "monitor", f"interval={VIP_MONITOR}"]

    def web_args(self, lab):
        return [f"configfile={APACHE_CONF}", f"statusurl={STATUS_URL}",
                "op", "monitor", f"interval={WEB_MONITOR}"]

    def fence_args(self, lab, node):
        # lanplus with cipher suite 3: ipmi_sim rejects 17, which ipmitool picks by
        # default, and does not answer the cipher-suite query (peers.md).
        return [f"ip={node.bmc_ip}", f"username={BMC_USER}",
                f"password_script={PASSWORD_SCRIPT}", "lanplus=1", "cipher=3",
                f"pcmk_host_list={node.name}"]


def _checkout_launcher(kind, name):
    path = os.path.join(CHECKOUT, kind, name)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def agent_set(name):
    """The agents for ``name`` ("ocfkit" or "reference"); LabError if one is missing."""
    if name == "reference":
        chosen = AgentSet("reference", Agent("vip", "ocf:heartbeat:IPaddr2"),
                          Agent("web", "ocf:heartbeat:apache"),
                          Agent("fence", "fence_ipmilan"))
    elif name == "ocfkit":
        chosen = AgentSet("ocfkit",
                          Agent("vip", "ocf:ocfkit:VirtualIP",
                                _checkout_launcher("agents", "VirtualIP")),
                          Agent("web", "ocf:ocfkit:Apache",
                                _checkout_launcher("agents", "Apache")),
                          Agent("fence", "fence_ocfkit_ipmi",
                                _checkout_launcher("fence", "fence_ocfkit_ipmi")))
    else:
        raise LabError(f"--agents must be 'ocfkit' or 'reference', not {name!r}")
    missing = [agent.spec for agent in chosen.all
               if agent.source is None and not os.path.exists(agent.installed_path())]
    if missing:
        raise LabError(f"agents not available: {', '.join(missing)} (neither in this "
                       "checkout nor installed); try --agents reference")
    return chosen


def install_overlays(lab, agents):
    """Copy the checkout's launchers into overlay layers; [(layer, target)] for the nodes."""
    overlays = []
    ocf_layer, sbin_layer = f"{lab.root}/agents/ocf", f"{lab.root}/agents/sbin"
    for agent in agents.all:
        if agent.source is None:
            continue
        if agent.is_fence:
            destination = f"{sbin_layer}/{agent.spec}"
        else:
            _cls, provider, name = agent.spec.split(":")
            destination = f"{ocf_layer}/{provider}/{name}"
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(agent.source, destination)
        os.chmod(destination, 0o755)
    if os.path.isdir(ocf_layer):
        overlays.append((ocf_layer, OCF_ROOT))
    if os.path.isdir(sbin_layer):
        overlays.append((sbin_layer, SBIN))
    return overlays


def write_password_script(lab, node, password):
    """The BMC password for the fence agents, as a root-only script in the node's
    /etc/pacemaker: the CIB and every command line only ever name the script."""
    from ocfkit.lab.power import local_path

    path = local_path(node, PASSWORD_SCRIPT)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"#!/bin/sh\necho '{password}'\n")
    os.chmod(path, 0o700)
