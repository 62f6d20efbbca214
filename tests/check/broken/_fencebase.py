"""A small, correct fence agent written without ocfkit, for the checker's tests.

A power switch whose outlets are files ``<directory>/<plug>`` holding "on" or "off",
guarded by a password kept in ``<directory>/.password`` (a wrong one: exit 1, like a
BMC refusing the login). Each ``fence_*`` file in this directory subclasses ``Agent``
and breaks one rule; ``fence_good`` breaks none.
"""

import os
import sys

METADATA = """<?xml version="1.0" ?>
<resource-agent name="{name}" shortdesc="Test power switch">
{version}<longdesc>Outlets are files holding on or off, for ocfkit's tests.</longdesc>
<vendor-url>https://example.org</vendor-url>
<parameters>
  <parameter name="action" unique="0" required="1">
    <getopt mixed="-o, --action=[action]"/>
    <content type="string" default="reboot"/>
    <shortdesc lang="en">Fencing action</shortdesc>
  </parameter>
  <parameter name="directory" unique="0" required="1">
    <getopt mixed="-d, --directory=[dir]"/>
    <content type="string"/>
    <shortdesc lang="en">Directory of outlet files</shortdesc>
  </parameter>
  <parameter name="password" unique="0" required="0" obsoletes="passwd">
    <getopt mixed="-p, --password=[password]"/>
    <content type="string"/>
    <shortdesc lang="en">Login password</shortdesc>
  </parameter>
  <parameter name="passwd" unique="0" required="0" deprecated="1">
    <getopt mixed="-p, --password=[password]"/>
    <content type="string"/>
    <shortdesc lang="en">Login password</shortdesc>
  </parameter>
  <parameter name="plug" unique="0" required="1" obsoletes="port">
    <getopt mixed="-n, --plug=[id]"/>
    <content type="string"/>
    <shortdesc lang="en">Outlet</shortdesc>
  </parameter>
  <parameter name="port" unique="0" required="1" deprecated="1">
    <getopt mixed="-n, --plug=[id]"/>
    <content type="string"/>
    <shortdesc lang="en">Outlet</shortdesc>
  </parameter>
  <parameter name="verbose" unique="0" required="0">
    <getopt mixed="-v, --verbose"/>
    <content type="boolean"/>
    <shortdesc lang="en">Verbose mode</shortdesc>
  </parameter>
</parameters>
<actions>
  <action name="on" automatic="0"/>
  <action name="off"/>
  <action name="reboot"/>
  <action name="status"/>
  <action name="list"/>
  <action name="monitor"/>
  <action name="metadata"/>
  <action name="validate-all"/>
</actions>
</resource-agent>
"""

ALIASES = {"passwd": "password", "port": "plug", "meta-data": "metadata"}
SHORT = {"-o": "action", "-d": "directory", "-p": "password", "-n": "plug", "-v": "verbose"}
KNOWN = {"action", "directory", "password", "plug", "verbose", "nodename"}


class Failed(Exception):
    pass


class Agent:
    name = "fence_good"
    version_element = ""

    def __init__(self, options):
        self.options = options

    def metadata(self):
        return METADATA.format(name=self.name, version=self.version_element)

    # --------------------------------------------------------------- arguments
    @classmethod
    def parse_stdin(cls, data):
        options = {}
        for number, raw in enumerate(data.split(b"\n"), 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise Failed(f"stdin line {number} is not UTF-8") from None
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise Failed(f"stdin line {number} is not key=value")
            key = ALIASES.get(key.strip(), key.strip())
            if key not in KNOWN:
                sys.stderr.write(f"WARNING: ignoring unknown option {key!r}\n")
                continue
            options[key] = value          # the last duplicate wins
        return options

    @classmethod
    def parse_argv(cls, argv):
        options = {}
        args = list(argv)
        while args:
            arg = args.pop(0)
            if arg.startswith("--"):
                key, sep, value = arg[2:].partition("=")
                if key == "verbose":
                    value, sep = "1", "="
                if not sep:
                    raise Failed(f"option {arg} needs a value")
            elif arg in SHORT:
                key = SHORT[arg]
                value = "1" if key == "verbose" else (args.pop(0) if args else "")
            else:
                raise Failed(f"unknown argument {arg!r}")
            key = ALIASES.get(key, key)
            if key not in KNOWN:
                raise Failed(f"unknown option {arg!r}")
            options[key] = value
        return options

    @classmethod
    def read_options(cls, argv):
        if argv:
            return cls.parse_argv(argv)
        return cls.parse_stdin(sys.stdin.buffer.read())

    # --------------------------------------------------------------- the device
    def login(self):
        directory = self.options.get("directory")
        if not directory or not os.path.isdir(directory):
            raise Failed(f"no such directory: {directory}")
        with open(os.path.join(directory, ".password")) as handle:
            if handle.read().strip() != self.options.get("password", ""):
                raise Failed("login refused by the device")

    def outlet(self):
        plug = self.options.get("plug", "")
        path = os.path.join(self.options["directory"], plug)
        if not plug or "/" in plug or not os.path.isfile(path):
            raise Failed(f"no outlet {plug!r}")
        return path

    def get_status(self):
        with open(self.outlet()) as handle:
            return handle.read().strip()

    def set_status(self, state):
        with open(self.outlet(), "w") as handle:
            handle.write(state)

    # --------------------------------------------------------------- actions
    def status(self):
        state = self.get_status()
        print(f"Status: {state.upper()}")
        return 0 if state == "on" else 2

    def power(self, state):
        if self.get_status() != state:
            self.set_status(state)
        if self.get_status() != state:
            raise Failed(f"outlet did not turn {state}")
        return 0

    def unknown(self, action):
        sys.stderr.write(f"Failed: unrecognized action {action!r}\n")
        return 1

    def run(self):
        action = ALIASES.get(self.options.get("action", "reboot"),
                             self.options.get("action", "reboot"))
        if action == "metadata":
            sys.stdout.write(self.metadata())
            return 0
        if action not in ("on", "off", "reboot", "status", "list", "monitor", "validate-all"):
            return self.unknown(action)
        if not self.options.get("directory"):
            raise Failed("required option directory is missing")
        if action == "validate-all":
            return 0
        self.login()
        if action == "monitor":
            return 0
        if action == "list":
            for name in sorted(os.listdir(self.options["directory"])):
                if not name.startswith("."):
                    print(f"{name},")
            return 0
        if action == "status":
            return self.status()
        if action == "reboot":
            self.power("off")
            self.power("on")
            return 0
        return self.power(action)


def main(cls):
    try:
        sys.exit(cls(cls.read_options(sys.argv[1:])).run())
    except (Failed, OSError) as exc:
        sys.stderr.write(f"Failed: {exc}\n")
        sys.exit(1)
