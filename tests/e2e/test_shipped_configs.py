"""The example configs in ``config/`` work as shipped: the repository's zone files, synced with
them to the real PowerDNS and to Route53 on moto, land as written."""

from __future__ import annotations

import pytest
from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone

from octodns_rancher.config import render_octodns_config
from tests.conftest import ROOT, run
from tests.e2e.conftest import OUTSIDE, ZONE, Target

CONFIGS = {
    "powerdns": "config/octodns.powerdns.yaml",
    "rfc2136": "config/octodns.rfc2136.yaml",
    "route53": "config/octodns.yaml",
}


def repository_zone() -> dict[tuple[str, str], tuple[int, list[str]]]:
    zone = Zone(f"{ZONE}.", [])
    YamlProvider(
        "zones", str(ROOT / "zones"), default_ttl=300, enforce_order=True, escaped_semicolons=False
    ).populate(zone)
    return {(r.name, r._type): (r.ttl, sorted(r.values)) for r in zone.records}


@pytest.mark.parametrize("provider", sorted(CONFIGS))
def test_shipped_config_is_what_init_renders(provider):
    text = (ROOT / CONFIGS[provider]).read_text()
    assert text == render_octodns_config(ZONE, "Production", provider=provider)


def test_shipped_config_syncs_the_repository_zone(target: Target):
    expected = repository_zone()
    assert expected, "zones/example.com.yaml holds no records"
    proc = run(
        ["octodns-sync", "--config-file", CONFIGS[target.name], "--doit"],
        cwd=ROOT,
        env=target.env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for (name, rtype), answer in expected.items():
        assert target.answer(name, rtype) == answer, name
        assert target.answer(f"_owner.{rtype.lower()}.{name}", "TXT").values == [
            '"octodns-rancher:production"'
        ]
    assert target.outside() == OUTSIDE
