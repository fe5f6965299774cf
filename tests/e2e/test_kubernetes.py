"""A Rancher environment and a Kubernetes cluster publishing into one zone, side by side.

rancher-metadata (HTTP) and the Kubernetes API server (HTTP, bearer token) → two
``octodns-rancher generate`` runs into one zone file, each owning its subtree → one
``octodns-sync`` with the config ``init --subtree c1`` renders → PowerDNS → DNS answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run
from tests.e2e.conftest import OUTSIDE, ZONE, PowerDnsTarget, Site, ips, output, shop
from tests.support.kube_apiserver import KubeApiServer
from tests.support.metadata_server import MetadataServer

H = "external-dns.alpha.kubernetes.io/hostname"
PLAN = ROOT / "scripts" / "octodns_plan.py"
OWNER = '"octodns-rancher:production"'


@pytest.fixture
def cluster() -> Iterator[KubeApiServer]:
    with KubeApiServer() as srv:
        srv.add_service(
            "shop",
            "web",
            ips=("203.0.113.10", "2001:db8::10"),
            annotations={H: "web.c1.example.com"},
        )
        srv.add_service(
            "shop", "elb", hostnames=("a1.elb.example.net",), annotations={H: "elb.c1.example.com"}
        )
        srv.add_ingress("shop", "site", hosts=("www.c1.example.com",), ips=("198.51.100.7",))
        yield srv


def kube_generate(site: Site, kubeconfig: Path, *extra: str):
    return run(
        [
            "octodns-rancher",
            "generate",
            "--source",
            "kubernetes",
            "--cluster",
            "c1",
            "--kubeconfig",
            str(kubeconfig),
            "--zone",
            ZONE,
            "--zones-dir",
            "zones",
            *extra,
        ],
        cwd=site.root,
    )


@pytest.mark.parametrize("ownership", ["record", "subtree"])
def test_rancher_and_kubernetes_share_one_zone(
    tmp_path,
    metadata_server: MetadataServer,
    powerdns: PowerDnsTarget,
    cluster: KubeApiServer,
    ownership,
):
    site = Site(
        tmp_path / "site",
        metadata_server.url,
        powerdns,
        init_args=("--subtree", "c1", "--ownership", ownership),
        cli_init=True,
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(cluster.kubeconfig()))
    metadata_server.reload(shop({"web": ["h0"], "api": ["h1", "h2"]}))
    site.generate()
    proc = kube_generate(site, kubeconfig)
    assert proc.returncode == 0, output(proc)
    zone_file = site.root / "zones" / f"{ZONE}.yaml"
    text = zone_file.read_text()
    assert "web.shop.production:" in text and "elb.c1:" in text

    proc = site.sync()
    assert proc.returncode == 0, output(proc)[-3000:]
    # Read back over DNS from PowerDNS.
    assert powerdns.answer("web.shop.production") == (300, ips("h0"))
    assert powerdns.answer("api.shop.production") == (300, ips("h1", "h2"))
    assert powerdns.answer("web.c1") == (300, ["203.0.113.10"])
    assert powerdns.answer("web.c1", "AAAA") == (300, ["2001:db8::10"])
    assert powerdns.answer("elb.c1", "CNAME") == (300, ["a1.elb.example.net."])
    assert powerdns.answer("www.c1") == (300, ["198.51.100.7"])
    if ownership == "subtree":
        assert powerdns.answer("_owner.c1", "TXT") == (300, [OWNER])
        assert powerdns.answer("_owner.production", "TXT") == (300, [OWNER])
    else:
        assert powerdns.answer("_owner.cname.elb.c1", "TXT") == (300, [OWNER])
    assert powerdns.outside() == OUTSIDE

    # The cluster changes: only its subtree changes, in the file and at the provider.
    rancher_part = [line for line in text.splitlines() if "production" in line]
    cluster.delete("services", "shop", "elb")
    proc = kube_generate(site, kubeconfig)
    assert proc.returncode == 0, output(proc)
    assert "0 added, 0 changed, 1 removed" in output(proc)
    assert [
        line for line in zone_file.read_text().splitlines() if "production" in line
    ] == rancher_part
    proc = site.sync()
    assert proc.returncode == 0, output(proc)[-3000:]
    assert powerdns.answer("elb.c1", "CNAME") is None
    assert powerdns.answer("web.shop.production") == (300, ips("h0"))

    # Rancher changes: the cluster's records stay.
    metadata_server.reload(shop({"web": ["h3"]}))
    site.generate()
    proc = site.sync()
    assert proc.returncode == 0, output(proc)[-3000:]
    assert powerdns.answer("api.shop.production") is None
    assert powerdns.answer("web.c1") == (300, ["203.0.113.10"])
    assert powerdns.answer("www.c1") == (300, ["198.51.100.7"])
    assert powerdns.outside() == OUTSIDE
    noop = site.sync(doit=False)
    assert noop.returncode == 0 and "No changes were planned" in output(noop)


def shared_zone(
    tmp_path: Path,
    metadata_server: MetadataServer,
    powerdns: PowerDnsTarget,
    cluster: KubeApiServer,
) -> tuple[Site, Path]:
    """A site whose zone file holds a Rancher environment (web on h0) and the cluster's subtree
    c1, both generated; its kubeconfig."""
    site = Site(
        tmp_path / "site",
        metadata_server.url,
        powerdns,
        init_args=("--subtree", "c1"),
        cli_init=True,
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps(cluster.kubeconfig()))
    metadata_server.reload(shop({"web": ["h0"]}))
    site.generate()
    assert kube_generate(site, kubeconfig).returncode == 0
    return site, kubeconfig


def test_the_zone_file_validates_with_octodns(tmp_path, metadata_server, powerdns, cluster):
    site, _ = shared_zone(tmp_path, metadata_server, powerdns, cluster)
    proc = run(
        ["octodns-validate", "--config-file", str(site.config)], cwd=site.root, env=powerdns.env
    )
    assert proc.returncode == 0, output(proc)


def test_the_plan_comment_shows_the_clusters_changes(
    tmp_path, metadata_server: MetadataServer, powerdns: PowerDnsTarget, cluster: KubeApiServer
):
    """The pull request's plan (scripts/octodns_plan.py, octoDNS's PlanMarkdown) for a cluster's
    changes: a CNAME that moves, a Service added, a record removed, and nothing of Rancher's."""
    site, kubeconfig = shared_zone(tmp_path, metadata_server, powerdns, cluster)
    proc = site.sync()
    assert proc.returncode == 0, output(proc)[-3000:]

    cluster.update(
        "services",
        "shop",
        "elb",
        lambda o: o["status"]["loadBalancer"]["ingress"][0].update(hostname="a2.elb.example.net"),
    )
    cluster.add_service("shop", "api", ips=("203.0.113.20",), annotations={H: "api.c1.example.com"})
    cluster.delete("ingresses", "shop", "site")
    assert kube_generate(site, kubeconfig).returncode == 0
    plan_md = site.root / "plan.md"
    proc = run(
        [
            "python",
            str(PLAN),
            "plan",
            "--config-file",
            str(site.config),
            "--output",
            str(plan_md),
        ],
        cwd=site.root,
        env=powerdns.env,
    )
    assert proc.returncode == 0, output(proc)
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    markdown = plan_md.read_text()
    lines = markdown.splitlines()
    rows = [line for line in lines if line.startswith(("| Create", "| Update", "| Delete"))]
    # An update is two rows: the old value, then the new one.
    update = lines.index(next(r for r in rows if r.startswith("| Update | elb.c1 | CNAME |")))
    assert "a1.elb.example.net." in lines[update], markdown
    assert "a2.elb.example.net." in lines[update + 1], markdown
    assert any(r.startswith("| Create | api.c1 | A |") for r in rows), markdown
    assert any(r.startswith("| Delete | www.c1 | A |") for r in rows), markdown
    assert not any(".production |" in r for r in rows), markdown  # nothing of Rancher's
    assert values["checksum"] and int(values["changes"]) >= 3
