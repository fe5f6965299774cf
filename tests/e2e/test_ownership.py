"""Ownership at the provider: only records carrying this environment's marker are ours.

Someone else's record inside ``<environment>.<zone>`` (made by hand, or marked by another owner)
is neither overwritten nor deleted; taking it over is refused with a clear error unless
``OCTODNS_ALLOW_TAKEOVER=1`` is set for that sync. Two environments sharing one zone, each with
its own config, never touch each other's records.
"""

from __future__ import annotations

from tests.e2e.conftest import OUTSIDE, Site, Target, assert_refused, ips, output, planned, shop
from tests.support.metadata_server import MetadataServer

OWNER = '"octodns-rancher:production"'


def test_hand_made_record_inside_the_subtree_is_never_deleted(tmp_path, metadata_server, powerdns):
    target = powerdns
    site = Site(tmp_path / "site", metadata_server.url, target)
    target.put("manual.shop.production", "A", ["192.0.2.70"], ttl=120)
    metadata_server.reload(shop({"web": ["h0"], "api": ["h1"]}))
    site.publish()
    metadata_server.reload(shop({"web": ["h0"]}))
    proc = site.publish()

    assert "manual.shop.production" not in planned(proc, "Delete")
    assert target.answer("manual.shop.production") == (120, ["192.0.2.70"])
    assert target.answer("api.shop.production") is None  # ours: removed with its service
    assert target.outside() == OUTSIDE


def test_unmarked_record_with_our_name_is_not_taken_over(site, metadata_server, target):
    target.put("api.shop.production", "A", ["192.0.2.80"])
    metadata_server.reload(shop({"web": ["h0"], "api": ["h1"]}))
    site.generate()
    before = target.records()

    for doit in (False, True):  # the plan already says so, and the apply changes nothing
        proc = site.sync(doit=doit)
        assert proc.returncode != 0
        assert "refusing to take over 1 record(s)" in output(proc)
        assert "api.shop.production.example.com. A" in output(proc)
        assert "OCTODNS_ALLOW_TAKEOVER=1" in output(proc)
    assert target.records() == before

    # Explicitly allowed for one sync: adopted, marked, and from then on ours.
    proc = site.sync(env={"OCTODNS_ALLOW_TAKEOVER": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert target.answer("api.shop.production") == (300, ips("h1"))
    assert target.answer("_owner.a.api.shop.production", "TXT").values == [OWNER]
    assert site.sync().returncode == 0


def test_identical_unmarked_record_is_not_adopted_silently(tmp_path, metadata_server, powerdns):
    """Same values as ours, no marker: claiming it would let a later sync delete it."""
    target = powerdns
    site = Site(tmp_path / "site", metadata_server.url, target)
    target.put("api.shop.production", "A", ips("h1"))
    metadata_server.reload(shop({"api": ["h1"]}))
    site.generate()
    proc = site.sync()
    assert proc.returncode != 0
    assert "refusing to take over" in output(proc)
    assert target.answer("_owner.a.api.shop.production", "TXT") is None


def test_record_marked_by_another_owner_is_refused(site, metadata_server, target):
    target.put("api.shop.production", "A", ["192.0.2.81"])
    target.put("_owner.a.api.shop.production", "TXT", ['"cluster-b:production"'])
    metadata_server.reload(shop({"api": ["h1"]}))
    site.generate()
    assert_refused(
        site,
        "refusing to take over _owner.a.api.shop.production.example.com. A",
        "owned by ['cluster-b:production']",
        "OCTODNS_ALLOW_TAKEOVER=1",
    )

    proc = site.sync(env={"OCTODNS_ALLOW_TAKEOVER": "true"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert target.answer("api.shop.production") == (300, ips("h1"))
    assert target.answer("_owner.a.api.shop.production", "TXT").values == [OWNER]


def test_two_environments_in_one_zone_never_touch_each_other(
    tmp_path, metadata_server: MetadataServer, target: Target
):
    with MetadataServer(shop({"web": ["h4"], "api": ["h5"]}, environment="Prod")) as prod_md:
        default = Site(tmp_path / "default", metadata_server.url, target, environment="default")
        prod = Site(tmp_path / "prod", prod_md.url, target, environment="prod")
        metadata_server.reload(shop({"web": ["h0"], "api": ["h1"]}, environment="Default"))
        default.publish()
        prod.publish()
        prod_records = target.ours("prod")
        assert prod_records[("web.shop.prod", "A")] == (300, ips("h4"))
        assert prod_records[("_owner.a.web.shop.prod", "TXT")].values == ['"octodns-rancher:prod"']
        assert target.ours("default")[("web.shop.default", "A")] == (300, ips("h0"))

        # default loses a service and moves another; prod is untouched and has nothing to do.
        metadata_server.reload(shop({"web": ["h2"]}, environment="Default"))
        proc = default.publish()
        touched = planned(proc, "Create") | planned(proc, "Update") | planned(proc, "Delete")
        assert touched == {"web.shop.default", "api.shop.default", "_owner.a.api.shop.default"}
        assert set(target.ours("default")) == {
            ("web.shop.default", "A"),
            ("_owner.a.web.shop.default", "TXT"),
        }
        assert target.ours("prod") == prod_records
        noop = prod.sync(doit=False)
        assert noop.returncode == 0 and "No changes were planned" in output(noop)
        assert target.outside() == OUTSIDE
