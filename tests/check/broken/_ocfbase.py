"""A small, correct OCF 1.1 agent written without ocfkit, for the checker's tests.

Each file in this directory that is not prefixed with ``_`` subclasses ``Agent`` and
breaks exactly one rule; ``good_ocf`` breaks none. The resource is a state file.
Parameters: ``state`` (required), ``count`` (integer), ``mode`` (select) and ``binary``
(a program that must be on PATH: a missing one is "software not installed").
"""

import os
import shutil
import sys

METADATA = """<?xml version="1.0"?>
<resource-agent name="{name}" version="0.9.1">
  <version>{ocf_version}</version>
  <longdesc lang="en">A state file standing in for a service, for ocfkit's tests.</longdesc>
  <shortdesc lang="en">Test agent</shortdesc>
  <parameters>
    <parameter name="state" required="{required}" unique-group="state">
      <longdesc lang="en">Path of the state file.</longdesc>
      <shortdesc lang="en">State file</shortdesc>
      <content type="string"/>
    </parameter>
    <parameter name="count" reloadable="1">
      <longdesc lang="en">A number, checked by validate-all.</longdesc>
      <shortdesc lang="en">Count</shortdesc>
      <content type="integer" default="1"/>
    </parameter>
    <parameter name="mode">
      <longdesc lang="en">A choice, checked by validate-all.</longdesc>
      <shortdesc lang="en">Mode</shortdesc>
      <content type="select" default="fast"><option value="fast"/><option value="slow"/></content>
    </parameter>
    <parameter name="binary">
      <longdesc lang="en">A program that must be installed.</longdesc>
      <shortdesc lang="en">Program</shortdesc>
      <content type="string" default="true"/>
    </parameter>
  </parameters>
  <actions>
    <action name="start" timeout="{start_timeout}"/>
    <action name="stop" timeout="20s"/>
    <action name="monitor" timeout="20s" interval="10s" depth="0"/>
    <action name="meta-data" timeout="5s"/>
    <action name="validate-all" timeout="20s"/>
  </actions>
</resource-agent>
"""

OK, GENERIC, ARGS, UNIMPLEMENTED, PERM, INSTALLED, CONFIGURED, NOT_RUNNING = 0, 1, 2, 3, 4, 5, \
    6, 7


class Invalid(Exception):
    def __init__(self, rc, reason):
        super().__init__(reason)
        self.rc = rc


class Agent:
    name = "good_ocf"
    ocf_version = "1.1"
    required = "1"
    start_timeout = "20s"

    def __init__(self, action):
        self.action = action
        self.env = os.environ
        self.interval = int(self.env.get("OCF_RESKEY_CRM_meta_interval") or 0)

    # --------------------------------------------------------------- helpers
    def param(self, name, default=None):
        return self.env.get("OCF_RESKEY_" + name, default)

    def reason(self, text):
        sys.stderr.write(f"ocf-exit-reason:{text}\n")

    def metadata(self):
        return METADATA.format(name=self.name, ocf_version=self.ocf_version,
                               required=self.required, start_timeout=self.start_timeout)

    @property
    def state(self):
        return self.param("state")

    # --------------------------------------------------------------- checks
    def count(self):
        value = self.param("count", "1")
        if not value.lstrip("-").isdigit():
            raise Invalid(CONFIGURED, f"count {value!r} is not an integer")
        return int(value)

    def validate(self):
        if not self.state:
            raise Invalid(CONFIGURED, "required parameter state is not set")
        self.count()
        if self.param("mode", "fast") not in ("fast", "slow"):
            raise Invalid(CONFIGURED, f"mode {self.param('mode')!r} is not fast or slow")
        if not os.path.isdir(os.path.dirname(self.state) or "/"):
            raise Invalid(ARGS, f"directory of {self.state} does not exist here")
        if shutil.which(self.param("binary", "true")) is None:
            raise Invalid(INSTALLED, f"{self.param('binary', 'true')} is not installed")

    def running(self):
        return os.path.exists(self.state)

    # --------------------------------------------------------------- actions
    def start(self):
        if not self.running():
            with open(self.state, "w") as handle:
                handle.write("running\n")
        return OK

    def stop(self):
        if self.running():
            os.unlink(self.state)
        return OK

    def monitor(self):
        return OK if self.running() else NOT_RUNNING

    def validate_all(self):
        return OK

    def invalid_environment(self, error):
        """Contract A5: stop 0, probe 7, recurring monitor 1, others the validation code."""
        if self.action == "stop":
            return OK
        if self.action == "monitor":
            return NOT_RUNNING if self.interval == 0 else GENERIC
        return error.rc

    def unknown(self):
        sys.stderr.write(f"usage: {self.name} start|stop|monitor|meta-data|validate-all\n")
        return UNIMPLEMENTED

    def dispatch(self):
        if self.action == "meta-data":
            sys.stdout.write(self.metadata())
            return OK
        handler = {"start": self.start, "stop": self.stop, "monitor": self.monitor,
                   "validate-all": self.validate_all}.get(self.action)
        if handler is None:
            return self.unknown()
        try:
            self.validate()
        except Invalid as error:
            rc = self.invalid_environment(error)
            if rc not in (OK, NOT_RUNNING):
                self.reason(str(error))
            return rc
        return handler()


def main(cls):
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    sys.exit(cls(action).dispatch())
