"""render: octoDNS zone YAML that octoDNS itself accepts, byte-identical for the same input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone

from octodns_rancher import model
from octodns_rancher.errors import RancherDnsError
from octodns_rancher.records import DesiredRecord, ServiceRef, Settings, desired_records
from octodns_rancher.render import render_octodns
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
