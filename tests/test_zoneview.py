"""A zone that remembers its records answers as octoDNS's own ``Zone`` does, change after change."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from octodns.record import Record
from octodns.zone import Zone

from octodns_rancher.zoneview import RememberedRecordsZone, remember_records

ZONE = "example.com."


def _record(zone: Zone, name: str, value: str) -> Record:
    return Record.new(zone, name, {"type": "A", "ttl": 300, "value": value})


def _content(zone: Zone) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(r.name, r._type, tuple(r.values)) for r in zone.records}


OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "replace", "remove", "copy-add", "read"]),
        st.sampled_from(["a", "b", "c", "d.e"]),
        st.sampled_from(["10.0.0.1", "10.0.0.2"]),
    ),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(OPS)
def test_records_follow_every_change_as_a_plain_zone_does(ops):
    plain, remembered = Zone(ZONE, []), remember_records(Zone(ZONE, []))
    assert type(remembered) is RememberedRecordsZone
    for op, name, value in ops:
        for zone in (plain, remembered):
            record = _record(zone, name, value)
            present = any(r.name == name for r in zone.records)
            if op == "add" and not present:
                zone.add_record(record)
            elif op == "replace":
                zone.add_record(record, replace=True)
            elif op == "remove":
                zone.remove_record(record)
            elif op == "copy-add":
                copy = zone.copy()  # a shallow copy reads its origin's records until it changes
                assert _content(copy) == _content(zone)
                copy.add_record(record, replace=True)
                assert (name, "A", (value,)) in _content(copy)
        assert _content(remembered) == _content(plain)


def test_a_caller_changing_the_set_it_got_changes_nothing():
    zone = remember_records(Zone(ZONE, []))
    zone.add_record(_record(zone, "a", "10.0.0.1"))
    got = zone.records
    got.clear()
    assert _content(zone) == {("a", "A", ("10.0.0.1",))}


def test_only_plain_zones_are_changed():
    class Other(Zone):
        pass

    zone = Other(ZONE, [])
    assert type(remember_records(zone)) is Other
