"""render: octoDNS zone YAML that octoDNS itself accepts, byte-identical for the same input."""

from __future__ import annotations

import io
import random
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from octodns.provider.yaml import YamlProvider
from octodns.yaml import safe_dump
from octodns.zone import Zone

from octodns_rancher import model, zoneyaml
from octodns_rancher.addresses import refusal
from octodns_rancher.errors import RancherDnsError
from octodns_rancher.records import DesiredRecord, ServiceRef, Settings, desired_records
from octodns_rancher.render import (
    OutsideSubtreeError,
    UnsafeRecordError,
    build_zone,
    render_octodns,
    zone_data,
)
from octodns_rancher.source import load_snapshot

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT = Path(__file__).parent.parent / "config" / "metadata-snapshot.json"


def fixture_records(shuffle: random.Random | None = None):
    snap = load_snapshot(SNAPSHOT)
    if shuffle:
        shuffle.shuffle(snap.services)
        shuffle.shuffle(snap.hosts)
    return desired_records(model.build(snap), Settings("example.com"))


def test_golden_file():
    """The captured environment renders to the reviewed file (values checked in test_records)."""
    golden = (FIXTURES / "golden" / "example.com.yaml").read_text()
    assert render_octodns(fixture_records(), "example.com") == golden


def test_same_input_in_any_order_gives_identical_bytes():
    first = render_octodns(fixture_records(), "example.com")
    for seed in range(5):
        assert render_octodns(fixture_records(random.Random(seed)), "example.com") == first


def test_yaml_provider_reads_it_back_with_order_enforced(tmp_path):
    (tmp_path / "example.com.yaml").write_text(render_octodns(fixture_records(), "example.com"))
    zone = Zone("example.com.", [])
    YamlProvider("check", str(tmp_path), enforce_order=True, escaped_semicolons=False).populate(
        zone
    )
    got = {(r.name, r._type, r.ttl): tuple(r.values) for r in zone.records}
    assert got == {(r.name, r.type, r.ttl): r.values for r in fixture_records()}
    assert all(r.octodns["rancher"]["stack"] in ("shop", "monitoring") for r in zone.records)


def test_empty_zone_renders_as_empty_mapping():
    assert render_octodns([], "example.com") == "--- {}\n"


def test_octodns_validation_applies():
    bad = DesiredRecord("x.env", "A", 300, ("not-an-ip",), ServiceRef("s", "x", "u"))
    with pytest.raises(
        RancherDnsError,
        match=r"record x\.env\.example\.com of service s/x rejected by octoDNS: .*not-an-ip",
    ):
        render_octodns([bad], "example.com")


# The fast path (validators per distinct value, block writer, libyaml) against octoDNS's own:
# a Record per record and octoDNS's pure-Python sorting dumper, byte for byte.


def octodns_text(records: list[DesiredRecord], zone: str = "example.com") -> str:
    return octodns_dump(zone_data(build_zone(records, zone)))


def octodns_dump(data: dict) -> str:
    """octoDNS's dumper; it fails on names of equal natural order whose values do not compare
    ("0.env" with one record and "00.env" with two): such examples are not comparable."""
    buf = io.StringIO()
    try:
        safe_dump(data, buf, allow_unicode=True)
    except TypeError:
        reject()
    return buf.getvalue()


def test_fast_render_matches_octodns_on_the_captured_environment():
    records = fixture_records()
    assert render_octodns(records, "example.com") == octodns_text(records)


_label = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["yes", "no", "on", "null", "true", "1e3", "0x1f", "007", "xn--bcher-kva"]),
)
_name = st.builds(
    lambda labels: ".".join([*labels, "env"]), st.lists(_label, min_size=1, max_size=3)
)
_long_name = st.builds(lambda n: ".".join(["a" * 60, "b" * 60, f"c{n}", "env"]), st.integers(0, 9))
# Addresses that may be published (render refuses the others: tested in test_addresses.py).
_v4 = st.ip_addresses(v=4).filter(lambda ip: not refusal(ip)).map(str)
_v6 = st.ip_addresses(v=6).filter(lambda ip: not refusal(ip)).map(lambda ip: ip.exploded.upper())
_text = st.text(alphabet="abcXYZ019-_. :#'\"é", min_size=1, max_size=12)


