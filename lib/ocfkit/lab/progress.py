"""Progress lines with timings: ``[  12.3s] what is happening (took 1.2s)``."""

import sys
import threading
import time
from contextlib import contextmanager


class Progress:
    def __init__(self, stream=None, quiet=False):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def _write(self, text):
        # One write per line under a lock: background steps print too.
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def elapsed(self):
        return time.monotonic() - self.start

    def say(self, text):
        if not self.quiet:
            self._write(f"[{self.elapsed():6.1f}s] {text}")

    def command(self, box, text):
        """Show a command an admin would type on ``box``."""
        if not self.quiet:
            self._write(f"[{self.elapsed():6.1f}s]   {box}# {text}")

    def output(self, text, indent="           | "):
        if not self.quiet:
            self._write("\n".join(indent + line for line in text.rstrip().splitlines()))

    @contextmanager
    def step(self, text):
        self.say(text + " ...")
        begin = time.monotonic()
        yield
        self.say(f"{text}: done in {time.monotonic() - begin:.1f}s")
