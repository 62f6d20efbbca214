"""Run agents the way Pacemaker runs them: for tests, benchmarks and ``ocfkit check``.

pacemaker-execd runs ``<agent> <action>`` directly (through its first line), in a new
process group, with a small environment: its own variables plus ``OCF_*`` and one
``OCF_RESKEY_<name>`` per parameter and meta attribute (contract A6). pacemaker-fenced
runs ``fence_x`` with no arguments and writes ``key=value`` lines on stdin (B1, B2).
"""

import os
import subprocess
import time

# What execd passes besides the parameters (pacemaker 2.1 on Debian 12, no systemd).
EXECD_BASE = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C",
    "OCF_ROOT": "/usr/lib/ocf",
    "OCF_RA_VERSION_MAJOR": "1",
    "OCF_RA_VERSION_MINOR": "1",
    "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
    "OCF_RESKEY_crm_feature_set": "3.16.2",
    "PCMK_service": "pacemaker-execd",
    "PCMK_logfacility": "none",
    "HA_LOGFACILITY": "none",
    "HA_logfacility": "none",
    "HA_debug": "0",
}


class Result:
    """Outcome of one agent run: exit code (None if it was killed at the timeout), output
    and wall time. CPU and memory are measured by bench/harness.py, not here."""

    def __init__(self, argv, returncode, stdout, stderr, wall):
        self.argv = argv
        self.returncode = returncode
        self.rc = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.wall = wall

    @property
    def exit_reason(self):
        """The last ocf-exit-reason line (Pacemaker keeps the last one), or None."""
        reason = None
        for line in self.stderr.splitlines():
            if line.startswith("ocf-exit-reason:"):
                reason = line[len("ocf-exit-reason:"):]
        return reason

    def __repr__(self):
        return (f"<Result rc={self.returncode} wall={self.wall:.3f}s "
                f"stdout={self.stdout[:80]!r} stderr={self.stderr[-200:]!r}>")


def execd_environment(params=None, *, action=None, instance="test", agent_type=None,
                      provider="ocfkit", interval_ms=None, timeout_ms=20000, check_level=None,
                      meta=None, extra=None):
    """The environment pacemaker-execd gives an OCF agent for one operation."""
    env = dict(EXECD_BASE)
    env["OCF_RESOURCE_INSTANCE"] = instance
    if agent_type:
        env["OCF_RESOURCE_TYPE"] = agent_type
    if provider:
        env["OCF_RESOURCE_PROVIDER"] = provider
    if action is not None:
        env["OCF_RESKEY_CRM_meta_name"] = action
    if timeout_ms is not None:
        env["OCF_RESKEY_CRM_meta_timeout"] = str(timeout_ms)
    if interval_ms is not None:
        env["OCF_RESKEY_CRM_meta_interval"] = str(interval_ms)
    elif action == "monitor":
        env["OCF_RESKEY_CRM_meta_interval"] = "0"
    if check_level is not None:
        env["OCF_CHECK_LEVEL"] = str(check_level)
    for name, value in (params or {}).items():
        env["OCF_RESKEY_" + name] = str(value)
    for name, value in (meta or {}).items():
        env["OCF_RESKEY_CRM_meta_" + name.replace("-", "_")] = str(value)
    env.update(extra or {})
    return env


def run(argv, env, *, stdin=None, timeout=60, user=None, cwd="/"):
    """Run ``argv`` in its own process group, like execd and fenced do; measure it."""
    start = time.monotonic()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, user=user,
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)  # what Pacemaker does on timeout
        out, err = process.communicate()
        process.returncode = None
    wall = time.monotonic() - start
    return Result(argv, process.returncode, out.decode("utf-8", "replace"),
                  err.decode("utf-8", "replace"), wall)


def run_resource_agent(path, action, params=None, *, timeout=60, user=None, **env_kw):
    """Run an OCF agent for ``action`` with execd's environment."""
    env = execd_environment(params, action=action,
                            agent_type=os.path.basename(path), **env_kw)
    return run([path, action], env, timeout=timeout, user=user)


def fence_stdin(options):
    """``key=value`` lines as pacemaker-fenced writes them."""
    return "".join(f"{key}={value}\n" for key, value in options.items()).encode()


def run_fence_agent(path, options=None, *, args=None, stdin=None, timeout=60, env=None):
    """Run a fence agent with options on stdin (default) or ``args`` on the command line."""
    environment = {"PATH": EXECD_BASE["PATH"], "LC_ALL": "C",
                   "PCMK_service": "pacemaker-fenced"}
    environment.update(env or {})
    if args is not None:
        return run([path, *args], environment, timeout=timeout)
    data = stdin if stdin is not None else fence_stdin(options or {})
    return run([path], environment, stdin=data, timeout=timeout)


class installed_resource_agent:
    """``with installed_resource_agent(path) as provider:`` - the agent installed as
    ``/usr/lib/ocf/resource.d/<provider>/<name>`` for Pacemaker's and pcs's tools, and
    removed afterwards. The provider is unique to this process unless given (root only).
    """

    def __init__(self, *paths, provider=None, ocf_root="/usr/lib/ocf"):
        self.paths = paths
        self.provider = provider or f"ocfkit-test-{os.getpid()}"
        self.directory = os.path.join(ocf_root, "resource.d", self.provider)

    def __enter__(self):
        import shutil

        os.makedirs(self.directory)  # fails if it exists: never touch someone else's
        try:
            for path in self.paths:
                shutil.copy2(path, self.directory)
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        return self.provider

    def __exit__(self, *exc):
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)
        return False


class installed_fence_agent:
    """``with installed_fence_agent(path) as name:`` - the agent installed as
    ``/usr/sbin/fence_<unique>`` (pacemaker-fenced's whole registry) and removed after."""

    def __init__(self, path, name=None, bindir="/usr/sbin"):
        self.source = path
        self.name = name or f"fence_ocfkittest{os.getpid()}"
        if not self.name.startswith("fence_"):
            raise ValueError("fence agents must be named fence_*")
        self.path = os.path.join(bindir, self.name)

    def __enter__(self):
        import shutil

        if os.path.exists(self.path):
            raise FileExistsError(f"{self.path} exists: not overwriting it")
        shutil.copy2(self.source, self.path)
        return self.name

    def __exit__(self, *exc):
        if os.path.exists(self.path):
            os.unlink(self.path)
        return False
