"""The standard fence-agent options (contract B6), as factories.

Each call returns a new declaration, so an agent opts into an option and sets its own
default without touching anyone else's::

    class MyDevice(fence.FenceAgent):
        ip = std.ip(required=True)
        ipport = std.ipport(default=623)

Names, aliases, short letters and long options are those of fence-agents' fencing.py,
so existing stonith configurations and command lines keep working.
"""

from ocfkit.params import Boolean, Duration, Integer, Port, Select, String


def _make(kind, defaults, overrides):
    merged = dict(defaults)
    merged.update(overrides)
    return kind(**merged)


# ------------------------------------------------------------------ connection
def ip(**kw):
    return _make(String, dict(name="ip", aliases=("ipaddr",), short="a", metavar="ip",
                              shortdesc="IP address or hostname of fencing device"), kw)


def ipport(**kw):
    return _make(Port, dict(name="ipport", short="u", metavar="port",
                            shortdesc="TCP/UDP port to use for connection with device"), kw)


def username(**kw):
    return _make(String, dict(name="username", aliases=("login",), short="l", metavar="name",
                              shortdesc="Login name"), kw)


def password(**kw):
    return _make(String, dict(name="password", aliases=("passwd",), short="p",
                              metavar="password", secret=True,
                              shortdesc="Login password or passphrase"), kw)


def password_script(**kw):
    return _make(String, dict(name="password_script", aliases=("passwd_script",), short="S",
                              metavar="script",
                              shortdesc="Script to run to retrieve password"), kw)


def ssl_insecure(**kw):
    return _make(Boolean, dict(name="ssl_insecure", default=False,
                               shortdesc="Do not verify the device's TLS certificate"), kw)


def inet4_only(**kw):
    return _make(Boolean, dict(name="inet4_only", short="4", default=False,
                               shortdesc="Forces agent to use IPv4 addresses only"), kw)


def inet6_only(**kw):
    return _make(Boolean, dict(name="inet6_only", short="6", default=False,
                               shortdesc="Forces agent to use IPv6 addresses only"), kw)


# ---------------------------------------------------------------------- target
def plug(**kw):
    return _make(String, dict(name="plug", aliases=("port",), short="n", metavar="id",
                              shortdesc="Physical plug number on device, UUID or identification"
                                        " of machine"), kw)


def plug_separator(**kw):
    """Declaring it turns on multiple plugs per request (``plug=1,2``: both off, then on)."""
    return _make(String, dict(name="plug_separator", metavar="char", default=",",
                              shortdesc="Separator for plug parameter when specifying more"
                                        " than 1 plug"), kw)


def separator(**kw):
    return _make(String, dict(name="separator", short="C", metavar="char", default=",",
                              shortdesc="Separator for CSV created by 'list' operation"), kw)


def missing_as_off(**kw):
    return _make(Boolean, dict(name="missing_as_off", default=False,
                               shortdesc="Missing port returns OFF instead of failure"), kw)


# ---------------------------------------------------------------------- timing
def delay(**kw):
    return _make(Duration, dict(name="delay", metavar="seconds", default="0",
                                shortdesc="Wait X seconds before fencing is started"), kw)


def login_timeout(**kw):
    return _make(Duration, dict(name="login_timeout", metavar="seconds", default="5",
                                shortdesc="Wait X seconds for cmd prompt after login"), kw)


def power_timeout(**kw):
    return _make(Duration, dict(name="power_timeout", metavar="seconds", default="20",
                                shortdesc="Test X seconds for status change after ON/OFF"), kw)


def power_wait(**kw):
    return _make(Duration, dict(name="power_wait", metavar="seconds", default="0",
                                shortdesc="Wait X seconds after issuing ON/OFF"), kw)


def shell_timeout(**kw):
    return _make(Duration, dict(name="shell_timeout", metavar="seconds", default="3",
                                shortdesc="Wait X seconds for cmd prompt after issuing command"),
                 kw)


def stonith_status_sleep(**kw):
    return _make(Duration, dict(name="stonith_status_sleep", metavar="seconds", default="1",
                                shortdesc="Sleep X seconds between status calls during a"
                                          " STONITH action"), kw)


def retry_on(**kw):
    return _make(Integer, dict(name="retry_on", metavar="attempts", default="1", min=1,
                               shortdesc="Count of attempts to retry power on"), kw)


# ------------------------------------------------------------------- behaviour
def action(**kw):
    return _make(String, dict(name="action", short="o", metavar="action", default="reboot",
                              shortdesc="Fencing action"), kw)


def method(**kw):
    return _make(Select, dict(values=("onoff", "cycle"), name="method", short="m",
                              metavar="method", default="onoff",
                              shortdesc="Method to fence"), kw)


# ----------------------------------------------------------------- diagnostics
def verbose(**kw):
    return _make(Boolean, dict(name="verbose", short="v", default=False,
                               shortdesc="Verbose mode"), kw)


def debug_file(**kw):
    return _make(String, dict(name="debug_file", aliases=("debug",), short="D",
                              metavar="debugfile",
                              shortdesc="Write debug information to given file"), kw)


def quiet(**kw):
    return _make(Boolean, dict(name="quiet", short="q", default=False,
                               shortdesc="Disable logging to stderr. Does not affect --verbose"
                                         " or --debug-file or logging to syslog."), kw)


def version(**kw):
    return _make(Boolean, dict(name="version", short="V", default=False,
                               shortdesc="Display version information and exit"), kw)


def help(**kw):
    return _make(Boolean, dict(name="help", short="h", default=False,
                               shortdesc="Display help and exit"), kw)
