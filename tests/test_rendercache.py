"""The watch's render cache gives, cycle after cycle, exactly what a full render gives."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octodns_rancher.errors import RancherDnsError
from octodns_rancher.records import DesiredRecord, ServiceRef
from octodns_rancher.render import UnsafeRecordError, render_octodns
from octodns_rancher.rendercache import RenderCache
from tests.support.validators import Refusing, enabled_validator
from tests.test_render import _records, fixture_records


def _moved(records: list[DesiredRecord], i: int, value: str) -> list[DesiredRecord]:
    out = list(records)
    r = out[i]
    out[i] = DesiredRecord(r.name, r.type, r.ttl, (value,), r.origin)
    return out


def test_unchanged_records_are_not_rendered_again():
    cache = RenderCache()
    records = fixture_records()
    assert cache.render_octodns(records, "example.com") == render_octodns(records, "example.com")
    assert cache.rendered == len(records)
    again = fixture_records()  # equal records, new objects: the source read them again
    assert cache.render_octodns(again, "example.com") == render_octodns(again, "example.com")
    assert cache.rendered == 0
    changed = _moved(again, 1, "198.51.100.77")
    text = cache.render_octodns(changed, "example.com")
    assert text == render_octodns(changed, "example.com")
    assert cache.rendered == 1
    fewer = changed[2:]
    assert cache.render_octodns(fewer, "example.com") == render_octodns(fewer, "example.com")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), min_size=1, max_size=4))
def test_a_cache_across_cycles_renders_what_a_full_render_does(cycles):
    cache = RenderCache()
    for records in cycles:
        try:
            expected = render_octodns(records, "example.com")
        except RancherDnsError as e:
            with pytest.raises(type(e)):
                cache.render_octodns(records, "example.com")
            continue
        assert cache.render_octodns(records, "example.com") == expected


def test_a_bad_record_still_fails_the_cycle_and_the_next_cycle_recovers():
    cache = RenderCache()
    records = fixture_records()
    cache.render_octodns(records, "example.com")
    with pytest.raises(UnsafeRecordError, match=r"127\.0\.0\.1"):
        cache.render_octodns(_moved(records, 0, "127.0.0.1"), "example.com")
    assert cache.render_octodns(records, "example.com") == render_octodns(records, "example.com")


def test_new_validator_settings_validate_every_record_again():
    ref = ServiceRef("s", "x", "u")
    records = [DesiredRecord("a.env", "A", 300, ("198.51.100.5",), ref)]
    cache = RenderCache()
    cache.render_octodns(records, "example.com")
    refusing = enabled_validator(
        Refusing("test-refuse-one", lambda v: v == "198.51.100.5", "refused"), types=["A"]
    )
    with refusing, pytest.raises(RancherDnsError, match=r"198\.51\.100\.5 refused"):
        cache.render_octodns(records, "example.com")
    assert cache.render_octodns(records, "example.com") == render_octodns(records, "example.com")
