"""``watch --apply`` keeps its view of the zone between cycles, and hand edits still count.

The real watch loop (``Watcher`` with ``ApplyPublisher``) runs against rancher-metadata over
HTTP and syncs to the real PowerDNS, to a real BIND 9 (RFC 2136) and to Route53 on moto, with
the config ``init`` renders (per-record ownership markers). Between two metadata changes someone edits the zone by hand:

- a record created by hand at a name a new service then wants is not overwritten: the cached
  view did not have it, the record set is read back before the change is applied, the whole
  zone is read again and the ownership processor refuses the takeover, as ``octodns-sync``
  would;
- a record of ours edited by hand that the next change updates is re-planned from the zone
  read again, and one that no change touches is repaired at the next resync interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from octodns_rancher.pipeline import Options
from octodns_rancher.watch import ApplyPublisher, Watcher, WatchSettings
from tests.e2e.conftest import OUTSIDE, ZONE, Route53Target, Site, Target, ips, shop
from tests.support.metadata_server import MetadataServer

WEB = "web.shop.production"
API = "api.shop.production"


def wait_for(cond: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def watching(site: Site, resync: float = 60.0) -> Iterator[tuple[Watcher, ApplyPublisher]]:
    opts = Options(zone=ZONE, zones_dir=site.root / "zones", metadata_url=site.metadata_url)
    publisher = ApplyPublisher(site.config, ZONE, opts.zones_dir)
    settings = WatchSettings(
        quiet_period=0.2, resync_interval=resync, max_wait=1, backoff_min=0.2, backoff_max=0.5
    )
    watcher = Watcher(opts, settings, publisher)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        yield watcher, publisher
    finally:
        watcher.stop()
        thread.join(timeout=20)
        assert not thread.is_alive()


@pytest.fixture(params=["powerdns", "route53", "bind"])
def target(request: pytest.FixtureRequest) -> Target:
    """PowerDNS, Route53 and BIND (RFC 2136), each reading single record sets back its own
    way (``zonecache_providers``)."""
    return request.getfixturevalue(request.param)


def environment(site: Site, target: Target, monkeypatch) -> None:
    """The provider's variables, and the checkout as the working directory (``./zones``)."""
    for key, value in target.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(site.root)


def values(target: Target, name: str) -> list[str] | None:
    answer = target.records().get((name, "A"))
    return answer.values if answer else None


def test_a_record_made_by_hand_is_not_taken_over_by_a_cached_plan(
    site: Site, metadata_server: MetadataServer, target: Target, monkeypatch
) -> None:
    environment(site, target, monkeypatch)
    metadata_server.reload(shop({"web": ["h1"]}))
    with watching(site) as (watcher, publisher):
        wait_for(lambda: values(target, WEB) == ips("h1"), what="the first sync")
        reads = publisher.session.full_reads
        # Steady state: a change is planned on the cached view, no full read.
        metadata_server.reload(shop({"web": ["h1", "h2"]}))
        wait_for(lambda: values(target, WEB) == ips("h1", "h2"), what="web on h1 and h2")
        assert publisher.session.full_reads == reads
        # By hand: api gets a record of someone else's.
        target.put(API, "A", ["192.0.2.99"])
        metadata_server.reload(shop({"web": ["h1", "h2"], "api": ["h3"]}))
        wait_for(lambda: watcher.failures >= 1, what="the refused takeover")
        assert publisher.session.full_reads > reads  # read again, not applied blindly
        time.sleep(0.5)
        assert values(target, API) == ["192.0.2.99"]
        assert (f"_owner.a.{API}", "TXT") not in target.records()
    assert target.outside() == OUTSIDE


