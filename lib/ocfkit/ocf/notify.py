"""Clone notification variables (contract A7) as a structure."""

from ocfkit.ocf.contract import META


class Notify:
    """Clone notification variables as a structure.

    ``start``, ``stop``, ``active``, ``promote``, ``demote``, ``promoted``, ``unpromoted``
    are lists of ``(resource, uname)`` pairs; ``inactive`` a list of resources;
    ``all_unames`` a list of node names. Legacy ``master``/``slave`` names are folded
    into ``promoted``/``unpromoted``.
    """

    KINDS = ("start", "stop", "active", "promote", "demote", "promoted", "unpromoted")
    LEGACY = {"promoted": "master", "unpromoted": "slave"}

    def __init__(self, environ):
        def words(key):
            return (environ.get(META + "notify_" + key) or "").split()

        self.type = environ.get(META + "notify_type") or None
        self.operation = environ.get(META + "notify_operation") or None
        for kind in self.KINDS:
            resources, unames = words(kind + "_resource"), words(kind + "_uname")
            legacy = self.LEGACY.get(kind)
            if legacy and not resources:
                resources, unames = words(legacy + "_resource"), words(legacy + "_uname")
            unames += [None] * (len(resources) - len(unames))
            setattr(self, kind, list(zip(resources, unames)))
        self.inactive = words("inactive_resource")
        self.all_unames = words("all_uname")

    @property
    def is_pre(self):
        return self.type == "pre"

    @property
    def is_post(self):
        return self.type == "post"

    def __repr__(self):
        return f"<Notify {self.type}-{self.operation}>"
