"""Read what the Apache agent needs from an httpd configuration, without running httpd.

The agent needs four facts: where the server writes its pid file, where it listens,
which URL the ``server-status`` handler answers, and how many workers it may run.
``httpd -t -D DUMP_...`` could tell most of that, but costs a fork and ~20 ms per
monitor, so the configuration is read here the way httpd reads it, as far as these
facts go:

- ``Include``/``IncludeOptional`` with wildcards and directories (sorted, recursive),
  relative to ``ServerRoot``;
- ``${VAR}`` from ``Define`` and from the environment (Debian's ``envvars``);
- ``<IfModule>`` (static modules plus ``LoadModule``), ``<IfDefine>`` (``-D`` options
  and ``Define``), ``<IfFile>``; ``<IfVersion>`` is taken as true for 2.4 tests;
- the ``-C``/``-c`` directives of the command line, before/after the file.

Everything else is skipped: validating the syntax is httpd's own job (``httpd -t``,
which the agent runs before every start).
"""

import os

# Modules compiled into Debian's apache2 and RHEL's httpd (``httpd -l``), by source
# file name and by module identifier, as <IfModule> accepts both.
STATIC_MODULES = frozenset((
    "core.c", "core_module", "http_core.c", "http_module", "mod_so.c", "so_module",
    "mod_watchdog.c", "watchdog_module", "mod_log_config.c", "log_config_module",
    "mod_logio.c", "logio_module", "mod_version.c", "version_module", "mod_unixd.c",
    "unixd_module",
))
# What the MPMs allow when MaxRequestWorkers is not set (httpd 2.4 documentation).
MPM_DEFAULT_WORKERS = {"prefork": 256}
EVENT_DEFAULT_SERVER_LIMIT, EVENT_DEFAULT_THREADS = 16, 25
MAX_INCLUDE_DEPTH = 32


class ConfigError(Exception):
    """The configuration cannot be read (a missing or unreadable file)."""


class Listen:
    __slots__ = ("address", "port", "protocol")

    def __init__(self, address, port, protocol):
        self.address, self.port, self.protocol = address, port, protocol

    @property
    def is_https(self):
        return self.protocol == "https" or (self.protocol is None and self.port == 443)

    def __repr__(self):
        return f"<Listen {self.address or '*'}:{self.port} {self.protocol or ''}>"


class StatusHandler:
    """A ``<Location>`` whose handler is ``server-status``, and the virtual host around it."""

    __slots__ = ("path", "vhost_address", "vhost_port", "server_name", "ssl")

    def __init__(self, path, vhost=None):
        self.path = path
        self.vhost_address = vhost.address if vhost else None
        self.vhost_port = vhost.port if vhost else None
        self.server_name = vhost.server_name if vhost else None
        self.ssl = vhost.ssl if vhost else False

    def __repr__(self):
        return f"<StatusHandler {self.path} vhost={self.vhost_address}:{self.vhost_port}>"


class _VirtualHost:
    __slots__ = ("address", "port", "server_name", "ssl", "handlers")

    def __init__(self, address, port):
        self.address, self.port = address, port
        self.server_name, self.ssl, self.handlers = None, False, []


class ApacheConfig:
    """The facts read from one configuration (see ``read``)."""

    def __init__(self, path, server_root):
        self.path = path
        self.server_root = server_root
        self.pid_file = None          # absolute, or None when the file sets none
        self.error_log = None         # the main server's error log file, if a file
        self.listens = []             # [Listen] in configuration order
        self.status_handlers = []     # [StatusHandler] in configuration order
        self.modules = set(STATIC_MODULES)
        self.mpm = None               # "prefork", "worker", "event" (from LoadModule)
        self.max_workers = None       # MaxRequestWorkers/MaxClients as configured
        self.server_limit = None
        self.threads_per_child = None
        self.files = []               # every file read, in order
        self.watched_dirs = []        # directories whose listing an Include depends on
        self.undefined = []           # ${VAR}s that were not defined

    @property
    def worker_limit(self):
        """How many requests the server may serve at once (MaxRequestWorkers)."""
        if self.max_workers is not None:
            return self.max_workers
        if self.mpm == "prefork":
            return min(self.server_limit or 256, MPM_DEFAULT_WORKERS["prefork"])
        if self.mpm in ("worker", "event"):
            return ((self.server_limit or EVENT_DEFAULT_SERVER_LIMIT)
                    * (self.threads_per_child or EVENT_DEFAULT_THREADS))
        return None

    def __repr__(self):
        return (f"<ApacheConfig {self.path} pid={self.pid_file} listens={self.listens} "
                f"status={self.status_handlers} workers={self.worker_limit}>")


def read(path, *, server_root, defines=(), environ=None, before=(), after=()):
    """Read ``path`` (and what it includes); return an ``ApacheConfig``.

    ``server_root`` is httpd's compiled-in or ``-d`` ServerRoot, ``defines`` the
    names given with ``-D``, ``environ`` the environment httpd will run with (any
    mapping: it is only consulted for ``${VAR}``s that no ``Define`` set), and
    ``before``/``after`` the directives of ``-C``/``-c``. Raises ``ConfigError``
    when ``path`` itself or a non-optional included file cannot be read.
    """
    config = ApacheConfig(path, server_root)
    reader = _Reader(config, set(defines), environ if environ is not None else {})
    for line in before:
        reader.directive(line, "-C option")
    reader.read_file(path, optional=False, depth=0)
    for line in after:
        reader.directive(line, "-c option")
    reader.finish()
    return config


