"""Typed parameter declarations: parsing, defaults, errors (ocfkit.params)."""

import ipaddress

import pytest
from ocfkit import params
from ocfkit.params import (
    Boolean,
    CIDRPrefix,
    Duration,
    Integer,
    IPAddress,
    Path,
    Port,
    Select,
    String,
    format_duration,
    parse_bool,
    parse_duration,
)


@pytest.mark.parametrize("text", ["1", "yes", "YES", "true", "True", "on", "y", " on "])
def test_true_values(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "no", "false", "off", "n", "FALSE"])
def test_false_values(text):
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["", "2", "maybe", "truthy", "-1"])
def test_boolean_refuses_anything_else(text):
    with pytest.raises(ValueError, match="not a boolean"):
        parse_bool(text)


@pytest.mark.parametrize("text,seconds", [
    ("20", 20.0), ("20s", 20.0), ("500ms", 0.5), ("2min", 120.0), ("1h", 3600.0),
    ("1.5s", 1.5), (" 3 s ", 3.0), ("0", 0.0), ("250us", 0.00025),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "-1s", "1x", "inf", "nan", "1..2s", "1e999"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_format_duration_roundtrip():
    assert format_duration(20.0) == "20s"
    assert format_duration(0.5) == "500ms"
    assert parse_duration(format_duration(1.25)) == 1.25


def test_integer_range_and_errors():
    number = Integer(min=1, max=10)
    assert number.parse(" 7 ") == 7
    with pytest.raises(ValueError, match="not an integer"):
        number.parse("seven")
    with pytest.raises(ValueError, match="out of range .1 to 10"):
        number.parse("11")
    with pytest.raises(ValueError, match="at least 0"):
        Integer(min=0).parse("-1")


def test_port_limits():
    port = Port()
    assert port.parse("65535") == 65535
    for bad in ("0", "65536", "80/tcp"):
        with pytest.raises(ValueError):
            port.parse(bad)


def test_select_is_case_insensitive_but_canonical():
    choice = Select(("onoff", "cycle"), default="onoff")
    assert choice.parse("CYCLE") == "cycle"
    with pytest.raises(ValueError, match="not one of: onoff, cycle"):
        choice.parse("reset")
    with pytest.raises(TypeError):
        Select(("a", "b"), default="c")


def test_path_must_be_absolute_unless_allowed():
    assert Path().parse("/etc/x") == "/etc/x"
    with pytest.raises(ValueError, match="not an absolute path"):
        Path().parse("etc/x")
    assert Path(relative_ok=True).parse("etc/x") == "etc/x"
    with pytest.raises(ValueError, match="NUL"):
        Path().parse("/a\0b")


def test_ip_addresses():
    any_ip = IPAddress()
    assert any_ip.parse("198.51.100.7") == ipaddress.ip_address("198.51.100.7")
    assert any_ip.parse("2001:DB8:0::1") == ipaddress.ip_address("2001:db8::1")
    assert str(any_ip.parse("fe80::1%eth0")) == "fe80::1%eth0"
    with pytest.raises(ValueError):
        any_ip.parse("198.51.100.256")
    with pytest.raises(ValueError):
        any_ip.parse("198.51.100.7%eth0")
    with pytest.raises(ValueError, match="not an IPv4"):
        IPAddress(version=4).parse("2001:db8::1")


def test_cidr_prefix():
    prefix = CIDRPrefix()
    assert prefix.parse("/24") == 24
    assert prefix.parse("128") == 128
    with pytest.raises(ValueError):
        prefix.parse("129")


def test_defaults_are_parsed_and_formatted():
    assert Duration(default="2s").default_value() == 2.0
    assert Boolean(default=False).default_text() == "false"
    assert Duration(default=1.5).default_text() == "1500ms"
    assert Integer(default=3).default_text() == "3"
    assert String().default_text() is None


def test_required_with_default_is_a_declaration_error():
    with pytest.raises(TypeError):
        String(required=True, default="x")


def test_declaration_names_come_from_the_attribute():
    class Holder:
        alpha = String()
        beta = Integer(name="beta-name")

    found = params.collect_params(Holder)
    assert list(found) == ["alpha", "beta-name"]
    assert found["beta-name"].attr == "beta"