@st.composite
def _records(draw) -> list[DesiredRecord]:
    out = {}
    for _ in range(draw(st.integers(1, 8))):
        rtype = draw(st.sampled_from(["A", "AAAA"]))
        values = draw(st.lists(_v4 if rtype == "A" else _v6, min_size=1, max_size=4))
        ref = ServiceRef(draw(_text), draw(_text), draw(st.one_of(_text, st.just("12345"))))
        name = draw(st.one_of(_name, _long_name))
        out[(name, rtype)] = DesiredRecord(
            name, rtype, draw(st.integers(1, 86400)), tuple(values), ref
        )
    return list(out.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_fast_render_matches_octodns_byte_for_byte(records):
    expected = octodns_text(records)  # first: examples octoDNS cannot dump are rejected
    assert render_octodns(records, "example.com") == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_every_dump_path_matches_octodns_dumper(records):
    """The block writer, and libyaml where dump_zone uses it (keys under 128 characters)."""
    data = zone_data(build_zone(records, "example.com"))
    expected = octodns_dump(data)
    assert zoneyaml.dump_zone(data) == expected
    if not zoneyaml._long_keys(data):
        dumper = zoneyaml._LibyamlZoneDumper
        assert yaml.dump(data, Dumper=dumper, allow_unicode=True, **zoneyaml._DUMP_OPTIONS) == (
            expected
        )


def test_names_of_equal_natural_order_are_ordered_as_octodns_orders_them():
    ref = ServiceRef("s", "web", "u")
    records = [
        DesiredRecord("web01.env", "A", 300, ("10.0.0.1", "10.0.0.2"), ref),
        DesiredRecord("web1.env", "A", 300, ("10.0.0.3",), ref),
    ]
    assert render_octodns(records, "example.com") == octodns_text(records)


def test_duplicate_records_are_rejected_naming_the_record():
    ref = ServiceRef("s", "x", "u")
    twice = [DesiredRecord("x.env", "A", 300, ("10.0.0.1",), ref)] * 2
    with pytest.raises(RancherDnsError, match=r"record x\.env\.example\.com .*duplicate"):
        render_octodns(twice, "example.com")


def test_long_names_of_equal_natural_order_render_and_load():
    """octoDNS's own dumper raises TypeError here; ours writes a file its loader accepts."""
    ref = ServiceRef("s", "web", "u")
    long_label = "a" * 60
    records = [
        DesiredRecord("0.env", "A", 300, ("10.0.0.1",), ref),
        DesiredRecord("00.env", "A", 300, ("10.0.0.2", "10.0.0.3"), ref),
        DesiredRecord("00.env", "AAAA", 300, ("2001:db8::2",), ref),
        DesiredRecord(f"{long_label}.{long_label}.{long_label}.env", "A", 300, ("10.0.0.4",), ref),
    ]
    with pytest.raises(TypeError):
        octodns_dump_raw(zone_data(build_zone(records, "example.com")))
    text = render_octodns(records, "example.com")
    assert render_octodns(list(reversed(records)), "example.com") == text
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "example.com.yaml").write_text(text)
        zone = Zone("example.com.", [])
        YamlProvider("check", d, enforce_order=True, escaped_semicolons=False).populate(zone)
    got = {(r.name, r._type, tuple(r.values)) for r in zone.records}
    assert got == {(r.name, r.type, r.values) for r in records}


def octodns_dump_raw(data: dict) -> str:
    buf = io.StringIO()
    safe_dump(data, buf, allow_unicode=True)
    return buf.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="az09-._٣²", max_size=12), st.text(max_size=12)))
def test_natural_key_is_octodns_natural_key(name):
    """The block writer's natural key of a name is natsort's, for ASCII and any other text."""
    assert zoneyaml._natural_key(name) == zoneyaml._octodns_natural_key(name)


@pytest.mark.parametrize("name", ["", "0", "00.env", "a0001", "web01.env", "1e3", "-1", "x..y"])
def test_natural_key_of_edge_names(name):
    assert zoneyaml._natural_key(name) == zoneyaml._octodns_natural_key(name)


def test_records_whose_values_were_checked_before_are_still_validated():
    """A value is checked once, but every record goes through octoDNS's record validators."""
    ref = ServiceRef("s", "x", "u")
    good = DesiredRecord("a.env", "A", 300, ("10.0.0.1",), ref)
    bad_ttl = DesiredRecord("b.env", "A", -1, ("10.0.0.1",), ServiceRef("s", "b", "u"))
    with pytest.raises(RancherDnsError, match=r"record b\.env\.example\.com of service s/b .*ttl"):
        render_octodns([good, bad_ttl], "example.com")
    bad_value = DesiredRecord("c.env", "A", 300, ("10.0.0.1", "10.0.0.300"), ref)
    with pytest.raises(RancherDnsError, match=r"record c\.env\.example\.com .*10\.0\.0\.300"):
        render_octodns([good, bad_value], "example.com")


