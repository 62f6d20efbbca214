"""fence_ocfkit_redfish: power control of a server through its BMC's Redfish API.

Compatible with fence-agents' fence_redfish options (ip, ipport, username, password,
password_script, redfish_uri, systems_uri, ssl_insecure ...), safer where it differs:
TLS is verified by default (with ``ssl_ca_bundle`` for a BMC's own CA), a service with
several systems is an error until ``systems_uri`` says which one (fence_redfish takes
the last one listed), transitional power states are waited out instead of being read
as "on", every power change is read back, a Redfish session is used and closed where
the service offers one, and each HTTP failure becomes one line that says what to fix.

urllib3 is imported only when an action talks to the BMC.
"""

from ocfkit import fence
from ocfkit.deadline import Deadline
from ocfkit.drivers import import_dependency
from ocfkit.fence import std

_TRANSITIONAL = ("PoweringOn", "PoweringOff")
_STEADY = {"On": fence.ON, "Off": fence.OFF, "Paused": fence.ON}
_HEADERS = {"Accept": "application/json", "OData-Version": "4.0"}


class RedfishFence(fence.FenceAgent):
    """Fence a server through its BMC's Redfish API (iDRAC, iLO, XClarity, OpenBMC ...).

    Talks HTTPS to the BMC (urllib3): status reads the system's PowerState (waiting
    out PoweringOn/PoweringOff), off is a ForceOff, on an On, reboot is off, verified
    off, on, verified on (or one ForceRestart with method=cycle). The certificate is
    verified unless ssl_insecure is set; ssl_ca_bundle names the BMC's CA. The system is
    systems_uri, or the only system of the service. Set pcmk_host_list (or
    pcmk_host_map) to the node this BMC powers.
    """

    agent_name = "fence_ocfkit_redfish"
    vendor_url = "https://www.dmtf.org/standards/redfish"
    needs_plug = False

    ip = std.ip(shortdesc="IP address or hostname of the BMC (host:port is accepted too)")
    ipport = std.ipport(default="443", shortdesc="HTTPS port of the BMC")
    username = std.username(required=True)
    password = std.password()
    password_script = std.password_script()
    redfish_uri = fence.String(aliases=("redfish-uri",), default="/redfish/v1",
                               metavar="uri", shortdesc="Base or starting Redfish URI")
    systems_uri = fence.String(aliases=("systems-uri",), metavar="uri",
                               shortdesc="Redfish Systems resource URI, i.e. "
                                         "/redfish/v1/Systems/System.Embedded.1 (default: "
                                         "the only system of the service)")
    ssl = fence.Boolean(default=True, short="z",
                        shortdesc="Use HTTPS (always on: Redfish is HTTPS)")
    ssl_secure = fence.Boolean(default=False,
                               shortdesc="Verify the BMC's certificate (the default anyway)")
    ssl_insecure = std.ssl_insecure(shortdesc="Do not verify the BMC's certificate "
                                              "(verification is on by default)")
    ssl_ca_bundle = fence.Path(metavar="file",
                               shortdesc="CA certificate(s) that signed the BMC's certificate"
                                         " (PEM file or directory; default: the system's "
                                         "CAs)")
    http_timeout = fence.Duration(default="10", metavar="seconds",
                                  shortdesc="Wait X seconds for each HTTP response")
    method = std.method()
    # pacemaker-fenced passes the node name as plug (or port) to every agent; as in
    # fence_redfish it means nothing unless port_as_ip makes it the BMC's address.
    plug = std.plug(metavar="ip", shortdesc="IP address or hostname of the BMC "
                                            "(together with port_as_ip)")
    port_as_ip = fence.Boolean(default=False,
                               shortdesc='Make "port/plug" to be an alias to IP address')

    # ------------------------------------------------------------ validation
    def validate(self):
        address = (self.plug if self.port_as_ip and self.plug else self.ip or "").strip()
        if not address:
            raise fence.FenceError("no BMC address: set ip (or plug with port_as_ip=1)")
        host, port = _split_host(address, self.ipport)
        if not host or any(char.isspace() or char in "/@?#" or not char.isprintable()
                           for char in host):
            raise fence.FenceError(f"ip {_printable(address)!r} is not a host name or address")
        self._host, self._port = host, port
        self._origin = f"https://{host}:{port}"
        for name in ("redfish_uri", "systems_uri"):
            value = self.__dict__.get(name)
            if value is not None and not _is_path(value):
                raise fence.FenceError(f"{name} {_printable(value)!r} is not a path on the "
                                       "BMC (e.g. /redfish/v1/Systems/1)")
        if not self.ssl:
            raise fence.FenceError("ssl=0 is not supported: Redfish is spoken over HTTPS")
        if self.ssl_insecure and (self.ssl_secure or self.ssl_ca_bundle):
            raise fence.FenceError("ssl_insecure contradicts ssl_secure/ssl_ca_bundle")
        if self.ssl_ca_bundle:
            import os

            if not os.access(self.ssl_ca_bundle, os.R_OK):
                raise fence.FenceError(f"cannot read ssl_ca_bundle {self.ssl_ca_bundle}")
        if not self.password:
            raise fence.FenceError("missing password (set password or password_script)")

    # ------------------------------------------------------------ session
    def connect(self):
        self._client = _Client(self)
        self._system = None

    def disconnect(self):
        self._client.close()

    # ------------------------------------------------------------ power
    def get_power_status(self, plug=None):
        state = [None]

        def steady():
            state[0] = self._read_power_state()
            return state[0] not in _TRANSITIONAL

        if not Deadline(self.power_timeout).poll(steady, interval=0.1, max_interval=1):
            raise fence.FenceError(f"power state still {state[0]} after "
                                   f"{self.power_timeout:g}s (timed out)")
        if state[0] not in _STEADY:
            raise fence.FenceError(f"the BMC reports an unknown PowerState {state[0]!r}")
        return _STEADY[state[0]]

    def _read_power_state(self):
        system = self._client.get(self._system_uri(), "reading the power state")
        self._system = system
        state = system.get("PowerState")
        if not isinstance(state, str):
            raise fence.FenceError(f"{self._system_uri()} has no PowerState")
        return state

    def set_power_status(self, plug, state):
        self._reset("On" if state == fence.ON else "ForceOff",
                    ("On", "ForceOn") if state == fence.ON else ("ForceOff",))

    def reboot_cycle(self, plug):
        self._reset("ForceRestart", ("ForceRestart", "PowerCycle"))

    def _reset(self, label, choices):
        system = self._system or self._client.get(self._system_uri(), "reading the system")
        action = (system.get("Actions") or {}).get("#ComputerSystem.Reset") or {}
        target = action.get("target")
        if not isinstance(target, str) or not _is_path(target):
            raise fence.FenceError(f"{self._system_uri()} offers no ComputerSystem.Reset "
                                   "action")
        allowed = action.get("ResetType@Redfish.AllowableValues")
        reset = choices[0]
        if isinstance(allowed, list) and allowed:
            usable = [choice for choice in choices if choice in allowed]
            if not usable:
                raise fence.FenceError(f"the BMC does not offer {label} (it allows: "
                                       f"{', '.join(map(str, allowed))})")
            reset = usable[0]
        self.log.info("ComputerSystem.Reset %s", reset)
        self._client.post(target, {"ResetType": reset}, f"requesting {reset}")
        self._system = None

    def monitor(self):
        """An authenticated GET of the system (and its power state)."""
        self._read_power_state()

    # ------------------------------------------------------------ list
    def get_list(self):
        return {plug: alias for plug, (alias, _) in self.get_list_status().items()}

    def get_list_status(self):
        listing = {}
        if self.systems_uri:
            uris = [self.systems_uri]  # the device fences this system only: list no other
        else:
            uris = self._members()
        for uri in uris:
            system = self._client.get(uri, "reading a system")
            ident = str(system.get("Id") or uri.rstrip("/").rsplit("/", 1)[-1])
            alias = system.get("HostName") or system.get("Name") or ""
            state = _STEADY.get(system.get("PowerState"))
            listing[ident] = (str(alias), state)
        return listing

    # ------------------------------------------------------------ helpers
    def _members(self):
        root = self._client.root()
        systems = (root.get("Systems") or {}).get("@odata.id")
        if not isinstance(systems, str) or not _is_path(systems):
            raise fence.FenceError(f"the service root {self.redfish_uri} lists no Systems")
        collection = self._client.get(systems, "listing the systems")
        members = []
        for member in collection.get("Members") or []:
            uri = member.get("@odata.id") if isinstance(member, dict) else None
            if isinstance(uri, str) and _is_path(uri):
                members.append(uri)
        return members

    def _system_uri(self):
        if self.systems_uri:
            return self.systems_uri
        members = self._members()
        if len(members) == 1:
            self.systems_uri = members[0]
            self.log.debug("systems_uri discovered: %s", self.systems_uri)
            return self.systems_uri
        if not members:
            raise fence.FenceError("the service lists no systems")
        shown = ", ".join(members[:5]) + (" ..." if len(members) > 5 else "")
        raise fence.FenceError(f"the service has {len(members)} systems: set systems_uri to "
                               f"the one to fence ({shown})")


