"""providers: the YamlProvider on libyaml reads and refuses exactly what octoDNS's does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from octodns.provider.yaml import YamlProvider as OctodnsYamlProvider
from octodns.zone import Zone

from octodns_rancher.config import render_octodns_config
from octodns_rancher.providers import YamlProvider
from tests.conftest import GOLDEN, run

ZONE = "example.com."


def records(provider) -> dict:  # type: ignore[no-untyped-def]
    zone = Zone(ZONE, [])
    provider.populate(zone)
    return {(r.name, r._type): r.data for r in zone.records}


def providers(directory: Path, **options: object) -> tuple:
    kwargs = {"default_ttl": 300, "escaped_semicolons": False, **options}
    return (
        OctodnsYamlProvider("theirs", str(directory), **kwargs),
        YamlProvider("ours", str(directory), **kwargs),
    )


@pytest.mark.parametrize("options", [{}, {"enforce_order": False}, {"order_mode": "simple"}])
def test_reads_the_same_records_as_octodns(tmp_path: Path, options: dict) -> None:
    shutil.copy(GOLDEN, tmp_path / "example.com.yaml")
    theirs, ours = providers(tmp_path, **options)
    assert records(ours) == records(theirs) != {}


def test_a_zone_file_out_of_order_is_refused_as_octodns_refuses_it(tmp_path: Path) -> None:
    (tmp_path / "example.com.yaml").write_text(
        "web:\n  type: A\n  value: 192.0.2.1\napi:\n  type: A\n  value: 192.0.2.2\n"
    )
    errors = []
    for provider in providers(tmp_path):
        with pytest.raises(Exception) as caught:
            records(provider)
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]
    assert "keys out of order: expected api got web" in errors[1][1]


def test_writes_the_same_file_as_octodns(tmp_path: Path) -> None:
    """A target writes with octoDNS's dumper for its order mode, unchanged."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(GOLDEN, source / "example.com.yaml")
    zone = Zone(ZONE, [])
    OctodnsYamlProvider("src", str(source), escaped_semicolons=False).populate(zone)
    texts = []
    for cls in (OctodnsYamlProvider, YamlProvider):
        out = tmp_path / cls.__module__
        target = cls("t", str(out), escaped_semicolons=False)
        target.apply(target.plan(zone))
        texts.append((out / "example.com.yaml").read_text())
    assert texts[0] == texts[1] == GOLDEN.read_text()


def test_octodns_validate_refuses_an_unsorted_zone_with_the_rendered_config(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        render_octodns_config("example.com", "production", "route53", "./zones")
    )
    assert "class: octodns_rancher.providers.YamlProvider" in (tmp_path / "config.yaml").read_text()
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "example.com.yaml").write_text(
        "web.shop.production:\n  type: A\n  value: 192.0.2.1\n"
        "api.shop.production:\n  type: A\n  value: 192.0.2.2\n"
    )
    proc = run(
        ["octodns-validate", "--config-file", "config.yaml"],
        cwd=tmp_path,
        env={"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
    )
    assert proc.returncode != 0
    assert "keys out of order: expected api.shop.production got web.shop.production" in proc.stderr
    assert "example.com.yaml, line 1, column 1" in proc.stderr