class _Reader:
    def __init__(self, config, defines, environ):
        self.config = config
        self.defines = defines
        self.variables = {}
        self.environ = environ
        # One entry per open section: [name, active, kind-specific context]
        self.stack = []
        self.vhost = None
        self.location = None

    # ------------------------------------------------------------------ files
    def read_file(self, path, optional, depth):
        if depth > MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{path}: includes nested more than {MAX_INCLUDE_DEPTH} deep")
        if os.path.isdir(path):
            return self.read_directory(path, depth)
        try:
            if os.path.exists(path) and not os.path.isfile(path):
                raise OSError(0, "not a regular file")  # a FIFO would block the read
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            if optional:
                return None
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        self.config.files.append(path)
        text = data.decode("utf-8", "surrogateescape")
        continued = ""
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw.rstrip("\r")
            if line.endswith("\\"):
                continued += line[:-1]
                continue
            line, continued = (continued + line).strip(), ""
            if line and not line.startswith("#"):
                self.directive(line, f"{path}:{number}", depth)
        return None

    def read_directory(self, path, depth):
        self.config.watched_dirs.append(path)
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise ConfigError(f"cannot list {path}: {exc.strerror}") from None
        for name in names:
            self.read_file(os.path.join(path, name), optional=True, depth=depth + 1)

    def include(self, pattern, optional, depth):
        pattern = self.relative(pattern)
        if not any(c in pattern for c in "*?["):
            if os.path.isdir(pattern):
                return self.read_directory(pattern, depth)
            return self.read_file(pattern, optional, depth + 1)
        import glob

        # httpd expands wildcards in the last component (and, for IncludeOptional,
        # in directories); the listings matter for whether a cached result is stale.
        directory = pattern
        while any(c in directory for c in "*?["):
            directory = os.path.dirname(directory)
        self.config.watched_dirs.append(directory)
        for match in sorted(glob.glob(pattern)):
            if os.path.isdir(match):
                self.read_directory(match, depth)
            else:
                self.read_file(match, optional=True, depth=depth + 1)
        return None

    def relative(self, path):
        return path if path.startswith("/") else os.path.join(self.config.server_root, path)

    # ------------------------------------------------------------- directives
    def expand(self, line):
        """httpd's ${VAR} substitution: Define'd variables first, then the environment."""
        if "${" not in line:
            return line
        out, rest = [], line
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, closed, tail = after.partition("}")
            out.append(before)
            if not closed:
                out.append("${" + after)
                rest = ""
                break
            if name in self.variables:
                out.append(self.variables[name])
            elif name in self.environ:
                out.append(self.environ[name])
            else:
                self.config.undefined.append(name)
                out.append("${" + name + "}")
            rest = tail
        out.append(rest)
        return "".join(out)

    def active(self):
        return not self.stack or self.stack[-1][1]

    def directive(self, line, where, depth=0):
        line = self.expand(line)
        if line.startswith("</"):
            self.close(line[2:].rstrip(">").strip().lower())
            return
        if line.startswith("<"):
            self.open(line[1:].rstrip().rstrip(">"))
            return
        if not self.active():
            return
        words = split_words(line)
        if not words:
            return
        name, args = words[0].lower(), words[1:]
        handler = _DIRECTIVES.get(name)
        if handler is not None:
            handler(self, args, depth)

    def open(self, text):
        words = split_words(text)
        if not words:
            self.stack.append(["", self.active(), None])
            return
        name, args = words[0].lower(), words[1:]
        parent = self.active()
        context = None
        if name == "ifmodule":
            active = self.test(args, lambda module: _module_loaded(self.config, module))
        elif name == "ifdefine":
            active = self.test(args, lambda define: define in self.defines)
        elif name == "iffile":
            active = self.test(args, lambda path: os.path.exists(self.relative(path)))
        elif name == "virtualhost" and parent:
            active = True
            context = self.vhost = _virtual_host(args)
        elif name == "location" and parent:
            active = True
            context = self.location = args[0] if args else None
        else:
            active = True  # <IfVersion>, <If>, <Directory> ...: their content counts
        self.stack.append([name, parent and active, context])

    @staticmethod
    def test(args, check):
        if not args:
            return False
        argument = args[0]
        negate = argument.startswith("!")
        return check(argument[1:] if negate else argument) != negate

    def close(self, name):
        if not self.stack:
            return
        section = self.stack.pop()
        if section[0] == "virtualhost" and section[2] is not None:
            for handler_path in section[2].handlers:
                self.config.status_handlers.append(StatusHandler(handler_path, section[2]))
            self.vhost = None
        elif section[0] == "location":
            self.location = None

    def finish(self):
        while self.stack:  # an unclosed section: httpd -t reports it, we keep what we read
            self.close(self.stack[-1][0])

    # handlers of the directives that matter; ``args`` are already split and unquoted
    def d_serverroot(self, args, depth):
        if args:
            self.config.server_root = args[0].rstrip("/") or "/"

    def d_include(self, args, depth):
        for pattern in args[:1]:
            self.include(pattern, optional=False, depth=depth)

    def d_includeoptional(self, args, depth):
        for pattern in args[:1]:
            self.include(pattern, optional=True, depth=depth)

    def d_loadmodule(self, args, depth):
        if not args:
            return
        identifier = args[0]
        self.config.modules.add(identifier)
        if identifier.endswith("_module"):
            self.config.modules.add(f"mod_{identifier[:-7]}.c")
        if len(args) > 1:
            stem = os.path.basename(args[1]).rsplit(".", 1)[0]
            self.config.modules.add(stem + ".c")
        if identifier.startswith("mpm_") and identifier.endswith("_module"):
            self.config.mpm = identifier[4:-7]

    def d_define(self, args, depth):
        if args:
            self.defines.add(args[0])
            self.variables[args[0]] = args[1] if len(args) > 1 else ""

    def d_undefine(self, args, depth):
        if args:
            self.defines.discard(args[0])
            self.variables.pop(args[0], None)

    def d_pidfile(self, args, depth):
        if args:
            self.config.pid_file = self.relative(args[0])

    def d_errorlog(self, args, depth):
        if self.vhost is None and args:
            target = args[0]
            piped = target.startswith("|") or target.startswith("syslog")
            self.config.error_log = None if piped else self.relative(target)

    def d_listen(self, args, depth):
        if not args:
            return
        address, port = split_listen(args[0])
        if port is not None:
            protocol = args[1].lower() if len(args) > 1 else None
            self.config.listens.append(Listen(address, port, protocol))

    def d_sethandler(self, args, depth):
        if self.location and args and args[0].lower() == "server-status":
            if self.vhost is not None:
                self.vhost.handlers.append(self.location)
            else:
                self.config.status_handlers.append(StatusHandler(self.location))

    def d_maxrequestworkers(self, args, depth):
        if args and args[0].isdigit():
            self.config.max_workers = int(args[0])

    def d_serverlimit(self, args, depth):
        if args and args[0].isdigit():
            self.config.server_limit = int(args[0])

    def d_threadsperchild(self, args, depth):
        if args and args[0].isdigit():
            self.config.threads_per_child = int(args[0])

    def d_servername(self, args, depth):
        if self.vhost is not None and args:
            name = args[0].split("://")[-1]
            self.vhost.server_name = name.rsplit(":", 1)[0] if "]" not in name else name

    def d_sslengine(self, args, depth):
        if self.vhost is not None and args:
            self.vhost.ssl = args[0].lower() == "on"