class _HTTPError(fence.FenceError):
    """The BMC answered, with an HTTP error status."""


class _Client:
    """HTTPS to the BMC: one keep-alive connection, one session, one error vocabulary.

    urllib3, not requests: requests adds ~50 ms of imports to every run (chardet, cookies,
    idna) for nothing this client uses, and that alone would make a status slower than
    the target (0.8x fence_redfish, which imports requests). urllib3 is what requests
    sends with; it keeps the TLS verification, timeouts and connection handling.
    """

    def __init__(self, agent):
        urllib3 = self.urllib3 = import_dependency("urllib3",
                                                   "urllib3 (package python3-urllib3)")
        self.agent, self.log = agent, agent.log
        self.origin = agent._origin
        host, port = agent._host.strip("[]"), agent._port
        if agent.ssl_insecure:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            tls = {"cert_reqs": "CERT_NONE"}
        else:
            bundle = agent.ssl_ca_bundle
            import os

            tls = {"cert_reqs": "CERT_REQUIRED"}  # the system's CAs unless a bundle is given
            if bundle:
                tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
        self.timeout = urllib3.Timeout(connect=agent.login_timeout, read=agent.http_timeout)
        self.pool = urllib3.HTTPSConnectionPool(host, port, timeout=self.timeout, maxsize=1,
                                                retries=False, **tls)
        self.basic = urllib3.util.make_headers(
            basic_auth=f"{agent.username}:{agent.password}")
        self.token = None
        self.session_uri = None
        self._root = None
        self._open_session()

    def root(self):
        if self._root is None:
            self._root = self.request("GET", self.agent.redfish_uri, "reading the service root",
                                      auth=False)
        return self._root

    def _open_session(self):
        """Log in with a Redfish session when the service advertises one; else basic auth."""
        try:
            root = self.root()
        except _HTTPError as exc:
            if self.agent.systems_uri is None:
                raise
            # systems_uri is all we need; a service root we cannot read only means no
            # session (fence_redfish never reads it when systems_uri is set)
            self.log.debug("service root unreadable (%s): HTTP basic authentication", exc)
            return
        sessions = ((root.get("Links") or {}).get("Sessions") or {}).get("@odata.id")
        if not isinstance(sessions, str) or not _is_path(sessions):
            self.log.debug("no SessionService: HTTP basic authentication")
            return
        response = self.send("POST", sessions, "logging in", auth=False,
                             body={"UserName": self.agent.username,
                                   "Password": self.agent.password})
        token = response.headers.get("X-Auth-Token")
        if response.status in (401, 403):
            self.fail(response, sessions, "logging in")
        if response.status not in (200, 201) or not token:
            self.log.debug("session refused (HTTP %d): HTTP basic authentication",
                           response.status)
            return
        self.log.secrets.add(token)
        self.token = token
        location = response.headers.get("Location") or ""
        if location.startswith(self.origin):
            location = location[len(self.origin):]
        self.session_uri = location if _is_path(location) else None
        self.log.debug("session opened: %s", self.session_uri)

    def close(self):
        try:
            if self.session_uri:
                response = self.send("DELETE", self.session_uri, "logging out")
                self.log.debug("session closed (HTTP %d)", response.status)
        except fence.FenceError as exc:
            self.log.warning("could not close the Redfish session: %s", exc)
        finally:
            self.pool.close()

    # -------------------------------------------------------------- requests
    def get(self, uri, doing):
        return self.request("GET", uri, doing)

    def post(self, uri, body, doing):
        response = self.send("POST", uri, doing, body=body)
        if response.status >= 300:
            self.fail(response, uri, doing)

    def request(self, method, uri, doing, auth=True):
        response = self.send(method, uri, doing, auth=auth)
        if response.status >= 300:
            self.fail(response, uri, doing)
        document = _json(response)
        if not isinstance(document, dict):
            raise fence.FenceError(f"{uri}: the BMC did not answer with a JSON object while "
                                   f"{doing}")
        return document

    def send(self, method, uri, doing, body=None, auth=True):
        """One request; the answer whatever its status, or FenceError if none came."""
        errors = self.urllib3.exceptions
        headers = dict(_HEADERS)
        if auth:
            headers.update({"X-Auth-Token": self.token} if self.token else self.basic)
        data = None
        if body is not None:
            import json

            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.log.debug("%s %s%s", method, self.origin, uri)
        try:
            return self.pool.urlopen(method, uri, body=data, headers=headers,
                                     redirect=False, assert_same_host=False)
        except errors.SSLError as exc:
            raise fence.FenceError(self.tls_message(exc)) from None
        except errors.NewConnectionError as exc:  # (a subclass of ConnectTimeoutError)
            raise fence.FenceError(f"cannot connect to {self.origin}: {_reason(exc)}") from None
        except errors.ConnectTimeoutError:
            raise fence.FenceError(f"cannot connect to {self.origin}: timed out after "
                                   f"{self.timeout.connect_timeout:g}s (login_timeout)"
                                   ) from None
        except errors.ReadTimeoutError:
            raise fence.FenceError(f"{self.origin} did not answer while {doing} (timed out "
                                   f"after {self.timeout.read_timeout:g}s, http_timeout)"
                                   ) from None
        except (errors.HTTPError, OSError) as exc:
            if "timed out" in str(exc):  # a TLS handshake that stalls (login_timeout)
                raise fence.FenceError(f"{self.origin} did not answer while {doing} (timed "
                                       "out)") from None
            raise fence.FenceError(f"connection to {self.origin} failed while {doing}: "
                                   f"{_reason(exc)}") from None

    def tls_message(self, exc):
        verify = _find(exc, lambda e: getattr(e, "verify_message", None))
        if verify is not None:
            return (f"TLS certificate of {self.origin} is not trusted "
                    f"({verify.verify_message}): give the CA that signed it with "
                    "ssl_ca_bundle=/path/ca.pem, or set ssl_insecure=1 to skip verification")
        if "timed out" in str(exc):
            return f"{self.origin} did not complete the TLS handshake (timed out)"
        return f"TLS handshake with {self.origin} failed: {_reason(exc)}"

    def fail(self, response, uri, doing):
        status = response.status
        user = self.agent.username
        if status == 401:
            raise _HTTPError(f"authentication failed for user {user!r} while {doing} "
                             "(HTTP 401): wrong username or password")
        if status == 403:
            raise _HTTPError(f"user {user!r} is not allowed to do this while {doing} "
                             "(HTTP 403): the BMC account needs more privileges")
        if status == 404:
            raise _HTTPError(f"{uri} not found (HTTP 404) while {doing}: check "
                             "systems_uri / redfish_uri")
        message = _service_message(response)
        if status in (400, 405, 409):
            raise _HTTPError(f"the BMC refused {doing} (HTTP {status}): {message}")
        raise _HTTPError(f"the BMC failed {doing} (HTTP {status}): {message}")


