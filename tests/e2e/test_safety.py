"""Safety at the provider: octoDNS's thresholds stay on, and Route53 change batches fit its limit.

A plan that deletes or updates more than 30 % of the managed records is refused until the
operator approves it with ``--force``. Route53 counts each value of an UPSERT twice toward its
1,000 values per request; the shipped provider (``octodns_rancher.route53.Route53Provider``)
counts the same way and fills each request up to that limit, while octodns-route53's own provider
with its default ``max_changes`` (1000) has the whole update rejected: shown here against moto,
which enforces that limit. (The character limit is shown in ``tests/test_route53.py``.)
"""

from __future__ import annotations

from tests.e2e.conftest import Route53Target, Site, Target, ips, output, shop
from tests.support.metadata_server import MetadataServer
from tests.support.moto_server import counted


def services(count: int, *hosts: str) -> dict[str, list[str]]:
    return {f"svc{i:03d}": list(hosts) for i in range(count)}


def test_a_large_deletion_needs_force(tmp_path, metadata_server: MetadataServer, powerdns: Target):
    site = Site(tmp_path / "site", metadata_server.url, powerdns)
    metadata_server.reload(shop(services(12, "h0")))
    site.publish()
    assert len(powerdns.ours()) == 24  # 12 records and their markers

    metadata_server.reload(shop(services(2, "h0")))
    site.generate("--force")  # the generator's own removal guard, approved
    before = powerdns.records()
    proc = site.sync()
    assert proc.returncode != 0
    assert "Too many deletes" in output(proc) and "force required" in output(proc)
    assert powerdns.records() == before

    proc = site.sync("--force")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {name for name, _ in powerdns.ours()} == {
        "svc000.shop.production",
        "svc001.shop.production",
        "_owner.a.svc000.shop.production",
        "_owner.a.svc001.shop.production",
    }


UPSTREAM = "class: octodns_route53.Route53Provider"
SHIPPED = "class: octodns_rancher.route53.Route53Provider"


def test_an_update_of_600_values_fits_route53s_batch_limit(
    tmp_path, metadata_server: MetadataServer, route53: Route53Target
):
    site = Site(tmp_path / "site", metadata_server.url, route53)
    assert SHIPPED in site.config.read_text()
    metadata_server.reload(shop(services(300, "h0", "h1")))
    site.publish()
    assert len(route53.ours()) == 600

    # Every host replaced: 300 records, 600 values, each an UPSERT.
    metadata_server.reload(shop(services(300, "h2", "h3")))
    site.generate()
    route53.moto.clear_requests()

    # octodns-route53's own provider counts 600 values and sends them in one request, which
    # Route53 (and moto) rejects as 1,200 values; nothing is applied.
    default = site.root / "octodns-upstream-provider.yaml"
    text = site.config.read_text()
    default.write_text(
        text.replace(SHIPPED, UPSTREAM).replace("    max_value_characters: 32000\n", "")
    )
    proc = site.sync("--force", config=default)
    assert proc.returncode != 0
    assert "InvalidChangeBatch" in output(proc)
    assert "Number of records limit of 1000 exceeded" in output(proc)
    assert [counted(r["body"])[0] for r in route53.moto.change_requests()] == [1200]
    assert route53.answer("svc000.shop.production") == (300, ips("h0", "h1"))

    # The shipped config: octoDNS's update threshold first wants approval...
    route53.moto.clear_requests()
    proc = site.sync()
    assert proc.returncode != 0 and "Too many updates" in output(proc)
    assert not route53.moto.change_requests()

    # ...and with it, the update goes out in the fewest requests Route53 accepts: the first
    # filled to its 1,000 counted values, the rest in a second.
    proc = site.sync("--force")
    assert proc.returncode == 0, proc.stderr[-2000:]
    weights = [counted(r["body"])[0] for r in route53.moto.change_requests()]
    assert weights == [1000, 200], weights
    assert all(r["status"] == 200 for r in route53.moto.change_requests())
    moved = {k: v for k, v in route53.ours().items() if k[1] == "A"}
    assert len(moved) == 300
    assert set(map(tuple, (v.values for v in moved.values()))) == {tuple(ips("h2", "h3"))}
