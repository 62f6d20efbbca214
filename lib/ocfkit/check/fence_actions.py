"""Run a fence agent the way pacemaker-fenced does (contract B1-B4, B8) and report what
breaks the contract.

Order: metadata (-o metadata and stdin action=metadata), unknown action, validate-all,
monitor, status (on a known and an unknown target), list, stdin tolerance, argv
precedence, garbage on stdin, the password hunt, then - unless ``--no-lifecycle`` - off,
on and reboot with status after each. The target is left in the power state it was
found in.
"""

import os
import secrets as random_tokens
import tempfile

from ocfkit.check import fence_metadata, output
from ocfkit.check.runner import run
from ocfkit.testing import EXECD_BASE

UNKNOWN_ACTION = "ocfkit-check-no-such-action"
UNKNOWN_TARGET = "ocfkit-check-no-such-target"
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_TRUE = {"1", "yes", "on", "true", "y"}


class FenceCheck:
    def __init__(self, path, options, report, lifecycle=True, timeout=60.0):
        self.path = path
        self.options = dict(options)
        self.report = report
        self.lifecycle = lifecycle
        self.timeout = timeout
        self.meta = None
        self.fake_password = "ocfkitFAKEpw" + random_tokens.token_hex(6)
        self.real_secrets = []
        self.env = {"PATH": EXECD_BASE["PATH"], "LC_ALL": "C",
                    "PCMK_service": "pacemaker-fenced"}

    # ------------------------------------------------------------ running
    def stdin_for(self, action, options, *, target=True):
        """key=value lines in the order pacemaker-fenced writes them (B2)."""
        lines = [f"action={action}"]
        target_name = self.meta.target_option() if self.meta else None
        if target and target_name and self.target_value(options) is not None:
            lines.append(f"nodename={self.target_value(options)}")
        lines += [f"{key}={value}" for key, value in options.items()]
        return ("\n".join(lines) + "\n").encode()

    def agent(self, label, *, action=None, options=None, argv=(), stdin=None, rc_ok=None):
        """Run once (stdin mode unless ``argv``), bounded, and apply the rules every run
        keeps: no traceback, no shell error, no password anywhere, within the timeout."""
        if stdin is None and not argv:
            stdin = self.stdin_for(action, self.options if options is None else options)
        watch = [self.fake_password] + self.real_secrets
        result = run(label, [self.path, *argv], self.env, stdin=stdin, timeout=self.timeout,
                     watch=watch if self.meta and self.meta.secrets() else ())
        self.report.runs.append(result)
        self._common_rules(result)
        return result

    def _common_rules(self, result):
        report, label = self.report, result.label
        if result.error:
            report.fail("agent-executable", f"{label}: {result.error}", result)
            return
        if result.timed_out:
            report.fail("timeout", f"{label}: still running after {result.timeout:g} s, "
                        "killed", result)
        traceback = output.traceback_summary(result.stderr)
        if traceback:
            report.fail("stderr-clean", f"{label}: Python traceback on stderr, ending "
                        f"{traceback!r}", result, detail=result.stderr, same=traceback)
        for line in output.shell_errors(result.stderr)[:2]:
            report.fail("stderr-clean", f"{label}: shell error on stderr: {line!r}", result,
                        same=line)
        for secret in [self.fake_password] + self.real_secrets:
            which = "the test password" if secret == self.fake_password else "the password"
            for stream in ("stdout", "stderr"):
                if secret in getattr(result, stream):
                    report.fail("password-leak", f"{label}: {which} appears on {stream}",
                                result, same=f"{which} {stream}")
        for _, argv in result.secret_argv:
            shown = " ".join(argv)
            for secret in [self.fake_password] + self.real_secrets:
                shown = shown.replace(secret, "****")
            report.fail("password-leak", f"{label}: a password is on the command line of a "
                        f"child process ({output.excerpt(shown, 80)!r}), readable by every "
                        "local user in /proc", result, same="argv " + argv[0])

    def target_value(self, options):
        name = self.meta.target_option() if self.meta else None
        if name is None:
            return None
        for key in (name, self.meta.partner(name)):
            if key and key in options:
                return options[key]
        return None

    # ------------------------------------------------------------ the checks
    def check(self):
        try:
            self._check()
        finally:
            self.report.timing_summary()

    def _check(self):
        if not os.path.isfile(self.path) or not os.access(self.path, os.X_OK):
            self.report.fail("agent-executable", f"{self.path} is not an executable file")
            return
        self.report.ok("agent-executable", "an executable file")
        self.meta = self._check_metadata()
        if self.meta is None:
            self.report.note("fence-metadata-exit", "no usable metadata: actions not "
                             "exercised")
            return
        for name in self.meta.secrets():
            for key in (name, self.meta.partner(name)):
                value = self.options.get(key) if key else None
                if value and len(value) >= 4 and value not in self.real_secrets:
                    self.real_secrets.append(value)
        self.report.secrets = [self.fake_password] + self.real_secrets
        self.report.title = f"fence agent {self.meta.name!r}"
        self._check_unknown_action()
        missing = [name for name in self.meta.required()
                   if name not in self.options and self.meta.partner(name) not in self.options]
        needs_target = (self.meta.target_option() is not None
                        and self.target_value(self.options) is None)
        if missing:
            for name in missing:
                self.report.skip("fence-validate", f"required option {name!r} not given "
                                 f"(-o {name}=VALUE): device checks skipped")
        elif not self.options:
            # Metadata may mark nothing required (fence_ipmilan's ip can come as plug),
            # but no device is reachable with no options at all.
            self.report.skip("fence-validate", "no options given (-o NAME=VALUE): "
                             "validate-all, monitor, list, status and power checks skipped")
            missing = ["(any)"]
        self._check_validate(missing)
        self._check_bad_input()
        self._check_secrets()
        if missing:
            return
        if self.meta.has("monitor"):
            result = self.agent("monitor", action="monitor", options=self._untargeted())
            self.report.expect("fence-monitor", result, (0,), result.label)
        self._check_list()
        state = self._check_status(needs_target)
        if state is None:
            return
        self._check_stdin(state)
        self._check_argv(state)
        if not self.lifecycle:
            self.report.skip("fence-power", "--no-lifecycle: nothing powered off or on")
            return
        self._check_power(state)

    def _untargeted(self):
        name = self.meta.target_option()
        drop = {name, self.meta.partner(name)} if name else set()
        return {k: v for k, v in self.options.items() if k not in drop}

    def _check_metadata(self):
        by_argv = self.agent("-o metadata", argv=["-o", "metadata"])
        by_stdin = self.agent("stdin action=metadata", stdin=b"action=metadata\n")
        for result in (by_argv, by_stdin):
            if result.rc is not None and result.rc != 0:
                self.report.fail("fence-metadata-exit", f"{result.label}: rc {result.rc}",
                                 result, detail=result.stderr)
        if by_argv.rc == 0 and by_stdin.rc == 0:
            if by_argv.stdout.strip() != by_stdin.stdout.strip():
                self.report.fail("fence-metadata-exit", "-o metadata and stdin "
                                 "action=metadata print different XML")
            else:
                self.report.ok("fence-metadata-exit", "-o metadata and stdin action=metadata: "
                               "rc 0, same XML")
        source = by_argv if by_argv.rc == 0 and by_argv.stdout.strip() else by_stdin
        if not source.stdout.strip():
            self.report.fail("fence-metadata-xml", "metadata wrote nothing on stdout")
            return None
        if source.wall > 5.0:
            self.report.fail("metadata-fast", f"metadata took {source.wall:.2f} s "
                             "(pacemaker-fenced allows 10 s for everything)", source)
        return fence_metadata.check(self.report, source.stdout, self.path)

    def _check_unknown_action(self):
        result = self.agent(f"action={UNKNOWN_ACTION}", action=UNKNOWN_ACTION)
        if result.rc is None:
            return
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if result.rc != 1:
            self.report.fail("fence-unknown-action", f"{result.label}: rc {result.rc}", result)
        elif not lines:
            self.report.fail("fence-unknown-action", f"{result.label}: rc 1 but nothing on "
                             "stderr says why", result)
        elif "unrecogni" not in result.stderr.lower():
            self.report.warn("fence-unknown-action", f"{result.label}: rc 1, but stderr does "
                             "not say 'unrecognized action', the words pacemaker-fenced "
                             "looks for", result)
        else:
            self.report.ok("fence-unknown-action", f"{result.label}: rc 1, "
                           f"{output.excerpt(lines[-1], 60)!r}", result)

    def _check_validate(self, missing):
        if not self.meta.has("validate-all"):
            self.report.skip("fence-validate", "validate-all not advertised")
            return
        if not missing:
            result = self.agent("validate-all (given options)", action="validate-all")
            self.report.expect("fence-validate", result, (0,), result.label)
        for name in self.meta.required()[:3]:
            options = {k: v for k, v in self.options.items()
                       if k not in (name, self.meta.partner(name))}
            result = self.agent(f"validate-all without required {name!r}",
                                action="validate-all", options=options)
            if result.rc == 0:
                self.report.fail("fence-validate", f"{result.label}: rc 0", result)
            elif result.rc is not None:
                self.report.ok("fence-validate", f"{result.label}: rc {result.rc}", result)

    def _check_status(self, needs_target):
        result = self.agent("status", action="status")
        if result.rc not in (0, 1, 2):
            if result.rc is not None:
                self.report.fail("fence-status", f"status: rc {result.rc} (0 on, 2 off, "
                                 "1 error are the only codes)", result)
            return None
        if result.rc == 1 and needs_target:
            self.report.skip("fence-status", f"status without a target failed: give one "
                             f"(-o {self.meta.target_option()}=TARGET) to check status and "
                             "power actions")
            return None
        if result.rc == 1:
            self.report.fail("fence-status", "status of the given target: rc 1 (error); "
                             "status and power checks skipped", result, detail=result.stderr)
            return None
        word = "ON" if result.rc == 0 else "OFF"
        if f"Status: {word}" not in result.stdout:
            self.report.warn("fence-status", f"status: rc {result.rc} but stdout does not say "
                             f"'Status: {word}' as fence-agents do", result)
        self.report.ok("fence-status", f"status: rc {result.rc} ({word.lower()})", result)
        name = self.meta.target_option()
        if name is None:
            return result.rc
        wrong = dict(self._untargeted(), **{name: UNKNOWN_TARGET})
        bad = self.agent(f"status of an unknown target {name}={UNKNOWN_TARGET}",
                         action="status", options=wrong)
        if bad.rc == 2:
            self.report.warn("fence-status", f"{bad.label}: rc 2 (off) -- an unknown target "
                             "reported off lets the cluster believe a live node is fenced",
                             bad)
        elif bad.rc not in (0, 1, None):
            self.report.fail("fence-status", f"{bad.label}: rc {bad.rc}", bad)
        return result.rc

    def _check_list(self):
        for action in ("list", "list-status"):
            if not self.meta.has(action):
                continue
            result = self.agent(action, action=action, options=self._untargeted())
            if not self.report.expect("fence-list", result, (0,), result.label):
                continue
            for line in result.stdout.splitlines():
                first = line.replace(";", ",").replace(" ", ",").split(",")[0]
                if first and not set(first) <= _NAME_OK:
                    self.report.warn("fence-list", f"{action}: target {first!r} has "
                                     "characters pacemaker-fenced drops (B8)", result)
                    break

    def _check_stdin(self, state):
        """Comments, blank lines, an unknown key and duplicates must not change status."""
        body = self.stdin_for("status", self.options).decode()
        variants = {
            "comment and blank lines": "# written by ocfkit check\n\n" + body + "\n# end\n",
            "an unknown key": "ocfkit_check_unknown_key=1\n" + body,
            "a duplicate action (last wins)": f"action={UNKNOWN_ACTION}\n" + body,
        }
        target = self.meta.target_option()
        if target and self.target_value(self.options) is not None:
            variants["a duplicate target (last wins)"] = \
                f"{target}={UNKNOWN_TARGET}\n" + body
        failed = False
        for what, text in variants.items():
            result = self.agent(f"status with {what} on stdin", stdin=text.encode())
            if result.rc is not None and result.rc != state:
                self.report.fail("fence-stdin", f"{result.label}: rc {result.rc}, plain "
                                 f"status gave {state}", result, detail=result.stderr)
                failed = True
        if not failed:
            self.report.ok("fence-stdin", "comments, blank lines, unknown keys, duplicates: "
                           "same status")

    def _argv_for(self, action, options):
        argv = []
        for key, value in options.items():
            option = self.meta.options.get(key)
            if option is None or not option.long and not option.short:
                return None, key
            flag = option.long or option.short
            if option.type == "boolean":
                if value.lower() in _TRUE:
                    argv.append(flag)
            elif option.long:
                argv.append(f"{flag}={value}")
            else:
                argv += [flag, value]
        action_option = self.meta.options.get("action")
        flag = (action_option.long if action_option and action_option.long else "--action")
        return [f"{flag}={action}"] + argv, None

    def _check_argv(self, state):
        argv, unknown = self._argv_for("status", self.options)
        if argv is None:
            self.report.skip("fence-argv", f"option {unknown!r} has no getopt: argv mode "
                             "not checked")
            return
        result = self.agent("status on the command line (stdin says action=metadata)",
                            argv=argv, stdin=b"action=metadata\n")
        if result.rc is None:
            return
        if "<resource-agent" in result.stdout:
            self.report.fail("fence-argv", f"{result.label}: the agent read stdin although "
                             "it had arguments", result)
        elif result.rc != state:
            self.report.fail("fence-argv", f"{result.label}: rc {result.rc}, via stdin "
                             f"{state}", result, detail=result.stderr)
        else:
            self.report.ok("fence-argv", f"{result.label}: rc {result.rc}, stdin ignored",
                           result)

    def _check_bad_input(self):
        garbage = (self.stdin_for("status", self.options)
                   + b"\xff\xfe\xfd not utf-8 \x80\n")
        result = self.agent("garbage (non-UTF-8) on stdin", stdin=garbage)
        if result.rc is None:
            return
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if result.rc not in (0, 1, 2):
            self.report.fail("fence-bad-input", f"{result.label}: rc {result.rc}", result)
        elif result.rc == 1 and not lines:
            self.report.fail("fence-bad-input", f"{result.label}: rc 1 with nothing on "
                             "stderr", result)
        elif not output.traceback_summary(result.stderr):
            self.report.ok("fence-bad-input", f"{result.label}: rc {result.rc}, no "
                           "traceback", result)

    def _check_secrets(self):
        names = self.meta.secrets()
        if not names:
            self.report.skip("password-leak", "the agent declares no password option")
            return
        options = {k: v for k, v in self.options.items()
                   if k not in names and self.meta.partner(k) not in names}
        options[names[0]] = self.fake_password
        if "verbose" in self.meta.options:
            options["verbose"] = "1"
        debug_file = None
        if "debug_file" in self.meta.options or "debug" in self.meta.options:
            handle, debug_file = tempfile.mkstemp(prefix="ocfkit-check-debug-")
            os.close(handle)
            options["debug_file" if "debug_file" in self.meta.options else "debug"] = debug_file
        before = self.report.count("FAIL")
        try:
            for action in ("validate-all", "monitor", "status"):
                if self.meta.has(action):
                    self.agent(f"{action} with a test password, verbose", action=action,
                               options=options)
            if debug_file:
                with open(debug_file, errors="replace") as handle:
                    if self.fake_password in handle.read():
                        self.report.fail("password-leak", "the test password appears in the "
                                         "debug file (debug_file option)")
        finally:
            if debug_file:
                os.unlink(debug_file)
        if not any(f.rule.id == "password-leak" and f.status == "FAIL"
                   for f in self.report.findings[before:]):
            self.report.ok("password-leak", f"test password in {names[0]!r} never on stdout, "
                           "stderr, the debug file or a child's command line")

    # ------------------------------------------------------------ power
    def _status(self, label):
        result = self.agent(label, action="status")
        return result

    def _power(self, action, expect_status, label=None):
        label = label or action
        result = self.agent(label, action=action)
        if not self.report.expect("fence-power", result, (0,), result.label):
            return False
        after = self._status(f"status after {label}")
        word = {0: "on", 2: "off"}[expect_status]
        return self.report.expect("fence-status", after, (expect_status,), after.label,
                                  why=f"the target is {word}: {expect_status}")

    def _check_power(self, state):
        if not (self.meta.has("off") and self.meta.has("on")):
            self.report.skip("fence-power", "on/off not both advertised")
            return
        try:
            if state == 0:
                if self._power("off", 2):
                    self._power("off", 2, "off (already off)")
                    self._power("on", 0)
            else:
                if self._power("off", 2, "off (already off)"):
                    self._power("on", 0)
            if self.meta.has("reboot"):
                self._power("reboot", 0)
        finally:
            self._restore(state)

    def _restore(self, state):
        now = self._status("status (before restoring the power state)")
        if now.rc == state:
            return
        action = "on" if state == 0 else "off"
        result = self.agent(f"{action} (restore the power state found at the start)",
                            action=action)
        if result.rc != 0:
            self.report.fail("fence-power", f"could not restore the target's power state: "
                             f"{result.label} {result.describe()}", result)
