"""ocf:ocfkit:Apache - start, stop and health-check an Apache httpd (contract C4).

A drop-in for ocf:heartbeat:apache: the same parameter names and meanings, the same
exit codes in the same states, without its blind sleeps. How it works:

- start validates (binary, configuration file, ``httpd -t``), launches httpd in the
  foreground in its own session (so the PID we hold is the server's: no race with
  the pid file), and returns as soon as the status URL answers and matches;
- monitor finds the master process (pid file, then /proc by command line), then
  fetches the status URL within the operation's deadline; "not running" is reported
  at once; every failure says what failed (refused, timeout, HTTP status, regex);
- stop asks for a graceful stop (SIGWINCH) for up to half the operation's timeout,
  then SIGTERM, then SIGKILL to every process of the instance, and checks that
  nothing is left.

The configuration is read by ``apache_config``; HTTP is ``ocfkit.httpcheck`` (not
``requests``: see the reason there). Facts derived from the configuration are kept in
a small cache under HA_RSCTMP, keyed by the parameters and the files' stat data, so a
monitor of an unchanged configuration neither re-reads it nor runs the env files.
"""

import os

from ocfkit import ocf
from ocfkit import process as proc

DEFAULT_TESTREGEX = "</ *html *>"
# Where the distributions put the main configuration file, in the reference's order.
CONFIG_CANDIDATES = ("/etc/apache2/httpd.conf",      # SUSE
                     "/etc/apache2/apache2.conf",    # Debian, Ubuntu
                     "/etc/httpd/conf/httpd.conf")   # RHEL, Fedora
# The reference's order: its default /usr/sbin/httpd, then its search list.
HTTPD_CANDIDATES = ("/usr/sbin/httpd", "/sbin/httpd2", "/usr/sbin/httpd2",
                    "/usr/sbin/apache2", "/sbin/httpd", "/usr/sbin/apache")