_DIRECTIVES = {
    "serverroot": _Reader.d_serverroot,
    "include": _Reader.d_include,
    "includeoptional": _Reader.d_includeoptional,
    "loadmodule": _Reader.d_loadmodule,
    "define": _Reader.d_define,
    "undefine": _Reader.d_undefine,
    "pidfile": _Reader.d_pidfile,
    "listen": _Reader.d_listen,
    "errorlog": _Reader.d_errorlog,
    "sethandler": _Reader.d_sethandler,
    "maxrequestworkers": _Reader.d_maxrequestworkers,
    "maxclients": _Reader.d_maxrequestworkers,  # the 2.2 name, still accepted
    "serverlimit": _Reader.d_serverlimit,
    "threadsperchild": _Reader.d_threadsperchild,
    "servername": _Reader.d_servername,
    "sslengine": _Reader.d_sslengine,
}


def _module_loaded(config, name):
    return name in config.modules


def _virtual_host(args):
    address, port = split_listen(args[0]) if args else (None, None)
    return _VirtualHost(address, port)


def split_listen(text):
    """``[addr:]port`` as httpd's Listen and VirtualHost take it -> (address, port).

    ``address`` is None for a bare port or a wildcard (``*``, ``_default_``), without
    brackets for IPv6; ``port`` is None when there is none (``<VirtualHost *>``).
    """
    text = text.strip()
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        address, _, port_text = text.partition(":")
    elif text.isdigit():
        address, port_text = None, text
    else:
        address, port_text = text, ""
    if address in ("*", "_default_", "0.0.0.0", "::", ""):
        address = None
    port = int(port_text) if port_text.isdigit() and 0 < int(port_text) < 65536 else None
    return address, port


def split_words(text):
    """Split a directive line into words as httpd does: quotes group, backslash escapes them."""
    words, index, length = [], 0, len(text)
    while index < length:
        while index < length and text[index] in " \t":
            index += 1
        if index >= length:
            break
        quote = text[index] if text[index] in "\"'" else None
        if quote:
            index += 1
            word = []
            while index < length and text[index] != quote:
                if text[index] == "\\" and index + 1 < length and text[index + 1] == quote:
                    index += 1
                word.append(text[index])
                index += 1
            index += 1
            words.append("".join(word))
        else:
            start = index
            while index < length and text[index] not in " \t":
                index += 1
            words.append(text[start:index])
    return words
