"""What Pacemaker tells a resource agent through its environment (contract A6, A8).

Clone notifications (A7) are in ``ocfkit.ocf.notify``, loaded by ``Environment.notify``.
"""

from ocfkit.params import parse_duration

RESKEY = "OCF_RESKEY_"
META = "OCF_RESKEY_CRM_meta_"


def _ms(text):
    """Milliseconds as Pacemaker passes them; tolerate units (some tools pass '20s')."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return int(parse_duration(text) * 1000)
    except ValueError:
        return None


class Environment:
    """One invocation's context: action, instance, timing, check level, meta attributes."""

    def __init__(self, environ, action, depths=(0,), default_timeout=20.0):
        self.environ = environ
        self.action = action
        self.instance = environ.get("OCF_RESOURCE_INSTANCE") or "default"
        self.resource_type = environ.get("OCF_RESOURCE_TYPE")
        self.provider = environ.get("OCF_RESOURCE_PROVIDER")
        self.interval_ms = _ms(environ.get(META + "interval")) or 0
        timeout_ms = _ms(environ.get(META + "timeout"))
        # crm_resource and older tools may not pass a timeout (pacemaker PR #1367):
        # fall back to the action's advertised timeout.
        self.timeout = timeout_ms / 1000.0 if timeout_ms else float(default_timeout)
        self.timeout_from_pacemaker = bool(timeout_ms)
        self.check_level = self._check_level(environ.get("OCF_CHECK_LEVEL"))
        implemented = sorted(set(depths) | {0})
        self.depth = max(d for d in implemented if d <= max(self.check_level, 0))
        self.node = environ.get(META + "on_node") or None

    @staticmethod
    def _check_level(text):
        if text is None or not text.strip():
            return 0
        try:
            return int(text.strip())
        except ValueError:
            return 0

    @property
    def interval(self):
        """Seconds between recurring monitors; 0 for a probe or a one-shot action."""
        return self.interval_ms / 1000.0

    @property
    def is_probe(self):
        return self.action in ("monitor", "status") and self.interval_ms == 0

    @property
    def is_recurring_monitor(self):
        return self.action in ("monitor", "status") and self.interval_ms > 0

    def meta(self, name, default=None):
        """A meta attribute (``clone_max``, ``notify`` ...), dashes as underscores."""
        return self.environ.get(META + name.replace("-", "_"), default)

    @property
    def is_clone(self):
        return self.meta("clone") is not None or self.meta("clone_max") is not None

    @property
    def clone_number(self):
        value = self.meta("clone")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def is_promotable(self):
        from ocfkit.params import parse_bool

        value = self.meta("promotable")
        if value is not None:
            try:
                return parse_bool(value)
            except ValueError:
                return False
        return (self.meta("master_max") or "0").strip() not in ("", "0")

    @property
    def notify(self):
        """Clone notification variables as a ``Notify`` (only notify actions need it)."""
        from ocfkit.ocf.notify import Notify

        return Notify(self.environ)

    @property
    def rsctmp(self):
        return self.environ.get("HA_RSCTMP") or "/run/resource-agents"
