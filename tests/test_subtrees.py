"""One zone file, two sources: each run replaces only its own subtree and guards only it."""

from __future__ import annotations

import json

import pytest

from octodns_rancher.errors import RancherDnsError
from octodns_rancher.guards import TooManyRemovalsError
from octodns_rancher.kubernetes.snapshot import KubeSnapshot
from octodns_rancher.kubernetes.stage import KubeOptions
from octodns_rancher.pipeline import Options, generate, terraform_path, zone_path
from octodns_rancher.source import Snapshot
from octodns_rancher.subtrees import owns, relative
from tests.support import scenario
from tests.support.kube_apiserver import ingress, service

H = "external-dns.alpha.kubernetes.io/hostname"


def rancher(n: int) -> Snapshot:
    hosts = [scenario.host("h1", "192.0.2.10")]
    services = [
        scenario.service(
            "shop", f"s{i}", [scenario.container("shop", f"s{i}", 1, "h1", ["80:80/tcp"])]
        )
        for i in range(n)
    ]
    return Snapshot("2016-07-29", services, hosts, scenario.self_stack("Production"))


def cluster(n: int, cname: bool = True) -> KubeSnapshot:
    svcs = [
        service(
            "shop", f"k{i}", ips=(f"203.0.113.{i + 1}",), annotations={H: f"k{i}.c1.example.com"}
        )
        for i in range(n)
    ]
    if cname:
        svcs.append(
            service(
                "shop", "elb", hostnames=("lb.example.net",), annotations={H: "elb.c1.example.com"}
            )
        )
    ings = [ingress("shop", "site", hosts=("www.c1.example.com",), ips=("198.51.100.7",))]
    return KubeSnapshot(svcs, ings)


def r_opts(tmp_path, **kw) -> Options:
    return Options(zone="example.com", zones_dir=tmp_path, **kw)


def k_opts(tmp_path, **kw) -> Options:
    return Options(
        zone="example.com",
        zones_dir=tmp_path,
        source="kubernetes",
        kubernetes=KubeOptions(cluster="c1"),
        **kw,
    )


def blocks(text: str, suffix: str) -> list[str]:
    """The zone file's top-level entries under ``suffix``, as their exact text."""
    out, current = [], None
    for line in text.splitlines(keepends=True)[1:]:
        if not line.startswith((" ", "-")):
            current = [] if line.split(":")[0].endswith(suffix) else None
            if current is not None:
                out.append(current)
        if current is not None:
            current.append(line)
    return ["".join(b) for b in out]


def test_owns_and_relative():
    rel = relative(["c1.example.com", "apps.example.com."], "example.com")
    assert rel == ("c1", "apps")
    assert owns("a.c1", rel) and owns("x.y.apps", rel)
    assert not owns("c1", rel) and not owns("a.c10", rel) and not owns("www", rel)
    assert relative(["example.com"], "example.com") == ("",)
    assert owns("www", ("",)) and not owns("", ("",))


def test_each_source_keeps_the_others_entries_byte_identical(tmp_path):
    path = zone_path(tmp_path, "example.com")
    generate(r_opts(tmp_path), rancher(3))
    two = cluster(2)
    generate(k_opts(tmp_path), two)
    both = path.read_text()
    rancher_blocks, kube_blocks = blocks(both, ".production"), blocks(both, ".c1")
    assert len(rancher_blocks) == 3 and len(kube_blocks) == 4
    # The Kubernetes run's entries are exactly what it writes alone.
    alone = tmp_path / "alone"
    generate(k_opts(alone), two)
    assert blocks(zone_path(alone, "example.com").read_text(), ".c1") == kube_blocks

    # A Rancher run that changes its own subtree leaves the cluster's entries as they were...
    result = generate(r_opts(tmp_path), rancher(4))
    text = path.read_text()
    assert blocks(text, ".c1") == kube_blocks
    assert len(blocks(text, ".production")) == 4
    assert (result.summary.added, result.summary.removed) == (["s3.shop.production"], [])
    # ...and the other way round.
    rancher_blocks = blocks(text, ".production")
    assert len(rancher_blocks) == 4
    result = generate(k_opts(tmp_path), cluster(1, cname=False))
    assert blocks(path.read_text(), ".production") == rancher_blocks
    assert sorted(result.summary.removed) == ["elb.c1", "k1.c1"]
    assert result.summary.added == [] and result.summary.changed == []