def _json(response):
    import json

    try:
        return json.loads(response.data or b"null")
    except ValueError:
        return None


def _service_message(response):
    """The service's own words: error.message and @Message.ExtendedInfo[].Message."""
    document = _json(response)
    error = document.get("error") if isinstance(document, dict) else None
    parts = []
    if isinstance(error, dict):
        for info in error.get("@Message.ExtendedInfo") or []:
            if isinstance(info, dict) and info.get("Message"):
                parts.append(str(info["Message"]))
        if not parts and error.get("message"):
            parts.append(str(error["message"]))
    text = " ".join(" ".join(parts).split()) or response.reason or "no message"
    return text[:300]


def _find(exc, test, depth=0):
    """The first exception in a urllib3 chain (args, reason, cause) that passes ``test``."""
    if exc is None or depth > 8:
        return None
    if isinstance(exc, BaseException) and test(exc):
        return exc
    for inner in (getattr(exc, "reason", None), exc.__cause__, exc.__context__,
                  *(arg for arg in getattr(exc, "args", ()) if isinstance(arg, BaseException))):
        if inner is not None and inner is not exc:
            found = _find(inner, test, depth + 1)
            if found is not None:
                return found
    return None


def _reason(exc):
    """What went wrong at the bottom of an exception chain, on one line."""
    system = _find(exc, lambda e: isinstance(e, OSError) and e.strerror)
    if system is not None:
        return system.strerror[0].lower() + system.strerror[1:]
    return " ".join(str(exc).split())[:300]


def _split_host(ip, port):
    """``host``, ``host:port`` (fence_redfish's backward compatibility), ``[v6]:port``."""
    text = ip.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        return f"[{host}]", port
    if text.count(":") == 1:
        host, _, maybe = text.partition(":")
        if maybe.isdigit():
            return host, int(maybe)
        return "", port
    if text.count(":") > 1:
        return f"[{text}]", port  # a bare IPv6 address
    return text, port


def _is_path(text):
    return (text.startswith("/") and not text.startswith("//")
            and not any(char.isspace() or not char.isprintable() for char in text))


def _printable(text, limit=60):
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= limit else text[:limit] + "..."
