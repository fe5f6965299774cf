"""rancher_source: octodns-sync reading Rancher directly through RancherSource."""

from __future__ import annotations

from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone

from octodns_rancher import RancherSource
from tests.conftest import FIXTURES, run

CONFIG = """---
providers:
  rancher:
    class: octodns_rancher.RancherSource
    metadata_url: {url}
  out:
    class: octodns.provider.yaml.YamlProvider
    directory: {out}
    default_ttl: 3600
    enforce_order: true
    escaped_semicolons: false
processors:
  subtree:
    class: octodns.processor.filter.NameAllowlistFilter
    allowlist: ['/\\.production\\Z/']
zones:
  example.com.:
    sources: [rancher]
    processors: [subtree]
    targets: [out]
"""


def test_octodns_sync_from_rancher_matches_the_generated_file(metadata, tmp_path):
    out = tmp_path / "out"
    cfg = tmp_path / "octodns.yaml"
    cfg.write_text(CONFIG.format(url=metadata.url, out=out))
    proc = run(["octodns-sync", "--config-file", str(cfg), "--doit"])
    assert proc.returncode == 0, proc.stderr
    assert metadata.paths() == [
        "/2016-07-29/self/stack",
        "/2016-07-29/services",
        "/2016-07-29/hosts",
    ]

    def records(directory):
        zone = Zone("example.com.", [])
        YamlProvider("r", str(directory), enforce_order=False, escaped_semicolons=False).populate(
            zone
        )
        return {(r.name, r._type, r.ttl, tuple(r.values)) for r in zone.records}

    assert records(out) == records(FIXTURES / "golden")


def test_populate_as_target_reports_nothing(metadata):
    source = RancherSource("rancher", metadata_url=metadata.url)
    zone = Zone("example.com.", [])
    assert source.populate(zone, target=True) is False
    assert not zone.records and not metadata.requests


def test_snapshot_file_and_environment_override(tmp_path):
    root = FIXTURES.parent.parent
    source = RancherSource(
        "rancher",
        metadata_file=str(root / "config" / "metadata-snapshot.json"),
        environment="Staging",
        ttl=60,
    )
    zone = Zone("example.com.", [])
    assert source.populate(zone) is True
    assert {r.name for r in zone.records} >= {"web.shop.staging", "api.shop.staging"}
    assert {r.ttl for r in zone.records} == {60}
