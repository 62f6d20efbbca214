"""Progress lines with timings: ``[  12.3s] what is happening (took 1.2s)``."""

import sys
import time
from contextlib import contextmanager


class Progress:
    def __init__(self, stream=None, quiet=False):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.start = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.start

    def say(self, text):
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s] {text}", file=self.stream, flush=True)

    def command(self, box, text):
        """Show a command an admin would type on ``box``."""
        if not self.quiet:
            print(f"[{self.elapsed():6.1f}s]   {box}# {text}", file=self.stream, flush=True)

    def output(self, text, indent="           | "):
        if not self.quiet:
            for line in text.rstrip().splitlines():
                print(indent + line, file=self.stream)
            self.stream.flush()

    @contextmanager
    def step(self, text):
        self.say(text + " ...")
        begin = time.monotonic()
        yield
        self.say(f"{text}: done in {time.monotonic() - begin:.1f}s")