def test_guards_count_only_the_runs_own_subtree(tmp_path):
    generate(r_opts(tmp_path), rancher(30))
    generate(k_opts(tmp_path), cluster(9))  # 11 names: k0-k8, elb, www
    before = zone_path(tmp_path, "example.com").read_bytes()
    # 30 Rancher records are not this run's: removing 4 of the cluster's 11 (36 %) trips.
    with pytest.raises(TooManyRemovalsError, match=r"remove 4 of 11 record\(s\)") as e:
        generate(k_opts(tmp_path), cluster(5))
    assert ".production" not in str(e.value)
    assert zone_path(tmp_path, "example.com").read_bytes() == before
    # An empty cluster is refused as empty, whatever the Rancher subtree holds.
    with pytest.raises(Exception, match="the cluster gave no Services or Ingresses but"):
        generate(k_opts(tmp_path), KubeSnapshot([], []))
    # Removing 3 of 11 (27 %) is allowed and leaves Rancher's 30 alone.
    result = generate(k_opts(tmp_path), cluster(6))
    assert len(result.summary.removed) == 3
    assert len(blocks(zone_path(tmp_path, "example.com").read_text(), ".production")) == 30


def test_terraform_file_is_shared_the_same_way(tmp_path):
    generate(r_opts(tmp_path, formats=("octodns", "terraform")), rancher(2))
    generate(k_opts(tmp_path, formats=("octodns", "terraform")), cluster(1))
    data = json.loads(terraform_path(tmp_path, "example.com").read_text())
    names = sorted(r["name"] for r in data["resource"]["aws_route53_record"].values())
    assert names == [
        "elb.c1.example.com",
        "k0.c1.example.com",
        "s0.shop.production.example.com",
        "s1.shop.production.example.com",
        "www.c1.example.com",
    ]
    generate(r_opts(tmp_path, formats=("octodns", "terraform")), rancher(1))
    data = json.loads(terraform_path(tmp_path, "example.com").read_text())
    names = sorted(r["name"] for r in data["resource"]["aws_route53_record"].values())
    assert "s1.shop.production.example.com" not in names and "elb.c1.example.com" in names


def test_an_unreadable_zone_file_is_refused_and_kept(tmp_path):
    path = zone_path(tmp_path, "example.com")
    path.write_text("---\nweb.production: [unclosed\n")
    before = path.read_bytes()
    with pytest.raises(
        Exception, match=r"is not valid YAML .*; fix or remove it; nothing was written"
    ):
        generate(k_opts(tmp_path), cluster(1))
    assert path.read_bytes() == before


def test_a_result_computed_ahead_is_not_written_over_another_sources_later_write(tmp_path):
    """``watch`` computes a cycle before its quiet period ends; if another source wrote the
    shared file meanwhile, the write computes again and keeps that source's entries."""
    path = zone_path(tmp_path, "example.com")
    generate(r_opts(tmp_path), rancher(3))
    ahead = generate(r_opts(tmp_path), rancher(4), write=False)
    assert ahead.still_current()
    generate(k_opts(tmp_path), cluster(2))  # the cluster's run writes the file in between
    assert not ahead.still_current()
    result = generate(r_opts(tmp_path), rancher(4), prepared=ahead)
    assert result is not ahead and result.written
    text = path.read_text()
    assert len(blocks(text, ".c1")) == 4 and len(blocks(text, ".production")) == 4
    # Unchanged files: the computed result is what is written, as it is.
    again = generate(r_opts(tmp_path), rancher(5), write=False)
    written = generate(r_opts(tmp_path), rancher(5), prepared=again)
    assert written is again and path.read_text() == again.text


@pytest.mark.parametrize("subtree", ["production.example.com", "shop.production.example.com"])
def test_a_cluster_whose_subtree_overlaps_an_environment_writes_nothing(tmp_path, subtree):
    """A subtree listed by mistake over a Rancher environment's names: the cluster run would
    replace that environment's records with its own. It stops, naming an entry and its owner."""
    generate(r_opts(tmp_path), rancher(2))
    path = zone_path(tmp_path, "example.com")
    before = path.read_bytes()
    opts = Options(
        zone="example.com",
        zones_dir=tmp_path,
        source="kubernetes",
        kubernetes=KubeOptions(cluster="c1", subtrees=(subtree,)),
    )
    with pytest.raises(RancherDnsError) as e:
        generate(opts, cluster(1))
    message = str(e.value)
    assert "s0.shop.production" in message and "rancher" in message, message
    assert "overlap" in message and "nothing was written" in message
    assert path.read_bytes() == before
    # A Rancher run over a cluster's subtree is stopped the same way.
    generate(k_opts(tmp_path / "k"), cluster(1))
    hosts = [scenario.host("h1", "192.0.2.10")]
    svc = scenario.service("shop", "s0", [scenario.container("shop", "s0", 1, "h1", ["80:80/tcp"])])
    c1 = Snapshot("2016-07-29", [svc], hosts, scenario.self_stack("c1"))
    with pytest.raises(RancherDnsError, match="kubernetes"):
        generate(r_opts(tmp_path / "k"), c1)
