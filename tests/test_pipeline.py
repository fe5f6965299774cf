"""pipeline: a run pauses the cyclic garbage collector and always gives it back."""

from __future__ import annotations

import gc

import pytest

from octodns_rancher.errors import RancherDnsError
from octodns_rancher.pipeline import Options, compute
from octodns_rancher.source import Snapshot
from tests.support import scenario


def snapshot(services: list) -> Snapshot:
    hosts = [scenario.host("h1", "192.0.2.10")]
    return Snapshot("2016-07-29", services, hosts, scenario.self_stack("Production"))


def test_collector_is_paused_during_a_run_and_resumed_after(tmp_path):
    seen = []

    class Probe(list):
        def __iter__(self):
            seen.append(gc.isenabled())
            return super().__iter__()

    web = scenario.service(
        "shop", "web", [scenario.container("shop", "web", 1, "h1", ["80:80/tcp"])]
    )
    assert gc.isenabled()
    result = compute(Options(zone="example.com", zones_dir=tmp_path), snapshot(Probe([web])))
    assert [r.name for r in result.records] == ["web.shop.production"]
    assert seen and not any(seen)
    assert gc.isenabled()


def test_collector_is_resumed_when_a_run_fails(tmp_path):
    with pytest.raises(RancherDnsError):
        compute(Options(zone="example.com", zones_dir=tmp_path), snapshot("not a list"))
    assert gc.isenabled()
