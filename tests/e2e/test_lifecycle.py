"""The record lifecycle Rancher users relied on, checked at PowerDNS and at Route53 (moto).

Each test runs the real chain (rancher-metadata over HTTP → ``octodns-rancher generate`` →
``octodns-sync``) and reads the provider back; PowerDNS is asked over DNS.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone

from tests.e2e.conftest import OUTSIDE, ZONE, Site, Target, ips, planned, shop
from tests.support.metadata_server import MetadataServer

OWNER = '"octodns-rancher:production"'


def zone_file_records(site: Site) -> dict[str, tuple[int, list[str]]]:
    """The A records of the generated zone file, as octoDNS reads it."""
    zone = Zone(f"{ZONE}.", [])
    YamlProvider(
        "zones",
        str(site.root / "zones"),
        default_ttl=300,
        enforce_order=True,
        escaped_semicolons=False,
    ).populate(zone)
    return {r.name: (r.ttl, sorted(r.values)) for r in zone.records if r._type == "A"}


def test_published_records_answer_with_the_host_ips_and_ttl_300(tmp_path, metadata, target):
    """The captured Production environment lands at the provider exactly as generated."""
    site = Site(tmp_path / "site", metadata.url, target, cli_init=True)
    site.publish()

    generated = zone_file_records(site)
    assert len(generated) == 6
    for name, (ttl, values) in generated.items():
        assert ttl == 300
        assert target.answer(name) == (ttl, values), name
        # Every record we publish carries this environment's ownership marker.
        assert target.answer(f"_owner.a.{name}", "TXT").values == [OWNER]
    assert set(target.ours()) == {(n, "A") for n in generated} | {
        (f"_owner.a.{n}", "TXT") for n in generated
    }
    assert target.outside() == OUTSIDE

    again = site.sync(doit=False)
    assert again.returncode == 0
    assert "No changes were planned" in again.stdout + again.stderr


def test_scaled_moved_and_removed_services_are_followed(site, metadata_server, target):
    metadata_server.reload(shop({"web": ["h0", "h1", "h2"], "api": ["h0"], "db": ["h4"]}))
    site.publish()
    assert target.answer("web.shop.production") == (300, ips("h0", "h1", "h2"))
    assert target.answer("api.shop.production") == (300, ips("h0"))

    # web scaled down to two containers; api's container rescheduled on another host.
    metadata_server.reload(shop({"web": ["h0", "h1"], "api": ["h3"], "db": ["h4"]}))
    proc = site.publish()
    assert planned(proc, "Update") == {"web.shop.production", "api.shop.production"}
    assert target.answer("web.shop.production") == (300, ips("h0", "h1"))
    assert target.answer("api.shop.production") == (300, ips("h3"))

    # api removed from Rancher: the sync policy (the default) deletes it and its marker.
    metadata_server.reload(shop({"web": ["h0", "h1"], "db": ["h4"]}))
    proc = site.publish()
    assert planned(proc, "Delete") == {"api.shop.production", "_owner.a.api.shop.production"}
    assert not planned(proc, "Update") and not planned(proc, "Create")
    assert target.answer("api.shop.production") is None
    assert target.answer("_owner.a.api.shop.production", "TXT") is None
    assert target.answer("web.shop.production") == (300, ips("h0", "h1"))
    assert target.answer("db.shop.production") == (300, ips("h4"))
    assert target.outside() == OUTSIDE


def test_removed_service_is_kept_with_the_upsert_only_policy(
    tmp_path, metadata_server: MetadataServer, powerdns: Target
):
    """The policy is a processor, the same for every provider: shown once, at PowerDNS."""
    target = powerdns
    site = Site(
        tmp_path / "site", metadata_server.url, target, init_args=("--policy", "upsert-only")
    )
    metadata_server.reload(shop({"web": ["h0"], "api": ["h1"]}))
    site.publish()

    metadata_server.reload(shop({"web": ["h2"]}))
    site.publish()
    # Updates still apply; the removed service's record (and its marker) stay.
    assert target.answer("web.shop.production") == (300, ips("h2"))
    assert target.answer("api.shop.production") == (300, ips("h1"))
    assert target.answer("_owner.a.api.shop.production", "TXT").values == [OWNER]
    noop = site.sync(doit=False)
    assert noop.returncode == 0 and not planned(noop, "Delete")


def test_records_deleted_or_edited_by_hand_are_reported_then_restored(
    site, metadata_server, target
):
    metadata_server.reload(shop({"web": ["h0", "h1"], "api": ["h2"], "db": ["h3"]}))
    site.publish()
    target.delete("web.shop.production", "A")
    target.put("api.shop.production", "A", ["192.0.2.99"], ttl=60)
    drifted = target.records()

    # A plan (what a scheduled drift check runs) reports both and changes nothing.
    report = site.sync(doit=False)
    assert report.returncode == 0, report.stderr[-2000:]
    assert planned(report, "Create") == {"web.shop.production"}
    assert planned(report, "Update") == {"api.shop.production"}
    assert not planned(report, "Delete")
    assert target.records() == drifted

    site.sync()
    assert target.answer("web.shop.production") == (300, ips("h0", "h1"))
    assert target.answer("api.shop.production") == (300, ips("h2"))
    assert target.answer("db.shop.production") == (300, ips("h3"))
    assert target.outside() == OUTSIDE


def test_names_outside_the_environment_are_never_changed(site, metadata_server, target):
    """Even when the zone file is edited to claim them, the filter keeps octoDNS out."""
    metadata_server.reload(shop({"web": ["h0"]}))
    site.generate()
    zone_file: Path = site.root / "zones" / f"{ZONE}.yaml"
    data = yaml.safe_load(zone_file.read_text())
    data["test-default"] = {"type": "A", "value": "192.0.2.1"}
    data["x.otherenv"] = {"type": "A", "value": "192.0.2.2"}
    zone_file.write_text(yaml.safe_dump(data, sort_keys=True))
    proc = site.sync()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert target.outside() == OUTSIDE
    assert set(target.ours()) == {
        ("web.shop.production", "A"),
        ("_owner.a.web.shop.production", "TXT"),
    }

    # And removing every service of the environment leaves them alone too.
    metadata_server.reload(shop({}))
    site.generate("--allow-empty", "--force")
    proc = site.sync()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert target.ours() == {}
    assert target.outside() == OUTSIDE
