"""Findings and how they are shown: one line per finding, grouped, with a summary line
(text), or one JSON document (``--json``, for tests and CI)."""

import json
import time

from ocfkit.check.rules import GROUPS, RULES

FAIL, WARN, PASS, SKIP, NOTE = "FAIL", "WARN", "pass", "skip", "note"
_ORDER = {FAIL: 0, WARN: 1, NOTE: 2, SKIP: 3, PASS: 4}


class Finding:
    def __init__(self, status, rule, message, run=None, detail=None):
        self.status = status
        self.rule = RULES[rule]
        self._message = message
        self.run = run
        self.detail = detail
        self.also = []              # labels of further runs showing the same problem

    @property
    def message(self):
        if not self.also:
            return self._message
        shown = ", ".join(self.also[:3]) + (", ..." if len(self.also) > 3 else "")
        return f"{self._message} (and in {len(self.also)} more run" \
               f"{'s' if len(self.also) > 1 else ''}: {shown})"

    def as_dict(self):
        data = {"status": self.status, "rule": self.rule.id, "group": self.rule.group,
                "section": self.rule.section, "message": self.message,
                "wants": self.rule.wants}
        if self.run is not None:
            data.update(action=self.run.label, argv=self.run.argv, rc=self.run.rc,
                        seconds=round(self.run.wall, 3), timed_out=self.run.timed_out)
        if self.detail:
            data["detail"] = self.detail
        return data


