"""memory: the in-memory source and the reused ownership markers give what octoDNS gives."""

from __future__ import annotations

import shutil
from pathlib import Path

from octodns.processor.ownership import OwnershipProcessor
from octodns.zone import Zone

from octodns_rancher.memory import MemorySource, ReusedMarkers, reuse_markers
from octodns_rancher.processors import RancherOwnership, SubtreeOwnership
from octodns_rancher.providers import YamlProvider
from octodns_rancher.publish import zone_data
from tests.conftest import GOLDEN

ZONE = "example.com."


def records(provider) -> dict:  # type: ignore[no-untyped-def]
    zone = Zone(ZONE, [])
    provider.populate(zone)
    return {(r.name, r._type): r.data for r in zone.records}


def test_memory_source_builds_the_records_yamlprovider_reads(tmp_path: Path) -> None:
    shutil.copy(GOLDEN, tmp_path / "example.com.yaml")
    yaml_provider = YamlProvider(
        "rancher", str(tmp_path), default_ttl=300, escaped_semicolons=False
    )
    source = MemorySource("rancher", like=yaml_provider)
    source.set_zone(ZONE, zone_data(GOLDEN.read_text()))
    assert records(source) == records(yaml_provider) != {}
    assert source.built == len(records(yaml_provider))
    # The next populate reuses every unchanged record; a changed entry is built again.
    data = dict(zone_data(GOLDEN.read_text()))
    name = next(iter(data))
    data[name] = {**data[name], "ttl": 60}
    source.set_zone(ZONE, data)
    assert records(source)[(name, data[name]["type"])]["ttl"] == 60
    assert source.built == 1


def test_memory_source_without_data_for_a_zone_has_no_zone() -> None:
    zone = Zone(ZONE, [])
    assert MemorySource("rancher").populate(zone) is False
    assert not zone.records


def golden_zone() -> Zone:
    zone = Zone(ZONE, [])
    YamlProvider("z", str(GOLDEN.parent), escaped_semicolons=False).populate(zone)
    return zone


def marked(processor) -> dict:  # type: ignore[no-untyped-def]
    zone = processor.process_source_zone(golden_zone(), sources=[])
    return {(r.name, r._type): r.data for r in zone.records}


def test_reused_markers_are_the_markers_octodns_adds() -> None:
    options = {"txt_name": "_owner", "txt_value": "octodns-rancher:production", "txt_ttl": 300}
    theirs = marked(OwnershipProcessor("o", **options))
    ours = reuse_markers(RancherOwnership("o", **options))
    assert isinstance(ours, ReusedMarkers) and isinstance(ours, RancherOwnership)
    assert marked(ours) == theirs
    assert len(theirs) == 2 * len(golden_zone().records)
    # A second sync gets the same marker objects, not new ones.
    first = {r.name: r for r in ours.process_source_zone(golden_zone(), []).records}
    second = {r.name: r for r in ours.process_source_zone(golden_zone(), []).records}
    markers = [n for n in first if n.startswith("_owner.")]
    assert markers and all(first[n] is second[n] for n in markers)


def test_a_subclass_keeps_its_own_source_zone_step() -> None:
    """RancherOwnership's own checks still run before the reused markers are added."""
    ours = reuse_markers(RancherOwnership("o", txt_value="v", rancher_state="external-dns-x"))
    assert [c.__name__ for c in type(ours).__mro__[:4]] == [
        "ReusedRancherOwnership",
        "RancherOwnership",
        "ReusedMarkers",
        "OwnershipProcessor",
    ]
    zone = golden_zone()
    assert marked(ours) == marked(RancherOwnership("o", txt_value="v"))
    # A processor that adds no markers (its own step does not call super()) still adds none.

    class Custom(OwnershipProcessor):
        def process_source_zone(self, desired, sources, lenient=False):  # type: ignore[no-untyped-def]
            return desired

    custom = reuse_markers(Custom("c"))
    assert len(custom.process_source_zone(golden_zone(), []).records) == len(zone.records)


def test_processors_that_are_not_ownership_processors_are_left_alone() -> None:
    subtree = SubtreeOwnership("o", marker="_owner.production", txt_value="x")
    assert type(reuse_markers(subtree)) is SubtreeOwnership
