"""fence_ocfkit_ipmi: power fencing through a BMC over IPMI (a drop-in for fence_ipmilan).

The agent is declarations plus three calls (status, set power, cycle); ocfkit.fence
does the rest (option parsing, reboot composition with verified off, exit codes).
The BMC conversation lives in ocfkit.drivers.ipmi_session and ocfkit.ipmi, imported
only by actions that talk to the BMC: metadata and validate-all never load them.
"""

from ocfkit import fence
from ocfkit.fence import std

LONGDESC = """\
fence_ocfkit_ipmi powers a machine off, on or through a cycle by talking to its BMC
over IPMI: IPMI v2.0 RMCP+ ("lanplus", the default, cipher suite 3) or IPMI v1.5
(lanplus=0). It accepts fence_ipmilan's options with the same names and meanings,
speaks the protocol itself instead of running ipmitool (the password never appears on
any command line), resends lost packets and logs in again if the BMC restarts, and
verifies with the BMC that power is really off before it reports success. The device
controls a single machine: set pcmk_host_list (or pcmk_host_map) to the node it fences.
Its list action prints no targets, so without pcmk_host_list Pacemaker will not use it
for any node."""


class IpmiLan(fence.FenceAgent):
    """Fence agent for IPMI over LAN (RMCP+ lanplus by default)"""

    agent_name = "fence_ocfkit_ipmi"
    longdesc = " ".join(LONGDESC.split())
    vendor_url = "https://www.intel.com/content/www/us/en/products/docs/servers/ipmi/" \
                 "ipmi-second-gen-interface-spec-v2-rev1-1.html"
    needs_plug = False  # one machine per BMC; plug only carries the address (port_as_ip)

    ip = std.ip(shortdesc="IP address or hostname of the BMC")
    ipport = std.ipport(default="623")
    username = std.username()
    password = std.password()
    password_script = std.password_script()
    lanplus = fence.Boolean(name="lanplus", short="P", default=True,
                            shortdesc="Use Lanplus (IPMI v2.0 RMCP+) to improve security of "
                                      "connection (default on; 0 for IPMI v1.5)")
    cipher = fence.Integer(name="cipher", short="C", metavar="cipher", default="3", min=0,
                           max=255, shortdesc="Ciphersuite to use (same as ipmitool -C "
                                              "parameter): 1, 2, 3, 15, 16 or 17")
    privlvl = fence.Select(("callback", "user", "operator", "administrator"),
                           name="privlvl", short="L", metavar="level",
                           default="administrator", shortdesc="Privilege level on IPMI device")
    hexadecimal_kg = fence.String(name="hexadecimal_kg", metavar="key", secret=True,
                                  shortdesc="Hexadecimal-encoded Kg key for IPMIv2 "
                                            "authentication")
    method = std.method()
    plug = std.plug(metavar="ip", shortdesc="IP address or hostname of fencing device "
                                            "(together with --port-as-ip)")
    port_as_ip = fence.Boolean(name="port_as_ip", default=False,
                               shortdesc='Make "port/plug" to be an alias to IP address')

    # ------------------------------------------------------------------ options
    @property
    def address(self):
        if self.port_as_ip and self.plug:
            return self.plug.strip()
        return (self.ip or "").strip()

    def validate(self):
        if not self.address:
            if self.plug:
                raise fence.FenceError("no BMC address: set ip, or port_as_ip=1 to use plug "
                                       "as the address")
            raise fence.FenceError("no BMC address: set ip (or plug with port_as_ip=1)")
        if self.lanplus:
            from ocfkit.ipmi import CIPHER_SUITE_IDS

            if self.cipher not in CIPHER_SUITE_IDS:
                supported = ", ".join(map(str, CIPHER_SUITE_IDS))
                why = " (no authentication: refused on purpose)" if self.cipher == 0 else ""
                raise fence.FenceError(f"option 'cipher': cipher suite {self.cipher} is not "
                                       f"supported{why}; use one of {supported}")
        elif ":" in self.address:
            raise fence.FenceError("lanplus=0 (IPMI v1.5, through python-ipmi) supports "
                                   "IPv4 addresses and host names only")
        limit = 20 if self.lanplus else 16
        if len((self.password or "").encode("utf-8")) > limit:
            raise fence.FenceError(f"the password is longer than {limit} bytes, the IPMI "
                                   f"{'v2.0' if self.lanplus else 'v1.5'} limit")
        if len((self.username or "").encode("utf-8")) > 16:
            raise fence.FenceError("option 'username': longer than 16 bytes, the IPMI limit")
        self.kg = None
        if self.hexadecimal_kg:
            text = self.hexadecimal_kg.strip()
            if text[:2].lower() == "0x":
                text = text[2:]
            try:
                key = bytes.fromhex(text)
            except ValueError:
                key = b""
            if not key or len(key) > 20:
                raise fence.FenceError("option 'hexadecimal_kg': expected up to 40 "
                                       "hexadecimal digits")
            # an all-zero K_G means "no K_G" (IPMI v2.0 section 13.31): the password is used
            self.kg = key if any(key) else None

    # ------------------------------------------------------------------ device
    def connect(self):
        from ocfkit.drivers.ipmi_session import BmcSession

        self.bmc = BmcSession(host=self.address, port=self.ipport, username=self.username,
                              password=self.password, lanplus=self.lanplus,
                              cipher=self.cipher, privilege=self.privlvl, kg=self.kg,
                              login_timeout=self.login_timeout, log=self.log)
        try:
            self.bmc.open()
        except BaseException:
            self.bmc.close()
            raise

    def disconnect(self):
        self.bmc.close()

    def get_power_status(self, plug):
        return fence.ON if self.bmc.power_is_on() else fence.OFF

    def set_power_status(self, plug, state):
        self.bmc.power(state)

    def reboot_cycle(self, plug):
        # Many BMCs refuse a power cycle while the chassis is off (fence-agents #596);
        # the intent of a reboot is then simply "power on".
        if not self.bmc.power_is_on():
            self.log.info("chassis is off: powering on instead of cycling")
            self.bmc.power("on")
            return
        self.bmc.power("cycle")

    def monitor(self):
        # A login proves address and credentials; reading the chassis status proves the
        # BMC can still see the power controller (the library's default would list).
        self.bmc.power_is_on()

    def get_list(self):
        # One machine per BMC and no way to ask it which: list nothing, so that Pacemaker
        # uses this device only for the nodes in pcmk_host_list / pcmk_host_map.
        return {}
