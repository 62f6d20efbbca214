"""Run an OCF resource agent through every state Pacemaker can put it in (A2-A6).

Order: meta-data (root, no parameters; then as nobody), unknown action, validate-all
with good and bad parameters, probes on a broken environment, then - unless
``--no-lifecycle`` - stop/monitor of a stopped resource, start twice, monitors,
promote/demote, reload-agent, notify, stop twice, monitor after stop. Whatever the
checker started it stops again, even when interrupted.
"""

import os
import shutil
import tempfile

from ocfkit.check import ocf_metadata, output
from ocfkit.check.runner import run
from ocfkit.testing import EXECD_BASE, execd_environment

FAILURE_CODES = (1, 2, 4, 5, 6, 9)
BAD_NUMBER = "ocfkit-check-not-a-number"
BAD_CHOICE = "ocfkit-check-no-such-option"
MAX_BAD_SCENARIOS = 4
METADATA_BOUND = 20.0      # the controller's meta-data fetch timeout
METADATA_SLOW = 1.0


class OcfCheck:
    def __init__(self, path, options, report, lifecycle=True):
        self.path = path
        self.options = options
        self.report = report
        self.lifecycle = lifecycle
        self.meta = None
        self.instance = f"ocfkit-check-{os.getpid()}"
        self.agent_type = os.path.basename(path)
        parent = os.path.basename(os.path.dirname(path))
        grandparent = os.path.basename(os.path.dirname(os.path.dirname(path)))
        self.provider = parent if grandparent == "resource.d" else "ocfkit-check"
        self.started = False
        self.given_valid = True     # until validate-all says otherwise
        # Parameter values that look like secrets: masked in the report, hunted in output.
        self.secrets = [value for name, value in options.items()
                        if ("passw" in name.lower() or "secret" in name.lower())
                        and len(value) >= 4]
        report.secrets = list(self.secrets)

    # ------------------------------------------------------------ running
    def env(self, action, params, *, interval_ms=None, timeout_s=20.0, check_level=None,
            extra=None):
        return execd_environment(params, action=action, instance=self.instance,
                                 agent_type=self.agent_type, provider=self.provider,
                                 interval_ms=interval_ms, timeout_ms=int(timeout_s * 1000),
                                 check_level=check_level, extra=extra)

    def agent(self, label, action, params, *, interval_ms=None, timeout_s=None,
              check_level=None, extra=None, env=None, user=None, shell_errors_ok=False):
        """Run one action and apply the rules every run must keep."""
        if timeout_s is None:
            timeout_s = self._timeout_for(action, interval_ms)
        if env is None:
            env = self.env(action, params, interval_ms=interval_ms, timeout_s=timeout_s,
                           check_level=check_level, extra=extra)
        result = run(label, [self.path, action], env, timeout=timeout_s, user=user)
        self.report.runs.append(result)
        self._common_rules(result, action, interval_ms, shell_errors_ok)
        return result

    def _timeout_for(self, action, interval_ms):
        if self.meta is None:
            return 20.0
        if action == "monitor":
            for spec in self.meta.actions:
                if spec.name == "monitor" and (interval_ms or 0) in (spec.interval_ms, 0) \
                        and spec.timeout_ms:
                    return spec.timeout_ms / 1000.0
        return self.meta.timeout_s(action)

    def _common_rules(self, result, action, interval_ms, shell_errors_ok):
        report, label = self.report, result.label
        if result.error:
            report.fail("agent-executable", f"{label}: {result.error}", result)
            return
        if result.timed_out:
            report.fail("timeout", f"{label}: still running after {result.timeout:g} s, "
                        "killed (Pacemaker SIGKILLs the process group and counts a failure)",
                        result)
        if action != "meta-data" and result.stdout.strip():
            text = f"{label}: wrote to stdout: {output.excerpt(result.stdout, 80)!r}"
            if action.startswith("ocfkit-check-"):
                report.warn("stdout-clean", text + " (usage text belongs on stderr)", result)
            else:
                report.fail("stdout-clean", text, result, detail=result.stdout,
                            same=result.stdout)
        traceback = output.traceback_summary(result.stderr)
        if traceback:
            report.fail("stderr-clean", f"{label}: Python traceback on stderr, ending "
                        f"{traceback!r}", result, detail=result.stderr, same=traceback)
        if not shell_errors_ok:
            for line in output.shell_errors(result.stderr)[:2]:
                report.fail("stderr-clean", f"{label}: shell error on stderr: {line!r}",
                            result, detail=result.stderr, same=line)
        for problem in output.exit_reason_problems(result.stderr):
            report.fail("exit-reason", f"{label}: {problem}", result, detail=result.stderr,
                        same=problem)
        for secret in self.secrets:
            for stream in ("stdout", "stderr"):
                if secret in getattr(result, stream):
                    report.fail("password-leak", f"{label}: a password parameter's value "
                                f"appears on {stream} (Pacemaker logs it)", result,
                                same=stream)
        probe = action == "monitor" and not interval_ms
        if (result.rc in FAILURE_CODES and not result.exit_reasons and action != "meta-data"
                and not (probe and result.rc == 5)):
            report.fail("exit-reason-missing", f"{label}: rc {result.rc} with no "
                        "ocf-exit-reason line: pcs status shows no cause",
                        result, detail=result.stderr, same=result.rc)
        if result.group_left:
            report.warn("process-group", f"{label}: left process(es) {result.group_left} in "
                        "the agent's process group", result, same="group")
        if result.pipes_held:
            report.warn("process-group", f"{label}: a child kept stdout/stderr open after "
                        "the agent exited (daemons should detach from the agent's pipes)",
                        result, same="pipes")

    # ------------------------------------------------------------ the checks
    def check(self):
        try:
            self._check()
        finally:
            self.report.timing_summary()

    def _check(self):
        if not self._check_file():
            return
        self.meta = self._check_metadata()
        if self.meta is None:
            self.report.note("metadata-exit", "no usable metadata: actions not exercised")
            return
        self.report.title = (f"OCF resource agent {self.meta.name!r}, agent version "
                             f"{self.meta.agent_version or '?'}, metadata OCF "
                             f"{self.meta.ocf_version or '1.0 (no <version>)'}")
        self._check_nobody()
        self._check_unknown_action()
        good = self._good_params()
        bad = self._bad_scenarios(good)
        if self.meta.has("validate-all"):
            self._check_validate(good, bad)
        else:
            self.report.skip("validate-ok", "validate-all not advertised (optional)")
        self._check_broken_probes(good, bad)
        if good is None:
            return
        if not self.given_valid:
            self.report.note("validate-ok", "the agent rejects the given parameters: the "
                             "lifecycle is skipped (check the -o values)")
            return
        running = self._initial_probe(good)
        if not self.lifecycle:
            for rule in ("stop-stopped", "start", "stop", "monitor-running"):
                self.report.skip(rule, "--no-lifecycle: nothing started or stopped")
            return
        try:
            if running and not self._stop_preexisting(good):
                return
            self._check_stopped(good, bad)
            self._check_running(good)
        finally:
            self._cleanup(good)

    def _check_file(self):
        if not os.path.isfile(self.path):
            self.report.fail("agent-executable", f"{self.path} is not a file")
            return False
        if not os.access(self.path, os.X_OK):
            self.report.fail("agent-executable", f"{self.path} is not executable (mode "
                             f"{os.stat(self.path).st_mode & 0o7777:o}; Pacemaker needs 0755)")
            return False
        self.report.ok("agent-executable", "an executable file")
        return True

    def _metadata_env(self):
        # What the controller gives meta-data: no instance, no OCF_RESKEY_* at all.
        env = {k: v for k, v in EXECD_BASE.items() if not k.startswith("OCF_RESKEY_")}
        env.update(OCF_RESOURCE_TYPE=self.agent_type, OCF_RESOURCE_PROVIDER=self.provider)
        return env

    def _check_metadata(self):
        result = self.agent("meta-data (no parameters)", "meta-data", {},
                            env=self._metadata_env(), timeout_s=METADATA_BOUND)
        self.metadata_run = result
        if result.rc is None:
            if not result.error:
                self.report.fail("metadata-exit", "meta-data did not finish in "
                                 f"{METADATA_BOUND:g} s", result)
            return None
        if result.rc != 0:
            self.report.fail("metadata-exit", f"meta-data exited {result.rc} with no "
                             "OCF_RESKEY_* set", result, detail=result.stderr)
        else:
            self.report.ok("metadata-exit", "meta-data exits 0 with no parameters", result)
        if not result.stdout.strip():
            self.report.fail("metadata-xml", "meta-data wrote nothing on stdout", result)
            return None
        meta = ocf_metadata.check(self.report, result.stdout, self.path)
        limit = 5.0
        if meta is not None and meta.action("meta-data") and \
                meta.action("meta-data").timeout_ms:
            limit = min(limit, meta.action("meta-data").timeout_ms / 1000.0)
        if result.wall > limit:
            self.report.fail("metadata-fast", f"meta-data took {result.wall:.2f} s "
                             f"(more than {limit:g} s)", result)
        elif result.wall > METADATA_SLOW:
            self.report.warn("metadata-fast", f"meta-data took {result.wall:.2f} s", result)
        else:
            self.report.ok("metadata-fast", f"meta-data took {result.wall * 1000:.0f} ms")
        return meta

    def _check_nobody(self):
        if os.geteuid() != 0:
            self.report.skip("metadata-nobody", "not root: cannot run meta-data as nobody")
            return
        result = self.agent("meta-data as nobody", "meta-data", {}, user="nobody",
                            env=self._metadata_env(), timeout_s=METADATA_BOUND)
        if result.error:
            return
        if result.rc != 0:
            reason = output.excerpt(result.stderr, 100) or "no message"
            self.report.fail("metadata-nobody", f"meta-data as nobody: rc {result.rc} "
                             f"({reason})", result, detail=result.stderr)
        elif result.stdout.strip() != self.metadata_run.stdout.strip():
            self.report.fail("metadata-nobody", "meta-data as nobody prints different XML "
                             "than as root", result)
        else:
            self.report.ok("metadata-nobody", "meta-data as nobody: rc 0, same XML", result)

    def _check_unknown_action(self):
        result = self.agent("unknown action 'ocfkit-check-no-such-action'",
                            "ocfkit-check-no-such-action", self.options, timeout_s=20.0)
        self.report.expect("unknown-action", result, (3,), result.label)

    # ------------------------------------------------------------ parameters
    def _good_params(self):
        missing = [p.name for p in self.meta.params
                   if p.required and not p.default and p.name not in self.options]
        if missing:
            for name in missing:
                self.report.skip("validate-ok", f"required parameter {name!r} not given "
                                 f"(-o {name}=VALUE): checks that need valid parameters "
                                 "are skipped")
            return None
        return dict(self.options)

    def _bad_scenarios(self, good):
        """[(description, params)]: required parameters left out, invalid values."""
        base = dict(good if good is not None else self.options)
        scenarios = []
        for param in self.meta.params:
            if param.required and not param.default and param.name in base:
                params = {k: v for k, v in base.items() if k != param.name}
                scenarios.append(("missing", f"without required {param.name!r}", params,
                                  param.name))
        for param in self.meta.params:
            if param.deprecated:
                continue
            value = None
            if param.type == "integer":
                value = BAD_NUMBER
            elif param.type == "select" and param.options:
                value = BAD_CHOICE
            if value is not None:
                params = dict(base, **{param.name: value})
                scenarios.append(("invalid", f"{param.name}={value}", params, param.name))
        missing = [s for s in scenarios if s[0] == "missing"][:MAX_BAD_SCENARIOS]
        invalid = [s for s in scenarios if s[0] == "invalid"][:MAX_BAD_SCENARIOS]
        return missing + invalid

    def _check_validate(self, good, bad):
        if good is not None:
            result = self.agent("validate-all (given parameters)", "validate-all", good)
            self.given_valid = self.report.expect("validate-ok", result, (0,), result.label)
        missing = [(what, params) for kind, what, params, _ in bad if kind == "missing"]
        invalid = [scenario for scenario in bad if scenario[0] == "invalid"]
        for what, params in missing:
            result = self.agent(f"validate-all {what}", "validate-all", params)
            self.report.expect("validate-missing", result, (6,), result.label, warn=(2, 5),
                               why="a missing parameter is wrong everywhere: 6 "
                               "(OCF_ERR_CONFIGURED)")
        self._expect_grouped("validate-invalid", "validate-all", "validate-all", invalid,
                             (6, 2), warn=(5,), why="the value is not valid for its type")

    def _expect_grouped(self, rule, action, label, scenarios, allowed, *, warn=(), why=""):
        """Run ``action`` once per bad-parameter scenario; report one line per distinct
        exit code, naming the parameters that gave it."""
        by_rc = {}
        for kind, what, params, name in scenarios:
            result = self.agent(f"{label} {what}", action, params)
            if result.rc is not None:
                by_rc.setdefault(result.rc, []).append((kind, name, result))
        for items in by_rc.values():
            parts = []
            for kind, text in (("missing", "without required "), ("invalid", "with invalid ")):
                names = [name for k, name, _ in items if k == kind]
                if names:
                    parts.append(text + ", ".join(names))
            self.report.expect(rule, items[0][2], allowed, f"{label} " + " / ".join(parts),
                               warn=warn, why=why)

    def _check_broken_probes(self, good, bad):
        self._expect_grouped("probe-broken-env", "monitor", "probe",
                             bad, (7, 5),
                             why="probes run on every node, configured there or not; "
                             "a 6 bans the resource from every node")
        if good is None:
            return
        empty = tempfile.mkdtemp(prefix="ocfkit-check-nobin-")
        try:
            result = self.agent("probe with no binaries on PATH", "monitor", good,
                                extra={"PATH": empty, "OCF_TESTER_FAIL_HAVE_BINARY": "1"},
                                shell_errors_ok=True)
        finally:
            shutil.rmtree(empty, ignore_errors=True)
        self.report.expect("probe-broken-env", result, (7, 5), result.label,
                           why="software missing on this node means 'not running here'")

    # ------------------------------------------------------------ lifecycle
    def _probe(self, label, params):
        return self.agent(label, "monitor", params)

    def _initial_probe(self, good):
        result = self._probe("probe (before anything started)", good)
        if result.rc == 0:
            self.report.note("probe-stopped", "the resource is already running: "
                             + ("the checker stops it first" if self.lifecycle
                                else "stopped-state checks skipped"), result)
            return True
        self.report.expect("probe-stopped", result, (7,), result.label)
        return False

    def _stop_preexisting(self, good):
        result = self.agent("stop (resource found running)", "stop", good)
        if not self.report.expect("stop", result, (0,), result.label):
            return False
        again = self._probe("probe (after stopping the pre-existing resource)", good)
        return self.report.expect("monitor-stopped", again, (7,), again.label,
                                  why="stop returned 0 but monitor still sees it")

    def _check_stopped(self, good, bad):
        result = self.agent("stop (never started)", "stop", good)
        self.report.expect("stop-stopped", result, (0,), result.label,
                           why="already stopped must be success" if result.rc == 7 else "")
        self._expect_grouped("stop-invalid", "stop", "stop",
                             bad, (0,),
                             why="a failed stop gets the node fenced")
        for spec in self.meta.monitors():
            if spec.interval_ms:
                result = self.agent(f"monitor interval={spec.interval_ms // 1000}s "
                                    "(stopped)", "monitor", good,
                                    interval_ms=spec.interval_ms,
                                    check_level=spec.depth or None)
                self.report.expect("monitor-stopped", result, (7,), result.label)

    def _check_running(self, good):
        result = self.agent("start", "start", good)
        self.started = True
        if not self.report.expect("start", result, (0,), result.label):
            return
        again = self.agent("start (already running)", "start", good)
        self.report.expect("start-twice", again, (0,), again.label)
        probe = self._probe("probe (running)", good)
        self.report.expect("monitor-running", probe, (0, 190), probe.label)
        self._recurring_monitors(good, "running", (0, 190))
        if self.meta.has("promote") and self.meta.has("demote"):
            self._check_promotion(good)
        if self.meta.has("reload-agent"):
            result = self.agent("reload-agent (running)", "reload-agent", good)
            self.report.expect("reload-agent", result, (0,), result.label)
        if self.meta.has("notify"):
            result = self.agent("notify (pre-start)", "notify", good, extra={
                "OCF_RESKEY_CRM_meta_notify_type": "pre",
                "OCF_RESKEY_CRM_meta_notify_operation": "start",
                "OCF_RESKEY_CRM_meta_notify": "true"})
            self.report.expect("notify", result, (0,), result.label)
        stop = self.agent("stop (running)", "stop", good)
        if not self.report.expect("stop", stop, (0,), stop.label):
            return
        self.started = False
        after = self._probe("probe (after stop)", good)
        self.report.expect("monitor-stopped", after, (7,), after.label,
                           why="stop returned 0, so the resource must be gone")
        self._recurring_monitors(good, "after stop", (7,))
        twice = self.agent("stop (already stopped)", "stop", good)
        self.report.expect("stop-stopped", twice, (0,), twice.label)

    def _recurring_monitors(self, good, state, allowed):
        rule = "monitor-running" if 0 in allowed else "monitor-stopped"
        for spec in self.meta.monitors():
            if not spec.interval_ms:
                continue
            depth = f" depth {spec.depth}" if spec.depth else ""
            result = self.agent(f"monitor interval={spec.interval_ms // 1000}s{depth} "
                                f"({state})", "monitor", good, interval_ms=spec.interval_ms,
                                check_level=spec.depth or None)
            self.report.expect(rule, result, allowed, result.label)

    def _promoted_interval(self):
        for spec in self.meta.actions:
            if spec.name == "monitor" and spec.role in ("Promoted", "Master"):
                return spec.interval_ms, spec.depth
        return None, 0

    def _check_promotion(self, good):
        interval, depth = self._promoted_interval()
        steps = [("promote", "promote", (0,)), ("monitor (promoted)", "monitor", (8, 191)),
                 ("promote (already promoted)", "promote", (0,)),
                 ("demote", "demote", (0,)), ("monitor (demoted)", "monitor", (0, 190)),
                 ("demote (already unpromoted)", "demote", (0,))]
        for label, action, allowed in steps:
            meta = {"OCF_RESKEY_CRM_meta_promotable": "true",
                    "OCF_RESKEY_CRM_meta_clone_max": "1"}
            interval_ms = interval if (label == "monitor (promoted)" and interval) else None
            result = self.agent(label, action, good, extra=meta, interval_ms=interval_ms,
                                check_level=(depth or None) if interval_ms else None)
            if not self.report.expect("promote-demote", result, allowed, label):
                if action == "promote":
                    self.agent("demote (cleanup)", "demote", good, extra=meta)
                return

    def _cleanup(self, good):
        if not self.started:
            self.report.ok("cleanup", "nothing left running")
            return
        result = self.agent("stop (cleanup)", "stop", good)
        if result.rc == 0:
            self.report.ok("cleanup", "the final stop succeeded", result)
            self.started = False
        else:
            self.report.fail("cleanup", f"the final stop returned {result.describe()}: the "
                             "resource may still be running on this node", result)