class Report:
    def __init__(self, path, kind):
        self.path = path
        self.kind = kind            # "ocf" or "fence"
        self.title = ""             # filled in once the metadata is known
        self.findings = []
        self.runs = []
        self.started = time.monotonic()
        self.secrets = []           # never shown: masked in every rendering
        self._seen = {}

    # ------------------------------------------------------------ recording
    def add(self, status, rule, message, run=None, detail=None, same=None):
        """Record a finding. ``same`` names the problem independently of the run: a
        second run with the same problem is folded into the first finding's line."""
        key = (status, rule, same if same is not None else message)
        if key in self._seen:
            if same is not None and run is not None:
                self._seen[key].also.append(run.label)
            return
        finding = Finding(status, rule, message, run, detail)
        self._seen[key] = finding
        self.findings.append(finding)

    def fail(self, rule, message, run=None, detail=None, same=None):
        self.add(FAIL, rule, message, run, detail, same)

    def warn(self, rule, message, run=None, detail=None, same=None):
        self.add(WARN, rule, message, run, detail, same)

    def ok(self, rule, message, run=None):
        self.add(PASS, rule, message, run)

    def skip(self, rule, message):
        self.add(SKIP, rule, message)

    def note(self, rule, message, run=None):
        self.add(NOTE, rule, message, run)

    def expect(self, rule, run, allowed, what, *, warn=(), why=""):
        """Check ``run``'s exit code: in ``allowed`` passes, in ``warn`` warns, else fails.
        Timeouts and runs that could not start are reported once, by the timing rule."""
        if run.rc is None:
            return False
        text = f"{what}: rc {run.rc}{_rc_name(run.rc, self.kind)}"
        if run.rc in allowed:
            self.ok(rule, text, run)
            return True
        said = _agent_said(run)
        if said:
            text += f" (agent: {said!r})"
        if run.rc in warn:
            self.warn(rule, text + (f"; {why}" if why else ""), run)
            return False
        self.fail(rule, text + (f"; {why}" if why else ""), run)
        return False

    def timing_summary(self):
        """One pass line for the timeout rule when no run was killed."""
        if self.runs and not any(f.rule.id == "timeout" and f.status == FAIL
                                 for f in self.findings):
            slowest = max(self.runs, key=lambda r: r.wall)
            self.ok("timeout", f"every run finished within its timeout (slowest: "
                    f"{slowest.label}, {slowest.wall:.2f} s)")

    # ------------------------------------------------------------ verdict
    def count(self, status):
        return sum(1 for f in self.findings if f.status == status)

    @property
    def failed(self):
        return self.count(FAIL) > 0

    def rules_with(self, status):
        return sorted({f.rule.id for f in self.findings if f.status == status})

    # ------------------------------------------------------------ output
    def render_text(self, verbose=False):
        shown = [f for f in self.findings if verbose or f.status in (FAIL, WARN, NOTE)]
        lines = [f"ocfkit check {self.path}" + (f"  ({self.title})" if self.title else "")]
        width = max((len(f.rule.id) for f in shown), default=10)
        for group in GROUPS:
            in_group = sorted((f for f in shown if f.rule.group == group),
                              key=lambda f: _ORDER[f.status])
            if not in_group:
                continue
            lines.append("")
            lines.append(group)
            for finding in in_group:
                line = f"  {finding.status:<4}  {finding.rule.id:<{width}}  {finding.message}"
                if finding.status in (FAIL, WARN):
                    line += f" -- wants: {finding.rule.wants} [{finding.rule.section}]"
                lines.append(line)
                if verbose and finding.status in (FAIL, WARN) and finding.run is not None:
                    lines.append("        $ " + finding.run.reproduce())
                if verbose and finding.detail:
                    lines.extend("        | " + d for d in finding.detail.splitlines()[-12:])
        lines.append("")
        lines.append(self.summary())
        return self.mask("\n".join(lines) + "\n")

    def mask(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text

    def summary(self):
        broken = self.rules_with(FAIL)
        seconds = time.monotonic() - self.started
        verdict = "FAILED" if broken else "PASSED"
        parts = [f"{len(broken)} rule{'s' if len(broken) != 1 else ''} broken"
                 + (f" ({', '.join(broken)})" if broken else ""),
                 f"{self.count(WARN)} warning{'s' if self.count(WARN) != 1 else ''}",
                 f"{self.count(PASS)} checks passed"]
        if self.count(SKIP):
            parts.append(f"{self.count(SKIP)} skipped")
        parts.append(f"{len(self.runs)} agent runs in {seconds:.1f} s")
        return (f"{verdict}: " + ", ".join(parts)
                + ". Rules and contract sections: docs/checker.md")

    def render_json(self):
        data = {
            "agent": self.path, "kind": self.kind, "title": self.title,
            "ok": not self.failed,
            "failed_rules": self.rules_with(FAIL), "warned_rules": self.rules_with(WARN),
            "summary": {"fail": self.count(FAIL), "warn": self.count(WARN),
                        "pass": self.count(PASS), "skip": self.count(SKIP),
                        "runs": len(self.runs),
                        "seconds": round(time.monotonic() - self.started, 2)},
            "findings": [f.as_dict() for f in self.findings],
        }
        return self.mask(json.dumps(data, indent=2) + "\n")


def _agent_said(run, limit=90):
    """The agent's own account of a failure: its last exit reason, else its last stderr
    line."""
    reasons = run.exit_reasons
    if reasons:
        text = reasons[-1][0]
    else:
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        text = lines[-1] if lines else ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


_OCF_NAMES = {0: "OCF_SUCCESS", 1: "OCF_ERR_GENERIC", 2: "OCF_ERR_ARGS",
              3: "OCF_ERR_UNIMPLEMENTED", 4: "OCF_ERR_PERM", 5: "OCF_ERR_INSTALLED",
              6: "OCF_ERR_CONFIGURED", 7: "OCF_NOT_RUNNING", 8: "OCF_RUNNING_PROMOTED",
              9: "OCF_FAILED_PROMOTED", 190: "OCF_DEGRADED", 191: "OCF_DEGRADED_PROMOTED"}


def _rc_name(rc, kind):
    if kind == "ocf" and rc in _OCF_NAMES:
        return f" ({_OCF_NAMES[rc]})"
    return ""