DEBIAN_ENVVARS = "/etc/apache2/envvars"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Always defined when we start httpd: STATUS as the reference does (configurations
# guard mod_status with <IfDefine STATUS>), FOREGROUND so httpd does not daemonize
# and the PID we spawned is the master's.
START_DEFINES = ("STATUS", "FOREGROUND")
CACHE_VERSION = 2


class Apache(ocf.ResourceAgent):
    """Manages an Apache HTTP Server instance (compatible with ocf:heartbeat:apache)

    Starts httpd with the given configuration file, stops it gracefully (falling back
    to SIGTERM and SIGKILL of the whole process tree) and monitors it by fetching a
    status URL (by default the server-status page of mod_status found in the
    configuration) and matching a regular expression. Start returns as soon as the
    status page answers; a stopped server is reported at once.

    Exit codes: a missing httpd binary or configuration file is "not installed" (5),
    a configuration that fails httpd's own syntax check or offers no status page is
    "not configured" (6); a server that runs but does not answer properly is a
    generic failure (1) whose reason says what failed. When mod_status shows that
    every worker the server may run is busy, monitor returns 190 (degraded).

    Make sure the status page is reachable only from this node (mod_status'
    "Require local"); the agent connects only to this node's own addresses.
    """

    agent_version = "1.0.0"

    configfile = ocf.Path(
        unique_group="configfile", shortdesc="configuration file path",
        longdesc="The full path of the Apache configuration file. It is read for the pid "
                 "file, the listening address and the server-status location. Default: "
                 "the first that exists of /etc/apache2/httpd.conf (SUSE), "
                 "/etc/apache2/apache2.conf (Debian) and /etc/httpd/conf/httpd.conf (RHEL).")
    httpd = ocf.Path(
        shortdesc="httpd binary path",
        longdesc="The full path of the httpd binary. Default: the first executable of "
                 + ", ".join(HTTPD_CANDIDATES) + ". A path that is given but does not "
                 "exist is an error (the resource is not installed here).")
    port = ocf.Port(
        shortdesc="httpd port",
        longdesc="The port the status URL is fetched from when statusurl is not set. "
                 "Default: the port of the configuration's Listen directive, else 80.")
    statusurl = ocf.String(
        shortdesc="url name",
        longdesc="The URL to monitor (the server-status page by default). If left "
                 "unspecified, it is derived from the configuration: its server-status "
                 "<Location> on its first Listen address (127.0.0.1 for a wildcard). "
                 "HTTPS URLs are verified against the system's CA store (or cacert). "
                 "Make sure it answers only requests from this node.")
    testregex = ocf.String(
        default=DEFAULT_TESTREGEX, shortdesc="monitor regular expression",
        longdesc="Regular expression (extended POSIX syntax, case-insensitive) that the "
                 "page at statusurl must match.")
    client = ocf.String(
        shortdesc="http client (ignored)",
        longdesc="Accepted for compatibility with ocf:heartbeat:apache and ignored: the "
                 "agent has a built-in HTTP client (no wget or curl needed).")
    testurl = ocf.String(
        shortdesc="test url",
        longdesc="URL fetched by a monitor with OCF_CHECK_LEVEL 10. If it does not start "
                 "with http:// or https://, it is relative to the server's Listen address.")
    testregex10 = ocf.String(
        shortdesc="extended monitor regular expression",
        longdesc="Regular expression (extended POSIX, case-insensitive) that the page at "
                 "testurl must match.")
    testconffile = ocf.Path(
        shortdesc="test configuration file",
        longdesc="A file with test definitions for the OCF_CHECK_LEVEL 10 monitor, in the "
                 "format of ocf:heartbeat:apache: 'test NAME', then 'url', 'match', "
                 "optional 'user' and 'password' (HTTP basic authentication), 'end'. It "
                 "takes precedence over testurl/testregex10.")
    testname = ocf.String(
        shortdesc="test name",
        longdesc="Name of the test to run from testconffile (default: its first test).")
    options = ocf.String(
        shortdesc="command line options",
        longdesc="Extra options for httpd (see httpd(8)), e.g. '-DSSL' or "
                 "'-c \"LogLevel debug\"'; quotes group words. -D, -d, -C and -c are also "
                 "taken into account when reading the configuration. -f and -k are refused "
                 "(use configfile; the agent starts and stops the server itself).")
    envfiles = ocf.String(
        shortdesc="environment settings files",
        longdesc="Shell files (space separated) sourced for environment variables httpd "
                 "and its configuration use. Default: the envvars file of a Debian "
                 "layout (/etc/apache2[-NAME]/envvars, as apache2ctl uses it), else "
                 f"{DEBIAN_ENVVARS}; missing files are skipped. Set it to 'none' (or to "
                 "an empty string) to source nothing.")
    use_ipv6 = ocf.Boolean(
        default=False, shortdesc="use ipv6 with http clients",
        longdesc="Prefer IPv6: derived URLs use ::1 instead of 127.0.0.1 and host names "
                 "are connected to over IPv6 first.")
    cacert = ocf.Path(
        shortdesc="CA certificates for https URLs",
        longdesc="PEM file of CA certificates to verify HTTPS status and test URLs with, "
                 "instead of the system's store. Verification is always on.")

    # --------------------------------------------------------------- actions
    @ocf.action(timeout="40s")
    def start(self):
        with self.lock():
            master = self.find_master()
            if master is not None:
                self.log.info("%s is already running (PID %d)", self.binary_name, master)
                return ocf.SUCCESS
            self.reap_leftovers("before starting", self.scanned)
            if os.path.exists(self.pid_file):
                # httpd refuses to start ("already running") while its pid file names a
                # live process, even an unrelated one that reused the PID.
                self.log.info("removing stale pid file %s", self.pid_file)
                _remove(self.pid_file)
            environ = self.server_environment()
            self.prepare_directories(environ)
            # No separate `httpd -t`: the server checks its configuration as it starts
            # and exits with the same message, which launch() turns into the reason.
            return self.launch(environ)

    @ocf.action(timeout="60s")
    def stop(self):
        with self.lock():
            return self.shut_down()

    @ocf.action(timeout="20s", interval="10s", depth=0)
    def monitor(self):
        master = self.find_master()
        if master is None:
            leftovers = self.scanned
            if leftovers:
                raise ocf.ErrGeneric(
                    f"{self.binary_name} master process is gone but {len(leftovers)} of its "
                    f"processes still run (PIDs {_pids(leftovers)}); stop cleans them up")
            raise ocf.NotRunning(f"{self.binary_name} ({self.config_path}) is not running")
        busy = self.check_status(self.deadline, master)
        if self.env.check_level >= 10:
            self.check_depth10(self.deadline, master)
        if busy:
            raise ocf.OCFError(busy, code=ocf.DEGRADED)
        return ocf.SUCCESS

    @ocf.action(timeout="5s")
    def validate_all(self):
        """validate() ran (syntax at level 0); at level 10 also run httpd's syntax check."""
        if self.env.check_level >= 10:
            self.syntax_check(self.server_environment())

    # ------------------------------------------------------------ validation
    def validate(self):
        self.check_syntax_of_parameters()
        if self.env.action == "validate-all" and self.env.check_level < 10:
            return  # pcs calls validate-all on any node: parameter syntax only (A4)
        self.locate()
        self.derive_site()
        if self.testconffile:
            if not os.path.isfile(self.testconffile) or not os.access(self.testconffile,
                                                                        os.R_OK):
                raise ocf.ErrInstalled(f"testconffile {self.testconffile} not found or not "
                                       "readable")
            if self.env.action in ("start", "validate-all") or self.env.check_level >= 10:
                self.load_test_definition()

    def check_syntax_of_parameters(self):
        from ocfkit.httpcheck import parse_url

        pattern = self.testregex or DEFAULT_TESTREGEX
        self.status_regex = (_CLOSING_HTML_TAG if pattern == DEFAULT_TESTREGEX
                             else _compile("testregex", pattern))
        self.test_regex = (_compile("testregex10", self.testregex10)
                           if self.testregex10 else None)
        self.status_url_param = None
        if self.statusurl:
            try:
                self.status_url_param = parse_url(self.statusurl)
            except ValueError as exc:
                raise ocf.ErrConfigured(f"statusurl: {exc}")
        self.test_url_text = (self.testurl or "").strip()
        if self.testurl is not None and self.testurl and not self.test_url_text:
            raise ocf.ErrConfigured(f"testurl {self.testurl!r} is empty")
        if self.test_url_text.lower().startswith(("http://", "https://")):
            try:
                parse_url(self.test_url_text)
            except ValueError as exc:
                raise ocf.ErrConfigured(f"testurl: {exc}")
        if not self.testconffile and bool(self.test_url_text) != bool(self.test_regex):
            raise ocf.ErrConfigured("testurl and testregex10 must be set together")
        self.parse_options()
        self.parse_envfiles()

    def parse_options(self):
        self.extra_args, self.defines, self.before, self.after = [], [], [], []
        self.server_root_option = None
        if not self.options:
            return
        import shlex

        try:
            words = shlex.split(self.options)
        except ValueError as exc:
            raise ocf.ErrConfigured(f"options: {exc}")
        index = 0
        while index < len(words):
            word = words[index]
            flag, attached = word[:2], word[2:]
            if flag in ("-f", "-k"):
                raise ocf.ErrConfigured(
                    f"options must not contain {flag}: "
                    + ("use configfile" if flag == "-f" else "the agent starts and stops httpd"))
            if flag in ("-D", "-d", "-C", "-c") and word.startswith(flag):
                if attached:
                    value = attached
                elif index + 1 < len(words):
                    index += 1
                    value = words[index]
                else:
                    raise ocf.ErrConfigured(f"options: {flag} needs a value")
                {"-D": self.defines, "-C": self.before, "-c": self.after}.get(
                    flag, []).append(value)
                if flag == "-d":
                    self.server_root_option = value
                self.extra_args += [flag, value]
            else:
                self.extra_args.append(word)
            index += 1

    def parse_envfiles(self):
        raw = self.env.environ.get("OCF_RESKEY_envfiles")
        self.envfiles_given = raw is not None
        if raw is None:
            self.envfile_list = None  # default, chosen once the configuration is known
            return
        words = raw.split()
        if words in ([], ["none"]):
            self.envfile_list = []
            return
        for word in words:
            if not word.startswith("/"):
                raise ocf.ErrConfigured(f"envfiles: {word!r} is not an absolute path")
        self.envfile_list = words

    def locate(self):
        """The httpd binary and the configuration file, or the contract's code why not."""
        if self.httpd:
            if not os.path.isfile(self.httpd) or not os.access(self.httpd, os.X_OK):
                raise ocf.ErrInstalled(f"httpd {self.httpd} not found or not executable")
            self.binary = self.httpd
        else:
            self.binary = next((path for path in HTTPD_CANDIDATES
                                if os.path.isfile(path) and os.access(path, os.X_OK)), None)
            if self.binary is None:
                raise ocf.ErrInstalled("no Apache httpd binary found (looked for "
                                       + ", ".join(HTTPD_CANDIDATES) + ")")
        self.binary_name = os.path.basename(self.binary)
        if self.configfile:
            self.config_path = self.configfile
        else:
            self.config_path = next((path for path in CONFIG_CANDIDATES
                                     if os.path.exists(path)), CONFIG_CANDIDATES[-1])
        if os.path.exists(self.config_path) and not os.path.isfile(self.config_path):
            # a directory, or a FIFO that would block the read
            raise ocf.ErrInstalled(f"configuration file {self.config_path} is not a "
                                   "regular file" + (" (a directory)" if os.path.isdir(
                                       self.config_path) else ""))
        try:
            with open(self.config_path, "rb"):
                pass
        except PermissionError:
            raise ocf.ErrPerm(f"configuration file {self.config_path} is not readable")
        except OSError as exc:
            raise ocf.ErrInstalled(f"configuration file {self.config_path} not found "
                                   f"({exc.strerror})")
        # Debian names instances by directory (/etc/apache2-NAME); apache2ctl exports
        # APACHE_CONFDIR for envvars, passes -d for a non-default instance.
        directory = os.path.dirname(self.config_path)
        self.debian_confdir = None
        if (os.path.basename(self.config_path) == "apache2.conf"
                and (directory == "/etc/apache2" or directory.startswith("/etc/apache2-"))):
            self.debian_confdir = directory
        if self.envfile_list is None:
            envvars = os.path.join(self.debian_confdir or "/etc/apache2", "envvars")
            self.envfile_list = [envvars]
        self.server_root = self.server_root_option or (
            self.debian_confdir if self.debian_confdir else
            "/etc/apache2" if self.binary_name.startswith("apache") else "/etc/httpd")
        if self.debian_confdir and self.debian_confdir != "/etc/apache2" \
                and not self.server_root_option:
            self.extra_args += ["-d", self.debian_confdir]

    # ---------------------------------------------------- configuration facts
    def derive_site(self):
        """pid file, status URL and worker limit: from the cache, else from the files."""
        key = self.cache_key()
        facts = self.read_cache(key)
        if facts is None:
            facts, stamps = self.read_configuration()
            self.write_cache(key, stamps, facts)
        (self.pid_file, self.forced_pid_file, status_url, self.worker_limit,
         self.error_log, self.listen_base, self._server_environment) = facts
        from ocfkit.httpcheck import parse_url

        if self.status_url_param is not None:
            self.status_url = self.status_url_param
        elif status_url is None:
            raise ocf.ErrConfigured(
                f"{self.config_path} has no <Location> with 'SetHandler server-status' "
                "(enable mod_status) and statusurl is not set")
        else:
            self.status_url = parse_url(status_url)
        self.log.debug("%s with %s: pid file %s, status URL %s, worker limit %s",
                       self.binary, self.config_path, self.pid_file, self.status_url,
                       self.worker_limit)

    def read_configuration(self):
        from ocfkit.agents import apache_config

        # The env files run once per change of the files, then live in the cache:
        # a start needs them, and the configuration may use their variables.
        environ = self.server_environment()
        try:
            site = apache_config.read(
                self.config_path, server_root=self.server_root,
                defines=(*START_DEFINES, *self.defines), environ=environ,
                before=self.before, after=self.after)
        except apache_config.ConfigError as exc:
            raise ocf.ErrInstalled(f"reading the configuration: {exc}")
        forced = site.pid_file is None
        # No PidFile: the reference's path, so either agent finds the other's server.
        pid_file = site.pid_file or os.path.join(
            "/run", f"{self.binary_name}-{self.env.instance.replace('/', '_')}.pid")
        status_url, base = self.derive_status_url(site)
        facts = (pid_file, forced, status_url, site.worker_limit, site.error_log, base,
                 environ)
        watched = [self.config_path, *site.files, *site.watched_dirs, *self.envfile_list]
        return facts, _stamps(watched)

    def derive_status_url(self, site):
        """(status URL or None, base URL for relative test URLs) from the configuration."""
        loopback = "[::1]" if self.use_ipv6 else "127.0.0.1"

        def base(address, port, https):
            host = loopback if address is None else (
                f"[{address}]" if ":" in address else address)
            return f"{'https' if https else 'http'}://{host}:{self.port or port}"

        listens = site.listens
        chosen = next((item for item in listens if not item.is_https),
                      listens[0] if listens else None)
        listen_base = (base(chosen.address, chosen.port, chosen.is_https) if chosen
                       else base(None, 80, False))
        if not site.status_handlers:
            return None, listen_base
        handler = site.status_handlers[-1]  # the last one, as the reference does
        path = handler.path if handler.path.startswith("/") else "/" + handler.path
        if handler.vhost_port is not None:
            https = handler.ssl or handler.vhost_port == 443
            return base(handler.vhost_address, handler.vhost_port, https) + path, listen_base
        return listen_base + path, listen_base

    def cache_key(self):
        return (CACHE_VERSION, self.binary, self.config_path, self.server_root,
                tuple(self.extra_args), tuple(self.envfile_list), self.port,
                self.use_ipv6, self.env.instance)

    def read_cache(self, key):
        import marshal

        try:
            with open(self.state_path("site"), "rb") as handle:
                cached_key, stamps, facts = marshal.load(handle)
        except (OSError, ValueError, EOFError, TypeError):
            return None
        if cached_key != key or _stamps(path for path, _ in stamps) != stamps:
            return None
        return facts

    def write_cache(self, key, stamps, facts):
        import marshal

        try:
            path = self.state_path("site")
            temporary = f"{path}.{os.getpid()}"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                         0o600)  # it holds the environment httpd runs with
            with open(fd, "wb") as handle:
                marshal.dump((key, stamps, facts), handle)
            os.replace(temporary, path)
        except (OSError, ocf.OCFError) as exc:
            self.log.debug("cannot cache the configuration facts: %s", exc)

    def server_environment(self):
        """The environment httpd runs with: ours minus the cluster's, plus the env files."""
        if getattr(self, "_server_environment", None) is not None:
            return self._server_environment
        environ = {key: value for key, value in self.env.environ.items()
                   if not key.startswith(("OCF_", "HA_", "PCMK_"))}
        environ.setdefault("PATH", DEFAULT_PATH)
        if self.debian_confdir:
            environ["APACHE_CONFDIR"] = self.debian_confdir
        files = [path for path in self.envfile_list if os.path.isfile(path)]
        if files:
            environ = _source(files, environ, self.deadline)
        self._server_environment = environ
        return environ

    # ------------------------------------------------------------- processes
    def server_args(self):
        args = [f"-D{name}" for name in START_DEFINES] + self.extra_args
        args += ["-f", self.config_path]
        if self.forced_pid_file:
            args += ["-c", f"PidFile {self.pid_file}"]
        return args

    def uses_our_config(self, argv):
        """True when a command line of our binary runs our configuration file."""
        given = None
        for index, arg in enumerate(argv[1:], 1):
            if arg == "-f" and index + 1 < len(argv):
                given = argv[index + 1]
            elif arg.startswith("-f") and len(arg) > 2:
                given = arg[2:]
        if given is None:
            # Started without -f (apache2ctl, systemd): it runs the compiled-in default.
            return self.config_path in CONFIG_CANDIDATES
        return given == self.config_path or (
            os.path.realpath(given) == os.path.realpath(self.config_path))

    def find_master(self):
        """PID of this instance's master httpd, or None.

        The pid file is the fast path. Without a live one, /proc is searched for a root
        process of our binary and configuration whose parent is not one of them: the
        server runs even if its pid file was removed (or written elsewhere, as the
        reference agent does for configurations without PidFile).
        """
        self.scanned = None
        pid = proc.pidfile_process(self.pid_file, names={self.binary_name})
        if pid is not None:
            argv = proc.cmdline(pid)
            if argv and self.uses_our_config(argv):
                return pid
        table = self.scanned = self.instance_processes()
        masters = [pid for pid, (ppid, uid) in table.items() if uid == 0 and ppid not in table]
        if not masters:
            return None
        master = min(masters)
        self.log.warning("pid file %s does not name the running %s; found its master "
                         "process PID %d", self.pid_file, self.binary_name, master)
        return master

    def instance_processes(self):
        """{pid: (ppid, uid)} of every process of our binary with our configuration.

        Only processes in our network namespace count: a container or a test cluster
        node on the same host may run the same configuration path. (Mount namespaces are
        not compared: ``ip netns exec`` gives every command a new one.)
        """
        found = {}
        try:
            entries = os.listdir("/proc")
            namespaces = _namespaces("self")
        except OSError:
            return found
        binary = os.path.realpath(self.binary)
        for entry in entries:
            if not entry.isdigit():
                continue
            pid = int(entry)
            # /proc/PID/exe is one readlink, a third of the cost of reading cmdline
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
                if exe != binary and exe != binary + " (deleted)":
                    continue
            except PermissionError:
                pass  # not root: the command line decides
            except OSError:
                continue  # gone, or a kernel thread
            argv = proc.cmdline(pid)
            if not argv or os.path.basename(argv[0]) != self.binary_name:
                continue
            if not self.uses_our_config(argv) or _namespaces(pid) != namespaces:
                continue
            info = _ppid_uid(pid)
            if info is not None:
                found[pid] = info
        return found

    def reap_leftovers(self, when, scanned=None):
        leftovers = self.instance_processes() if scanned is None else scanned
        if not leftovers:
            return
        self.log.warning("killing %d leftover %s processes %s", len(leftovers),
                         self.binary_name, when)
        pids = _with_descendants(list(leftovers))
        remaining = proc.stop_processes(pids, self.deadline.within(5.0),
                                        steps=((proc.SIGKILL, 1.0),), log=self.log)
        if remaining:
            raise ocf.ErrGeneric(f"leftover {self.binary_name} processes {_pids(remaining)} "
                                 "survive SIGKILL")

    def prepare_directories(self, environ):
        """Create what apache2ctl would: the pid file's directory, Debian's run/lock dirs."""
        owner = environ.get("APACHE_RUN_USER")
        wanted = [(os.path.dirname(self.pid_file), None)]
        if environ.get("APACHE_RUN_DIR"):
            wanted.append((environ["APACHE_RUN_DIR"], None))
        if environ.get("APACHE_LOCK_DIR"):
            wanted.append((environ["APACHE_LOCK_DIR"], owner))
        for directory, user in wanted:
            if not directory or os.path.isdir(directory):
                continue
            try:
                os.makedirs(directory, mode=0o755, exist_ok=True)
                if user:
                    import pwd

                    entry = pwd.getpwnam(user)
                    os.chown(directory, entry.pw_uid, entry.pw_gid)
            except (OSError, KeyError) as exc:
                raise ocf.ErrGeneric(f"cannot create directory {directory}: {exc}")

    def syntax_check(self, environ):
        argv = [self.binary, "-t", *self.server_args()]
        try:
            result = proc.run(argv, env=environ, deadline=self.deadline, log=self.log)
        except proc.CommandError as exc:
            raise ocf.ErrGeneric(f"syntax check: {exc}")
        if result.returncode == 0:
            return
        message = _first_lines(result.stderr + result.stdout) or f"exit {result.returncode}"
        raise _configuration_error(f"{self.binary_name} -t: {message}") or ocf.ErrConfigured(
            f"{self.binary_name} -t: {message}")

    def launch(self, environ):
        """Start httpd in the foreground of a new session; wait until the status page works."""
        start_log = self.state_path("start.log")
        _remove(start_log)
        argv = [self.binary, *self.server_args()]
        try:
            pid = proc.spawn_daemon(argv, env=environ, stdout=start_log, stderr=start_log,
                                    log=self.log)
        except proc.CommandError as exc:
            raise ocf.ErrGeneric(str(exc))
        # Keep time to clean up if the server never becomes ready.
        total = self.deadline.remaining()
        ready_by = ocf.Deadline(total - min(5.0, total * 0.2))
        waiter = _StartWaiter(self, pid, start_log)
        try:
            if ready_by.poll(waiter.ready, interval=0.001, max_interval=0.05):
                self.log.info("%s started (PID %d) in %.3fs", self.binary_name, pid,
                              self.deadline.elapsed())
                return ocf.SUCCESS
            reason = (f"{self.status_url} did not become ready within "
                      f"{ready_by.seconds:.1f}s: {waiter.last_failure or 'no answer'}")
        except _StartFailed as exc:
            reason = str(exc)
        finally:
            _remove(start_log)
        self.clean_up_failed_start(pid)
        raise _configuration_error(reason) or ocf.ErrGeneric(reason)

    def clean_up_failed_start(self, pid):
        pids = _with_descendants([pid, *self.instance_processes()])
        left = proc.stop_processes(pids, self.deadline,
                                   steps=((proc.SIGTERM, 0.3), (proc.SIGKILL, 1.0)),
                                   log=self.log)
        _reap(pid)
        if proc.read_pidfile(self.pid_file) == pid:
            _remove(self.pid_file)
        if left:
            self.log.error("processes %s survived the clean-up of a failed start", _pids(left))

    def shut_down(self):
        master = self.find_master()
        if master is None:
            self.reap_leftovers("although the master is gone", self.scanned)
            self.forget_site()
            self.log.info("%s (%s) is not running", self.binary_name, self.config_path)
            return ocf.SUCCESS
        # Graceful: SIGWINCH lets workers finish their requests (as `apachectl
        # graceful-stop`), for at most half the operation's timeout, like the reference.
        graceful = self.deadline.within(self.env.timeout / 2)
        self.log.info("graceful stop of %s PID %d (up to %.1fs)", self.binary_name,
                      master, graceful.seconds)
        proc.signal_pids([master], proc.SIGWINCH)
        if not graceful.poll(_GracefulStop(self.binary_name, master).done, interval=0.005,
                             max_interval=0.1):
            self.log.warning("%s PID %d still running after %.1fs of graceful stop; "
                             "sending SIGTERM", self.binary_name, master, graceful.seconds)
            pids = _with_descendants([master])
            proc.stop_processes(pids, self.deadline, steps=(
                (proc.SIGTERM, 0.5), (proc.SIGKILL, 1.0)), log=self.log)
        leftovers = _with_descendants(list(self.instance_processes()))
        if leftovers:
            self.log.warning("killing %d processes left behind: %s", len(leftovers),
                             _pids(leftovers))
            proc.stop_processes(leftovers, self.deadline, steps=((proc.SIGKILL, 1.0),),
                                log=self.log)
        still = [pid for pid in [master, *self.instance_processes()] if proc.is_alive(pid)]
        if still:
            raise ocf.ErrGeneric(f"{self.binary_name} processes {_pids(still)} survive SIGKILL")
        if proc.read_pidfile(self.pid_file) == master:
            _remove(self.pid_file)  # httpd removes it on a clean exit, not when killed
        self.forget_site()
        self.log.info("%s stopped in %.3fs", self.binary_name, self.deadline.elapsed())
        return ocf.SUCCESS

    def forget_site(self):
        """Drop the cached configuration facts: a stopped resource leaves no state."""
        try:
            _remove(self.state_path("site"))
        except ocf.OCFError:
            pass

    # --------------------------------------------------------------- checks
    def fetch(self, url, deadline, auth=None):
        from ocfkit.httpcheck import fetch

        return fetch(url, deadline, ca_file=self.cacert, prefer_ipv6=self.use_ipv6,
                     auth=auth)

    def check_status(self, deadline, master=None):
        """The depth-0 check: raises ErrGeneric with the reason of a failure; returns
        why the server is degraded (every worker it may run is busy) or None."""
        text = self.fetch_and_match(self.status_url, self.status_regex, "testregex",
                                    deadline, master)
        busy = _worker_counts(text)
        if busy is not None:
            busy_workers, idle_workers = busy
            limit = self.worker_limit
            if idle_workers == 0 and (limit is None or busy_workers >= limit):
                return (f"all {busy_workers} workers of {self.binary_name} are busy"
                        + (f" (MaxRequestWorkers {limit})" if limit else ""))
        return None

    def fetch_and_match(self, url, regex, regex_name, deadline, master=None, auth=None):
        from ocfkit.httpcheck import HTTPCheckError

        try:
            response = self.fetch(url, deadline, auth)
        except HTTPCheckError as exc:
            detail = str(exc)
            if exc.kind == "timeout" and master is not None and proc.state(master) == "T":
                detail += f" ({self.binary_name} PID {master} is stopped)"
            raise _CheckFailed(f"{url}: {detail}")
        if not 200 <= response.status < 300:
            where = f"{url}" + (f" (redirected to {response.url})" if response.url != str(url)
                                else "")
            raise _CheckFailed(f"{where} answered HTTP {response.status} {response.reason}",
                               answered=400 <= response.status < 500)
        text = response.text()
        if not regex.search(text):
            raise _CheckFailed(f"{url} answered HTTP {response.status} but the page does not "
                               f"match {regex_name} {regex.pattern!r}", answered=True)
        return text

    def check_depth10(self, deadline, master):
        if self.testconffile:
            url, regex, auth = self.test_definition
        elif self.test_url_text:
            url, regex, auth = self.absolute_test_url(self.test_url_text), self.test_regex, None
        else:
            return  # nothing more configured: level 10 is level 0
        self.fetch_and_match(url, regex, "the test's regular expression", deadline, master,
                             auth)

    def absolute_test_url(self, text):
        from ocfkit.httpcheck import parse_url

        if not text.lower().startswith(("http://", "https://")):
            text = self.listen_base + (text if text.startswith("/") else "/" + text)
        try:
            return parse_url(text)
        except ValueError as exc:
            raise ocf.ErrConfigured(f"test URL: {exc}")

    def load_test_definition(self):
        """The chosen test of testconffile: (URL, compiled regex, auth or None)."""
        try:
            with open(self.testconffile, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            raise ocf.ErrInstalled(f"testconffile {self.testconffile}: {exc.strerror}")
        test = _parse_tests(lines, self.testname, self.testconffile)
        if test.get("password"):
            self.log.secrets.add(test["password"])
        for ignored in ("client", "client_opts"):
            if ignored in test:
                self.log.warning("testconffile %s: '%s' is ignored (built-in HTTP client)",
                                 self.testconffile, ignored)
        auth = (test["user"], test["password"]) if test.get("user") else None
        regex = _compile("match in testconffile", test["match"])
        self.test_definition = (self.absolute_test_url(test["url"]), regex, auth)


class _StartWaiter:
    """One readiness check per poll: child alive, pid file ours, status page right."""

    def __init__(self, agent, pid, start_log):
        self.agent, self.pid, self.start_log = agent, pid, start_log
        self.last_failure = None

    def ready(self):
        agent = self.agent
        status = _reap(self.pid)
        if status is not None:
            output = ""
            try:
                with open(self.start_log, encoding="utf-8", errors="replace") as handle:
                    output = _first_lines(handle.read())
            except OSError:
                pass
            hint = f"; see {agent.error_log}" if agent.error_log else ""
            raise _StartFailed(f"{agent.binary_name} exited during start ({status})"
                               + (f": {output}" if output else hint))
        # The check first: once httpd listens, the connection waits in the kernel's
        # backlog until a worker answers, so readiness is seen the moment it happens.
        # Until our PID is in the pid file a short wait, though: what listens may be
        # another program on our port, while our httpd fails to bind and exits.
        ours = proc.read_pidfile(agent.pid_file) == self.pid
        try:
            agent.check_status(agent.deadline.within(2.0 if ours else 0.05), self.pid)
        except _CheckFailed as exc:
            if exc.answered:  # the server works and says no: waiting will not change it
                raise _StartFailed(exc.reason) from None
            self.last_failure = exc.reason
            return False
        if proc.read_pidfile(agent.pid_file) != self.pid:  # written before it serves
            self.last_failure = (f"the status page answers but {agent.pid_file} does not "
                                 f"name PID {self.pid}")
            return False
        return True  # answering (perhaps busy: that is for monitor to report)


class _GracefulStop:
    """Poll condition of a graceful stop: the master has exited.

    After SIGWINCH the workers finish their requests and exit, but the master then
    sleeps in whole seconds before it notices (httpd's graceful-stop loop). Once no
    worker is left nothing is in flight, so a SIGTERM ends that wait without cutting
    a request short.
    """

    def __init__(self, binary_name, master):
        self.binary_name, self.master = binary_name, master
        self.terminated = False

    def done(self):
        if not proc.is_alive(self.master):
            return True
        if not self.terminated:
            workers = [pid for pid in proc.children(self.master)
                       if proc.matches(pid, {self.binary_name})]
            if not workers:
                proc.signal_pids([self.master], proc.SIGTERM)
                self.terminated = True
        return False


class _StartFailed(Exception):
    pass


class _CheckFailed(ocf.ErrGeneric):
    """A failed HTTP check. ``answered``: the server gave a definite wrong answer (4xx,
    a page that does not match), as opposed to no answer yet (refused, timeout, 5xx)."""

    def __init__(self, reason, answered=False):
        super().__init__(reason)
        self.answered = answered


# ------------------------------------------------------------------- helpers
def _compile(name, pattern):
    """An extended POSIX regex (as grep -Ei uses it) compiled case-insensitively."""
    import re

    try:
        return re.compile(_posix_classes(pattern), re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        raise ocf.ErrConfigured(f"{name} {pattern!r} is not a valid regular expression: {exc}")


class _ClosingHtmlTag:
    """The default testregex, ``</ *html *>`` case-insensitively, without ``re``.

    Importing ``re`` costs 4-7 ms of CPU, a quarter of a whole monitor, and almost
    every monitor uses this default. tests/apache/test_units.py checks that it finds
    exactly what ``re`` finds.
    """

    pattern = DEFAULT_TESTREGEX

    @staticmethod
    def search(text):
        text = text.lower()
        start = text.find("</")
        while start >= 0:
            index = start + 2
            while text.startswith(" ", index):
                index += 1
            if text.startswith("html", index):
                index += 4
                while text.startswith(" ", index):
                    index += 1
                if text.startswith(">", index):
                    return True
            start = text.find("</", start + 1)
        return False


_CLOSING_HTML_TAG = _ClosingHtmlTag()

_POSIX_CLASSES = {
    "[:alpha:]": "a-zA-Z", "[:digit:]": "0-9", "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z", "[:lower:]": "a-z", "[:space:]": r"\s", "[:blank:]": r" \t",
    "[:xdigit:]": "0-9A-Fa-f", "[:punct:]": r"!-/:-@\[-`{-~", "[:print:]": r" -~",
    "[:graph:]": r"!-~", "[:cntrl:]": r"\x00-\x1f\x7f",
}


def _posix_classes(pattern):
    """Python's re lacks POSIX bracket classes ([[:digit:]]); spell them as ranges."""
    for name, spelled in _POSIX_CLASSES.items():
        pattern = pattern.replace(name, spelled)
    return pattern


def _worker_counts(text):
    """(busy, idle) workers from a mod_status page (HTML or ?auto), or None."""
    marker = "requests currently being processed"
    if marker in text:
        before, _, after = text.partition(marker)
        busy = before.rsplit(">", 1)[-1].split()
        idle = after.partition("idle workers")[0].rsplit(",", 1)[-1].split()
        if busy and idle and busy[-1].isdigit() and idle[-1].isdigit():
            return int(busy[-1]), int(idle[-1])
        return None
    if "BusyWorkers:" in text and "IdleWorkers:" in text:
        busy = text.partition("BusyWorkers:")[2].split(None, 1)
        idle = text.partition("IdleWorkers:")[2].split(None, 1)
        if busy and idle and busy[0].isdigit() and idle[0].isdigit():
            return int(busy[0]), int(idle[0])
    return None


def _parse_tests(lines, wanted, path):
    """The reference's test file format: 'test NAME' ... 'end'; the named or first test."""
    test, reading = None, False
    for number, line in enumerate(lines, 1):
        key, _, value = line.strip().partition(" ")
        value = value.strip()
        if not reading:
            if key == "test" and (not wanted or value == wanted):
                test, reading = {"name": value}, True
            continue
        if key == "end":
            break
        if key in ("url", "user", "password", "client", "client_opts", "match"):
            test[key] = value
        elif key and not key.startswith("#"):
            raise ocf.ErrConfigured(f"testconffile {path}:{number}: unknown keyword {key!r}")
    if test is None:
        raise ocf.ErrConfigured(f"testconffile {path} has no test "
                                + (f"named {wanted!r}" if wanted else "definition"))
    if not test.get("url") or not test.get("match"):
        raise ocf.ErrConfigured(f"testconffile {path}: test {test['name']!r} needs both "
                                "'url' and 'match'")
    if bool(test.get("user")) != bool(test.get("password")):
        raise ocf.ErrConfigured(f"testconffile {path}: test {test['name']!r} needs both "
                                "'user' and 'password' or neither")
    return test


def _source(files, environ, deadline):
    """The environment after sourcing shell ``files`` (they may hold any shell code).

    Spawned with os.posix_spawn rather than subprocess: importing subprocess costs
    ~9 ms of CPU, four times what running the shell does.
    """
    import select

    script = ('for envfile do if [ -r "$envfile" ]; then . "$envfile" || exit 1; fi; done; '
              'exec env -0')
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawn(
            "/bin/sh", ["sh", "-c", script, "sh", *files], environ,
            file_actions=[(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                          (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)],
            setsigdef=(13, 25))  # SIGPIPE, SIGXFSZ: Python ignores them, a shell must not
    except OSError as exc:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        raise ocf.ErrInstalled(f"cannot run /bin/sh: {exc.strerror}")
    os.close(out_w)
    os.close(err_w)
    chunks = {out_r: [], err_r: []}
    limit = deadline.within(10.0)
    try:
        while chunks and limit.remaining() > 0:
            ready, _, _ = select.select(list(chunks), [], [], limit.remaining())
            for fd in ready:
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    os.close(fd)
                    output = chunks.pop(fd)
                    if fd == out_r:
                        stdout = b"".join(output)
                    else:
                        stderr = b"".join(output)
    finally:
        for fd in chunks:
            os.close(fd)
    if chunks:
        proc.signal_pids([pid], proc.SIGKILL)
        os.waitpid(pid, 0)
        raise ocf.ErrInstalled(f"sourcing {' '.join(files)} did not finish in time")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        detail = _first_lines(stderr.decode("utf-8", "replace")) or f"status {status}"
        raise ocf.ErrInstalled(f"sourcing {' '.join(files)} failed: {detail}")
    out = {}
    for item in stdout.decode("utf-8", "surrogateescape").split("\0"):
        key, sep, value = item.partition("=")
        if sep and key:
            out[key] = value
    return out


def _stamps(paths):
    """[(path, stat signature)] so that a cached result is reused only while unchanged."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append((path, (st.st_ino, st.st_size, st.st_mtime_ns)))
        except OSError:
            out.append((path, None))
    return out


def _namespaces(pid):
    """Identity of the network namespace of ``pid`` (None if it is gone)."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _ppid_uid(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        uid = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[1]), uid


def _with_descendants(pids):
    """``pids`` and every process below them, from one scan of /proc."""
    children = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return list(pids)
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    data = handle.read()
                ppid = int(data[data.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    seen, queue = [], list(pids)
    while queue:
        pid = queue.pop(0)
        if pid not in seen:
            seen.append(pid)
            queue.extend(children.get(pid, ()))
    return seen


def _reap(pid):
    """Exit status text of our child ``pid`` once it has exited, else None."""
    try:
        waited, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if proc.is_alive(pid) else "exited"
    if not waited:
        return None
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"


def _configuration_error(message):
    """The error for httpd's own configuration check failing, or None for other failures."""
    if "Cannot load" in message:  # a module file missing on this node
        return ocf.ErrInstalled(message)
    if "Syntax error" in message or "AH00526" in message:
        return ocf.ErrConfigured(message)
    return None


def _first_lines(text, count=3, limit=400):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if line != "Syntax OK"][:count]
    joined = ""
    for line in lines:  # "...Syntax error on line 3 of X:" continues on the next line
        joined += (" " if joined.endswith(":") else "; " if joined else "") + line
    return joined[:limit]


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _pids(pids):
    return " ".join(str(pid) for pid in sorted(pids))
