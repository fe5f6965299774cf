"""The move from Rancher's external DNS service, at PowerDNS and Route53, for both models.

The zone is laid down exactly as Rancher's service left it: A records named
``<service>.<stack>.<environment>.<zone>`` with its TTL, and per environment a TXT state record
``external-dns-<environment uuid>`` whose values are the fqdns it managed, quoted, with the
final dot, sorted. Two environments share the zone; inside production's subtree one record was
made by hand, and one listed record belongs to a service that is gone since. Production moves
to octodns-rancher: preview, sync, state record removal. Every name keeps answering after every
step (PowerDNS is asked on its DNS port), the listed records end up ours, the gone service's
record is deleted, and the hand-made record, staging and the rest of the zone stay as they were.
"""

from __future__ import annotations

import pytest

from tests.conftest import run
from tests.e2e.conftest import OUTSIDE, ZONE, Site, Target, ips, output, shop
from tests.support.metadata_server import MetadataServer
from tests.support.pdns import Answer

PROD = "1a2b3c4d-0000-4000-8000-00000000beef"
STAGING = "5e6f7a8b-0000-4000-8000-00000000cafe"
OWNER = '"octodns-rancher:production"'


def rancher_wrote(target: Target) -> dict[tuple[str, str], Answer]:
    """Records as Rancher's service wrote them; returns what must keep answering."""
    records = {
        ("web.shop.production", "A"): Answer(300, ips("h0")),
        ("api.shop.production", "A"): Answer(300, ips("h1")),
        ("old.shop.production", "A"): Answer(300, ips("h5")),  # its service is gone
        ("shop-lb", "A"): Answer(300, ips("h6")),  # a load balancer host name, outside
        ("web.shop.staging", "A"): Answer(300, ips("h7")),
        ("manual.shop.production", "A"): Answer(120, ["192.0.2.70"]),  # by hand, unlisted
    }
    for (name, rtype), ans in records.items():
        target.put(name, rtype, ans.values, ans.ttl)
    listed = ["api.shop.production", "old.shop.production", "shop-lb", "web.shop.production"]
    target.put(f"external-dns-{PROD}", "TXT", [f'"{n}.{ZONE}."' for n in sorted(listed)])
    target.put(f"external-dns-{STAGING}", "TXT", [f'"web.shop.staging.{ZONE}."'])
    return records


def assert_answering(target: Target, names: dict[tuple[str, str], Answer]) -> None:
    for name, rtype in names:
        got = target.answer(name, rtype)
        assert got is not None and got.values, f"{name} {rtype} stopped answering"


@pytest.mark.parametrize("model", ["record", "subtree"])
def test_move_one_environment_from_rancher(
    tmp_path, metadata_server: MetadataServer, target: Target, model: str
):
    before = rancher_wrote(target)
    untouched = {k: before[k] for k in before if k[0] in ("shop-lb", "web.shop.staging")}
    untouched[("manual.shop.production", "A")] = before[("manual.shop.production", "A")]
    staging_state = target.records()[(f"external-dns-{STAGING}", "TXT")]
    site = Site(
        tmp_path / "site",
        metadata_server.url,
        target,
        init_args=("--ownership", model, "--environment-uuid", PROD),
    )
    # web stays where it was, api moved to h2, cart is new, old is gone.
    metadata_server.reload(shop({"web": ["h0"], "api": ["h2"], "cart": ["h3"]}))
    site.generate()
    assert_answering(target, before)

    # 1. The preview: what the sync will adopt, update, create, delete and leave alone.
    proc = run(
        ["octodns-rancher", "migrate", "--config-file", str(site.config)],
        cwd=site.root,
        env=target.env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = {
        line.split(" | ")[1].strip("`"): line.split(" | ")[0].strip("| ")
        for line in proc.stdout.splitlines()
        if line.startswith("| ") and "`" in line
    }
    assert table == {
        "web.shop.production": "adopt",
        "api.shop.production": "adopt and update",
        "cart.shop.production": "create",
        "old.shop.production": "delete",
        "manual.shop.production": "leave alone",
        f"external-dns-{PROD}": "leave alone",
        f"external-dns-{STAGING}": "leave alone",
    }, proc.stdout
    assert "`shop-lb`" in proc.stdout  # listed by Rancher, outside the subtree: reported
    assert_answering(target, before)

    # 2. The move: no takeover switch needed.
    proc = site.sync()
    assert proc.returncode == 0, output(proc)[-3000:]
    assert target.answer("web.shop.production") == (300, ips("h0"))
    assert target.answer("api.shop.production") == (300, ips("h2"))
    assert target.answer("cart.shop.production") == (300, ips("h3"))
    assert target.answer("old.shop.production") is None
    for key, ans in untouched.items():
        assert target.answer(*key) == ans, key
    assert target.records()[(f"external-dns-{STAGING}", "TXT")] == staging_state
    assert target.outside() == OUTSIDE
    ours = target.ours()
    if model == "record":
        for name in ("web", "api", "cart"):
            assert ours[(f"_owner.a.{name}.shop.production", "TXT")].values == [OWNER]
        assert ("_owner.a.manual.shop.production", "TXT") not in ours
    else:
        assert sorted(ours[("_owner.production", "TXT")].values) == sorted(
            [OWNER, '"keep/manual.shop.production/A"']
        )
    assert (f"external-dns-{PROD}", "TXT") in target.records()
    noop = site.sync(doit=False)
    assert noop.returncode == 0 and "No changes were planned" in output(noop), output(noop)
    assert_answering(target, {k: v for k, v in before.items() if k[0] != "old.shop.production"})

    # 3. The state record is obsolete: removed on request, nothing else outside the subtree.
    proc = site.sync(env={"OCTODNS_REMOVE_RANCHER_STATE": "1"})
    assert proc.returncode == 0, output(proc)[-3000:]
    records = target.records()
    assert (f"external-dns-{PROD}", "TXT") not in records
    assert records[(f"external-dns-{STAGING}", "TXT")] == staging_state
    for key, ans in untouched.items():
        assert target.answer(*key) == ans, key
    assert target.outside() == OUTSIDE
    assert_answering(target, {k: v for k, v in before.items() if k[0] != "old.shop.production"})
    assert target.answer("cart.shop.production") == (300, ips("h3"))

    # 4. From now on an ordinary sync: a service goes, the hand-made record still stays (for
    # per-record markers, tests/e2e/test_ownership.py shows it; here the subtree marker's keep).
    if model == "record":
        return
    metadata_server.reload(shop({"web": ["h0"], "api": ["h2"]}))
    site.publish()
    assert target.answer("cart.shop.production") is None
    assert target.answer("manual.shop.production") == untouched[("manual.shop.production", "A")]
    assert_answering(target, {k: v for k, v in before.items() if k[0] != "old.shop.production"})
