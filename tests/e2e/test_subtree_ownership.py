"""Subtree ownership at the provider (``init --ownership subtree``): one marker per environment.

A single TXT record ``_owner.<environment>`` claims every name below ``<environment>.<zone>``,
as Rancher's own external DNS service did: half the record sets of per-record markers, and a
record there that no service produces is deleted. Still refused: a subtree claimed by another
owner, and changing or deleting records of a subtree nobody has claimed yet, unless
``OCTODNS_ALLOW_TAKEOVER=1`` is set for that one sync. Records outside the subtree, and another
environment's subtree, are never touched.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import (
    OUTSIDE,
    Site,
    Target,
    assert_refused,
    ips,
    output,
    planned,
    shop,
)
from tests.support.metadata_server import MetadataServer

SUBTREE = ("--ownership", "subtree")
OWNER = '"octodns-rancher:production"'


def site_of(tmp_path: Path, metadata_server: MetadataServer, target: Target, **kw) -> Site:
    return Site(tmp_path / "site", metadata_server.url, target, init_args=SUBTREE, **kw)


def test_one_marker_claims_the_subtree_and_what_no_service_makes_is_removed(
    tmp_path, metadata_server: MetadataServer, target: Target
):
    site = site_of(tmp_path, metadata_server, target)
    metadata_server.reload(shop({"web": ["h0"], "api": ["h1", "h2"]}))
    site.publish()
    assert target.ours() == {
        ("web.shop.production", "A"): (300, ips("h0")),
        ("api.shop.production", "A"): (300, ips("h1", "h2")),
        ("_owner.production", "TXT"): (300, [OWNER]),
    }

    # Someone adds a record by hand inside the claimed subtree; a service goes away.
    target.put("manual.shop.production", "A", ["192.0.2.70"])
    metadata_server.reload(shop({"web": ["h3"]}))
    proc = site.publish()
    assert planned(proc, "Delete") == {"api.shop.production", "manual.shop.production"}
    assert target.ours() == {
        ("web.shop.production", "A"): (300, ips("h3")),
        ("_owner.production", "TXT"): (300, [OWNER]),
    }
    assert target.answer("web.shop.production") == (300, ips("h3"))
    assert target.outside() == OUTSIDE
    noop = site.sync(doit=False)
    assert noop.returncode == 0 and "No changes were planned" in output(noop)


def test_records_of_an_unclaimed_subtree_are_not_taken_over(
    tmp_path, metadata_server: MetadataServer, target: Target
):
    site = site_of(tmp_path, metadata_server, target)
    target.put("api.shop.production", "A", ["192.0.2.80"])
    target.put("manual.shop.production", "A", ["192.0.2.81"])
    metadata_server.reload(shop({"web": ["h0"], "api": ["h1"]}))
    site.generate()
    assert_refused(
        site,
        "refusing to take over 2 record(s) of a subtree without the owner marker",
        "api.shop.production.example.com. A",
        "OCTODNS_ALLOW_TAKEOVER=1",
    )

    proc = site.sync(env={"OCTODNS_ALLOW_TAKEOVER": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(target.ours()) == {
        ("web.shop.production", "A"),
        ("api.shop.production", "A"),
        ("_owner.production", "TXT"),
    }
    assert target.answer("api.shop.production") == (300, ips("h1"))


def test_a_subtree_claimed_by_another_owner_is_refused(
    tmp_path, metadata_server: MetadataServer, target: Target
):
    site = site_of(tmp_path, metadata_server, target)
    target.put("_owner.production", "TXT", ['"someone-else"'])
    metadata_server.reload(shop({"web": ["h0"]}))
    site.generate()
    assert_refused(site, "claimed by ['someone-else'], not ['octodns-rancher:production']")


def test_subtree_and_record_ownership_environments_share_a_zone(
    tmp_path, metadata_server: MetadataServer, target: Target
):
    with MetadataServer(shop({"web": ["h4"]}, environment="Prod")) as prod_md:
        default = Site(
            tmp_path / "default", metadata_server.url, target, "default", init_args=SUBTREE
        )
        prod = Site(tmp_path / "prod", prod_md.url, target, environment="prod")
        metadata_server.reload(shop({"web": ["h0"], "api": ["h1"]}, environment="Default"))
        default.publish()
        prod.publish()
        prod_records = target.ours("prod")
        assert set(prod_records) == {("web.shop.prod", "A"), ("_owner.a.web.shop.prod", "TXT")}

        metadata_server.reload(shop({"web": ["h2"]}, environment="Default"))
        default.publish()
        assert set(target.ours("default")) == {
            ("web.shop.default", "A"),
            ("_owner.default", "TXT"),
        }
        assert target.ours("prod") == prod_records
        assert target.outside() == OUTSIDE
