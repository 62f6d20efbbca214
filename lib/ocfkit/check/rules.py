"""Every rule ``ocfkit check`` knows: its id, its group in the report, where the contract
states it, and what the contract wants. docs/checker.md lists the same table.

Section labels: A* = OCF resource agents, B* = fence agents, as in the contract summary
the project follows (docs/checker.md maps them to the OCF 1.1 spec, Pacemaker and pcs).
"""


class Rule:
    def __init__(self, rule_id, group, section, wants):
        self.id = rule_id
        self.group = group
        self.section = section
        self.wants = wants


GROUPS = ("Agent", "Metadata", "Validation", "Probe", "Lifecycle", "Fence actions",
          "Output", "Secrets", "Timing")

_RULES = [
    # --- the file itself
    Rule("agent-executable", "Agent", "A1",
         "an executable file, run directly through its first line"),
    # --- OCF metadata (A9, A10, B10)
    Rule("metadata-exit", "Metadata", "A2",
         "meta-data exits 0 with no OCF_RESKEY_* set"),
    Rule("metadata-nobody", "Metadata", "A2",
         "meta-data works as an unprivileged user (nobody), same XML as root"),
    Rule("metadata-xml", "Metadata", "A10",
         "stdout of meta-data is one well-formed XML document and nothing else"),
    Rule("metadata-fast", "Metadata", "A10",
         "meta-data answers at once (no service or cluster calls; fenced allows 10 s)"),
    Rule("metadata-pcs", "Metadata", "B10",
         "valid against pcs's ocf-1.0/1.1 RNG, else pcs refuses the agent"),
    Rule("metadata-version", "Metadata", "A9",
         "<version> holds the OCF API version, exactly 1.0 or 1.1 (1.1 for new agents); "
         "the agent's own version goes in the version attribute"),
    Rule("metadata-root", "Metadata", "A9",
         "root <resource-agent name=TYPE>, name equal to the agent's file name"),
    Rule("metadata-order", "Metadata", "A9",
         "children of <resource-agent> in order version, longdesc, shortdesc, parameters, "
         "actions, special"),
    Rule("metadata-parameter-order", "Metadata", "A9",
         "children of <parameter> in order deprecated, longdesc, shortdesc, content"),
    Rule("metadata-parameters", "Metadata", "A9",
         "<parameters> with at least one <parameter>, each with a unique name, longdesc, "
         "shortdesc and content"),
    Rule("metadata-content", "Metadata", "A9",
         "content type boolean/string/integer/select (1.0: time too); select lists its "
         "options; the default fits the type"),
    Rule("metadata-lang", "Metadata", "A9", 'lang="en" on every longdesc/shortdesc/desc'),
    Rule("metadata-boolean", "Metadata", "A9",
         "boolean attributes (required, unique, reloadable) are 0 or 1"),
    Rule("metadata-action-timeout", "Metadata", "A9", "a timeout on every <action>"),
    Rule("metadata-time-units", "Metadata", "A9",
         'time values with a unit ("20s"), parseable by Pacemaker'),
    Rule("metadata-actions", "Metadata", "A2",
         "start, stop, monitor and meta-data advertised; depth an integer; two monitors "
         "differ in interval"),
    Rule("metadata-roles", "Metadata", "A9", "role is Promoted or Unpromoted"),
    Rule("metadata-unique-group", "Metadata", "A9",
         "OCF 1.1 uniqueness via unique-group (pcs ignores unique= in 1.1 metadata)"),
    Rule("metadata-deprecated", "Metadata", "A9",
         "<replaced-with name> names a parameter of the agent"),
    # --- validate-all (A4)
    Rule("validate-ok", "Validation", "A4", "validate-all returns 0 with valid parameters"),
    Rule("validate-missing", "Validation", "A4",
         "validate-all returns 6 (OCF_ERR_CONFIGURED) when a required parameter is missing; "
         "never 1 (restart loops) or 0"),
    Rule("validate-invalid", "Validation", "A4",
         "validate-all rejects an invalid value with 6 (or 2/5 if only this node is "
         "affected), never 1 or 0"),
    # --- probes (A5)
    Rule("probe-stopped", "Probe", "A2", "probe (monitor, interval 0) of a stopped resource: 7"),
    Rule("probe-broken-env", "Probe", "A5",
         "probe with invalid parameters or missing software: 7 (or 5), since probes run "
         "on every node"),
    # --- lifecycle (A2, A4)
    Rule("monitor-stopped", "Lifecycle", "A2",
         "monitor of a cleanly stopped resource: 7, probe or recurring"),
    Rule("stop-stopped", "Lifecycle", "A4",
         "stop of a stopped (or never started) resource: 0, never 7"),
    Rule("stop-invalid", "Lifecycle", "A5",
         "stop with invalid parameters: 0 (nothing can be running; a failed stop fences "
         "the node)"),
    Rule("start", "Lifecycle", "A4", "start with valid parameters: 0, and monitor then 0"),
    Rule("start-twice", "Lifecycle", "A2", "start of a running resource: 0 (idempotent)"),
    Rule("monitor-running", "Lifecycle", "A2",
         "monitor of a running resource: 0 (8 if promoted), probe, recurring and every "
         "advertised depth"),
    Rule("stop", "Lifecycle", "A4", "stop of a running resource: 0, and monitor then 7"),
    Rule("promote-demote", "Lifecycle", "A4",
         "promote 0 (twice), monitor 8, demote 0 (twice), monitor 0"),
    Rule("reload-agent", "Lifecycle", "A2", "reload-agent of a running resource: 0"),
    Rule("notify", "Lifecycle", "A4", "notify: 0"),
    Rule("cleanup", "Lifecycle", "A4",
         "the checker leaves nothing running: its final stop returned 0"),
    Rule("unknown-action", "Lifecycle", "A2", "an unknown action: 3 (OCF_ERR_UNIMPLEMENTED)"),
    # --- fence metadata (B9)
    Rule("fence-metadata-exit", "Metadata", "B3",
         "metadata via -o metadata and via stdin action=metadata: 0, the same XML"),
    Rule("fence-metadata-xml", "Metadata", "B3",
         "stdout of metadata is one well-formed XML document and nothing else"),
    Rule("fence-metadata-schema", "Metadata", "B9",
         "valid against fence-agents' metadata.rng and pcs's ocf-1.0.rng"),
    Rule("fence-metadata-version", "Metadata", "B9",
         "no <version> element (with one, pcs applies OCF 1.1 rules and refuses getopt)"),
    Rule("fence-metadata-layout", "Metadata", "B9",
         "root <resource-agent name=fence_x shortdesc=...>, a getopt in every parameter, "
         "boolean attributes 0/1"),
    Rule("fence-metadata-deprecated", "Metadata", "B9",
         'an old name has deprecated="1" and the new one obsoletes="old"'),
    Rule("fence-metadata-actions", "Metadata", "B3",
         "off, status, monitor, metadata advertised (and reboot, unless a fabric agent)"),
    # --- fence actions (B1, B3)
    Rule("fence-stdin", "Fence actions", "B1",
         "stdin key=value: comments, blank lines, unknown keys tolerated; last duplicate "
         "wins"),
    Rule("fence-argv", "Fence actions", "B1",
         "with arguments on the command line, argv is parsed and stdin ignored"),
    Rule("fence-status", "Fence actions", "B3",
         "status: 0 on, 2 off, 1 error, never another code"),
    Rule("fence-unknown-action", "Fence actions", "B3",
         "an unknown action: exit 1 with one clear line on stderr"),
    Rule("fence-validate", "Fence actions", "B3",
         "validate-all: 0 with valid options, non-zero when a required one is missing"),
    Rule("fence-monitor", "Fence actions", "B3", "monitor of a reachable device: 0"),
    Rule("fence-list", "Fence actions", "B8",
         "list/list-status: 0, one target per line in a shape pacemaker-fenced parses"),
    Rule("fence-power", "Fence actions", "B3",
         "off/on/reboot: 0, status then 2/0; off of an off target: 0"),
    Rule("fence-bad-input", "Fence actions", "B1",
         "garbage (non-UTF-8) on stdin: no traceback; refused with a clear line (exit 1) "
         "or skipped"),
    # --- output, every run
    Rule("stdout-clean", "Output", "A10",
         "nothing on stdout except meta-data's XML (fence: the action's own output)"),
    Rule("stderr-clean", "Output", "A4",
         "no Python traceback or shell error on stderr: bad input gives one clear line"),
    Rule("exit-reason", "Output", "A6",
         "one line 'ocf-exit-reason:<text>' on stderr, text not empty"),
    Rule("exit-reason-missing", "Output", "A6",
         "a failure (rc 1, 2, 4, 5, 6, 9) says why on an ocf-exit-reason line"),
    Rule("process-group", "Output", "A1",
         "daemons leave the agent's process group (Pacemaker SIGKILLs the group on timeout)"),
    # --- secrets (B6 / preamble)
    Rule("password-leak", "Secrets", "B6",
         "a password never appears on stdout, stderr, the debug file or a child's "
         "command line"),
    # --- timing
    Rule("timeout", "Timing", "A1", "each action finishes within its advertised timeout"),
]

RULES = {rule.id: rule for rule in _RULES}
