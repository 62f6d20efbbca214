"""Time budgets derived from the operation's timeout, and polling within them.

Pacemaker SIGKILLs an agent whose action outlives its timeout, so every wait an agent
does must end earlier, with an answer. A ``Deadline`` is that budget; ``poll`` replaces
fixed sleeps: it checks a condition with a short, growing interval until it holds or
the budget is spent.
"""

import time


class Deadline:
    def __init__(self, seconds, start=None):
        self.seconds = max(0.0, float(seconds))
        self.start = time.monotonic() if start is None else start
        self.end = self.start + self.seconds

    @classmethod
    def at(cls, end):
        now = time.monotonic()
        return cls(max(0.0, end - now), start=now)

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def elapsed(self):
        return time.monotonic() - self.start

    @property
    def expired(self):
        return time.monotonic() >= self.end

    def fraction(self, share):
        """A deadline for ``share`` (0..1) of the time that remains now."""
        return Deadline(self.remaining() * share)

    def within(self, seconds):
        """A deadline of ``seconds``, or less if this one ends sooner."""
        return Deadline(min(float(seconds), self.remaining()))

    def poll(self, condition, *, interval=0.01, max_interval=0.25, factor=1.5):
        """Call ``condition()`` until it returns a true value or the deadline passes.

        Returns that value, or the last (false) one when time ran out. The first check
        is immediate; the pause between checks starts at ``interval`` and grows by
        ``factor`` up to ``max_interval``, never past the deadline.
        """
        while True:
            result = condition()
            if result:
                return result
            remaining = self.remaining()
            if remaining <= 0:
                return result
            time.sleep(min(interval, remaining))
            interval = min(interval * factor, max_interval)

    def __repr__(self):
        return f"<Deadline {self.remaining():.3f}s of {self.seconds:.3f}s left>"
