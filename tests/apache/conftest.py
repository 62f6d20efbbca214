import itertools
import os

import pytest
from apache_paths import OURS, REFERENCE
from fixtures.apache import APACHE2, ApacheSite, apache_site  # noqa: F401 - fixture
from ocfkit.testing import run_resource_agent

_counter = itertools.count()


class Runner:
    """Runs ocf:ocfkit:Apache and ocf:heartbeat:apache with execd's environment.

    Each test gets its own resource instance name and HA_RSCTMP directory, so cached
    configuration facts and lock files never leak between tests or into /run.
    """

    def __init__(self, rsctmp):
        self.rsctmp = str(rsctmp)
        self.instance = f"apache-test-{os.getpid()}-{next(_counter)}"

    def run(self, agent, action, params, *, interval_ms=None, timeout_ms=20000,
            check_level=None, extra=None, timeout=None):
        env_extra = {"HA_RSCTMP": self.rsctmp}
        env_extra.update(extra or {})
        return run_resource_agent(
            agent, action, params, instance=self.instance, interval_ms=interval_ms,
            timeout_ms=timeout_ms, check_level=check_level, extra=env_extra,
            timeout=timeout if timeout is not None else timeout_ms / 1000 + 10)

    def ours(self, action, params, **kw):
        return self.run(OURS, action, params, **kw)

    def reference(self, action, params, **kw):
        return self.run(REFERENCE, action, params, **kw)


@pytest.fixture
def runner(tmp_path):
    if not os.path.exists(APACHE2):
        pytest.skip("apache2 is not installed (ci/deps/apache.apt)")
    return Runner(tmp_path)


@pytest.fixture
def make_site():
    """Factory for extra sites (other MPMs, TLS, auth); all closed after the test."""
    sites = []

    def make(**options):
        site = ApacheSite(**options)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()