def test_addresses_skip_only_octodns_address_validator():
    """Addresses read by ``addresses.parse`` skip octoDNS's own address check (the same
    ipaddress class); any other value validator an operator enabled still runs."""
    from octodns.record import Record

    from tests.support.validators import Refusing, enabled_validator

    no_documentation_net = Refusing("test-no-doc-net", lambda v: v.startswith("203.0.113."))
    ref = ServiceRef("s", "x", "u")
    records = [
        DesiredRecord("a.env", "A", 300, ("10.0.0.1",), ref),
        DesiredRecord("b.env", "A", 300, ("10.0.0.2", "203.0.113.7"), ServiceRef("s", "b", "u")),
    ]
    render_octodns(records, "example.com")  # the validator is not enabled yet
    with (
        enabled_validator(no_documentation_net, types=["A"]),
        pytest.raises(
            RancherDnsError, match=r"record b\.env\.example\.com .*203\.0\.113\.7 is refused"
        ),
    ):
        render_octodns(records, "example.com")
    assert "test-no-doc-net" not in str(Record.validators.available())
    render_octodns(records, "example.com")  # and gone again, for every later manager too


def test_ipv6_values_are_normalised_as_octodns_normalises_them():
    ref = ServiceRef("s", "x", "u")
    records = [DesiredRecord("a.env", "AAAA", 300, ("2001:DB8:0:0:0:0:0:1", "2001:db8::2"), ref)]
    text = render_octodns(records, "example.com")
    assert text == octodns_text(records)
    assert "- 2001:db8::1\n" in text


def test_single_value_records_render_as_octodns_dumps_them():
    """CNAME records (from Kubernetes host name targets) take the same fast path."""
    ref = ServiceRef("s", "web", "u")
    records = [
        DesiredRecord("a.env", "A", 300, ("10.0.0.2", "10.0.0.1"), ref),
        DesiredRecord("lb.env", "CNAME", 60, ("LB.example.net.",), ref),
        DesiredRecord("lb2.env", "CNAME", 300, ("x.example.net.",), ref),
    ]
    buf = io.StringIO()
    safe_dump(zone_data(build_zone(records, "example.com")), buf, allow_unicode=True)
    assert render_octodns(records, "example.com") == buf.getvalue()
    assert "value: lb.example.net." in buf.getvalue()


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            [
                DesiredRecord(
                    "x.env", "CNAME", 300, ("a.example.net.",), ServiceRef("s", "x", "u")
                ),
                DesiredRecord("x.env", "A", 300, ("10.0.0.1",), ServiceRef("s", "y", "u")),
            ],
            "CNAME",
        ),
        (
            [DesiredRecord("x.env", "CNAME", 300, ("no-dot",), ServiceRef("s", "x", "u"))],
            "of service s/x",
        ),
    ],
)
def test_single_value_records_are_refused_like_octodns(records, message):
    with pytest.raises(Exception, match=message):
        render_octodns(records, "example.com")


# -- the last check before any output ---------------------------------------------------------

UNSAFE_NAMES = [
    "x\n.production",
    "web.production\n",
    "xn--abc.production",
    "xn--zz.shop.production",
    "Web.production",
    "web..production",
    "-web.production",
    "w b.production",
    "*.production",
    "café.production",
    "a" * 64 + ".production",
    ".".join(["a" * 60] * 4) + ".production",
]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_an_invalid_name_from_any_source_never_reaches_the_file(name):
    """Records built directly, as another source could build them, skip the record rules."""
    good = DesiredRecord("web.production", "A", 300, ("192.0.2.1",), ServiceRef("s", "a", "u"))
    bad = DesiredRecord(name, "A", 300, ("192.0.2.2",), ServiceRef("s", "b\nERROR x", "u"))
    for render in (
        lambda rs: render_octodns(rs, "example.com", subtrees=("production.example.com",)),
        lambda rs: render_octodns(rs, "example.com"),
        lambda rs: build_zone(rs, "example.com"),
    ):
        with pytest.raises(UnsafeRecordError) as e:
            render([good, bad])
        message = str(e.value)
        assert "\n" not in message and "service s/b\\nERROR x" in message
        assert "refusing to write it" in message


@pytest.mark.parametrize(
    "name", ["web.staging", "production", "web.production-x", "web.production.other"]
)
def test_a_name_outside_the_environment_never_reaches_the_file(name):
    bad = DesiredRecord(name, "A", 300, ("192.0.2.2",), ServiceRef("s", "b", "u"))
    with pytest.raises(OutsideSubtreeError, match=r"lies outside production\.example\.com"):
        render_octodns([bad], "example.com", subtrees=("production.example.com",))


@pytest.mark.parametrize(
    ("rtype", "value"), [("A", "127.0.0.1"), ("AAAA", "::ffff:1.2.3.4"), ("AAAA", "ff02::1")]
)
def test_a_refused_address_from_any_source_never_reaches_the_file(rtype, value):
    bad = DesiredRecord("web.production", rtype, 300, (value,), ServiceRef("s", "b", "u"))
    for render in (render_octodns, build_zone):
        with pytest.raises(UnsafeRecordError, match=f"address {re.escape(value)} is"):
            render([bad], "example.com")
