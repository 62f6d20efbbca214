"""Per-resource state and lock files under ``HA_RSCTMP`` (``/run/resource-agents``).

Actions of one agent run concurrently for different resources (contract A1); a lock
per resource keeps two actions on the *same* resource (a monitor racing a stop after a
timeout) from interleaving.
"""

import fcntl
import os

from ocfkit.ocf.contract import ErrGeneric


def _safe(text):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def state_path(env, agent_name, suffix):
    directory = env.rsctmp
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise ErrGeneric(f"cannot create state directory {directory}: {exc.strerror}")
    return os.path.join(directory, f"ocfkit-{_safe(agent_name)}-{_safe(env.instance)}.{suffix}")


class ResourceLock:
    """``with agent.lock(): ...`` - an flock held until the block ends, bounded by a deadline."""

    def __init__(self, path, deadline):
        self.path = path
        self.deadline = deadline
        self.fd = None

    def _try(self):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if not self.deadline.poll(self._try, interval=0.005, max_interval=0.1):
            os.close(self.fd)
            self.fd = None
            raise ErrGeneric(f"timed out waiting for lock {self.path}")
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None
        return False