def test_hand_edits_of_our_records_are_replanned_or_repaired(
    site: Site, metadata_server: MetadataServer, target: Target, monkeypatch
) -> None:
    environment(site, target, monkeypatch)
    metadata_server.reload(shop({"web": ["h1"], "api": ["h2"]}))
    with watching(site, resync=6.0) as (watcher, publisher):
        # The records answer before the sync returns and is counted: wait for both, so that
        # the count taken below is the first sync's and not one short.
        wait_for(
            lambda: values(target, API) == ips("h2") and publisher.syncs >= 1,
            what="the first sync",
        )
        reads = publisher.session.full_reads
        syncs = publisher.syncs
        if isinstance(target, Route53Target):
            target.moto.clear_requests()
        # A change after the first full read: applied on the cached view.
        metadata_server.reload(shop({"web": ["h1", "h3"], "api": ["h2"]}))
        wait_for(lambda: publisher.syncs > syncs, what="the sync of web on h1 and h3")
        if isinstance(target, Route53Target):
            # The record set read back, and the change: no listing of the zone.
            ops = target.moto.operations()
            assert ops == ["route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"]
        assert values(target, WEB) == ips("h1", "h3")
        assert publisher.session.full_reads == reads
        # By hand: web changed (the next change updates it) and api changed (none does).
        target.put(WEB, "A", ["192.0.2.77"])
        target.put(API, "A", ["192.0.2.78"])
        metadata_server.reload(shop({"web": ["h1", "h4"], "api": ["h2"]}))
        wait_for(lambda: values(target, WEB) == ips("h1", "h4"), what="web on h1 and h4")
        assert publisher.session.full_reads > reads  # web was read back, differed: re-planned
        assert watcher.failures == 0
        # api: no change touched it; the resync interval reads the whole zone and repairs it.
        wait_for(lambda: values(target, API) == ips("h2"), timeout=15, what="the resync repair")
    assert target.outside() == OUTSIDE


def test_the_zone_file_is_still_written(
    site: Site, metadata_server: MetadataServer, target: Target, monkeypatch
) -> None:
    environment(site, target, monkeypatch)
    metadata_server.reload(shop({"web": ["h1"]}))
    with watching(site):
        wait_for(lambda: values(target, WEB) == ips("h1"), what="the first sync")
    text = (Path(site.root) / "zones" / f"{ZONE}.yaml").read_text()
    assert f"{WEB}:" in text and ips("h1")[0] in text


def test_a_plan_larger_than_a_listing_reads_the_whole_zone(
    site: Site, target: Target, monkeypatch
) -> None:
    """ZoneSync alone: a plan touching more record sets than a full listing takes requests is
    checked by reading the whole zone; a failed sync is followed by a full read too."""
    from octodns_rancher.zonesync import ZoneSync

    environment(site, target, monkeypatch)
    sync = ZoneSync(site.config, ZONE, site.root / "zones")

    def data(count: int, ip: str) -> dict:
        return {
            f"s{i}.shop.production": {"type": "A", "ttl": 300, "value": ip} for i in range(count)
        }

    assert sync.sync(data(3, "192.0.2.1")) == 6  # three records, three markers
    assert sync.full_reads == 1
    one = data(3, "192.0.2.1") | data(1, "192.0.2.2")
    assert sync.sync(one) == 1  # read back, one request
    assert sync.full_reads == 1
    # Three record sets to change on a zone of a dozen (one listing page): listed whole.
    assert sync.sync(data(3, "192.0.2.3")) == 3
    assert sync.full_reads == 2
    # A sync that fails (a takeover refused) forgets the view.
    target.put("new.shop.production", "A", ["192.0.2.99"])
    bad = data(3, "192.0.2.3") | {"new.shop.production": {"type": "A", "value": "192.0.2.4"}}
    try:
        sync.sync(bad)
    except Exception as e:
        assert "take over" in str(e)
    else:
        raise AssertionError("the takeover was not refused")
    reads = sync.full_reads
    assert sync.sync(data(3, "192.0.2.3")) == 0
    assert sync.full_reads == reads + 1
    assert values(target, "new.shop.production") == ["192.0.2.99"]
