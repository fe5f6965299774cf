"""Planning against PowerDNS without a key that can write: a TSIG-signed zone transfer.

A PowerDNS API key can always write, so the pull requests' plan job must not hold one.
``init --provider powerdns-axfr`` renders a config whose target reads the zone with a zone
transfer (octodns-bind's ``Rfc2136Provider``) signed with a TSIG key that PowerDNS allows to
transfer the zone and nothing else. Against a real ``pdns_server`` that refuses unsigned
transfers, this proves: the plan made that way is the apply's plan (same rows, same checksum,
so the apply accepts the reviewed checksum), and the config cannot change DNS even with
``--doit``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from octodns_rancher.config import render_octodns_config
from tests.conftest import GOLDEN, ROOT, run
from tests.support.pdns import PowerDns

ZONE = "example.com"
KEY = "octodns-plan"
PLAN = ROOT / "scripts" / "octodns_plan.py"


@pytest.fixture(scope="module")
def pdns() -> Iterator[PowerDns]:
    # Unsigned transfers only from an address nobody has: every transfer must be signed.
    with PowerDns(extra_args=("--allow-axfr-ips=192.0.2.1/32",)) as server:
        yield server


@pytest.fixture
def site(pdns: PowerDns, tmp_path: Path) -> dict:
    pdns.delete_zones()
    pdns.create_zone(ZONE)
    pdns.set_record(ZONE, f"www.{ZONE}", "A", ["192.0.2.80"])  # not ours: never planned
    secret = pdns.create_tsig_key(KEY) if not _has_key(pdns) else _key(pdns)
    pdns.allow_axfr(ZONE, [f"{KEY}."])
    (tmp_path / "zones").mkdir()
    (tmp_path / "config").mkdir()
    for provider, name in (("powerdns", "octodns.yaml"), ("powerdns-axfr", "octodns.plan.yaml")):
        text = render_octodns_config(ZONE, "Production", provider=provider, zones_dir="./zones")
        (tmp_path / "config" / name).write_text(text)
    # What is applied already: the golden zone with one service missing and one address old.
    golden = GOLDEN.read_text()
    applied = golden.replace("value: 198.51.100.20", "value: 192.0.2.50", 1)
    (tmp_path / "zones" / f"{ZONE}.yaml").write_text(_without(applied, "api.shop.production"))
    apply_env = {**pdns.env}
    proc = run(
        ["octodns-sync", "--config-file", "config/octodns.yaml", "--doit"], tmp_path, apply_env
    )
    assert proc.returncode == 0, proc.stderr
    shutil.copy(GOLDEN, tmp_path / "zones" / f"{ZONE}.yaml")  # the pull request's zone file
    plan_env = {
        "PDNS_AXFR_HOST": "127.0.0.1",
        "PDNS_AXFR_PORT": str(pdns.dns_port),
        "PDNS_TSIG_KEY_NAME": KEY,
        "PDNS_TSIG_SECRET": secret,
    }
    return {"dir": tmp_path, "apply_env": apply_env, "plan_env": plan_env}


def _has_key(pdns: PowerDns) -> bool:
    return any(k["name"] == KEY for k in pdns.api("GET", "/tsigkeys"))


def _key(pdns: PowerDns) -> str:
    return pdns.api("GET", f"/tsigkeys/{KEY}.")["key"]


def _without(zone_yaml: str, name: str) -> str:
    """The zone file without one top-level record."""
    out, skip = [], False
    for line in zone_yaml.splitlines(keepends=True):
        if not line.startswith(" "):
            skip = line.startswith(f"{name}:")
        if not skip:
            out.append(line)
    return "".join(out)


def _plan(site: dict, config: str, env: dict[str, str]) -> tuple[dict[str, str], str]:
    out = site["dir"] / f"{config}.md"
    proc = run(
        ["python", str(PLAN), "plan", "--config-file", f"config/{config}", "--output", str(out)],
        site["dir"],
        env,
    )
    assert proc.returncode == 0, proc.stderr
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines())
    return values, out.read_text()


def _rows(markdown: str) -> list[str]:
    return [
        line for line in markdown.splitlines() if re.match(r"\| (Create|Update|Delete) \|", line)
    ]


def test_the_plan_config_holds_no_api_key():
    text = render_octodns_config(ZONE, "Production", provider="powerdns-axfr")
    assert "PDNS_API_KEY" not in text and "api_key" not in text
    assert "class: octodns_bind.Rfc2136Provider" in text
    assert "key_secret: env/PDNS_TSIG_SECRET" in text
    # The target keeps the apply config's name: the plan reads like the apply's.
    assert "    targets:\n      - powerdns\n" in text


def test_the_transfer_plan_is_the_apply_plan(site):
    api, api_md = _plan(site, "octodns.yaml", site["apply_env"])
    axfr, axfr_md = _plan(site, "octodns.plan.yaml", site["plan_env"])
    assert int(api["changes"]) >= 2 and api["creates"] == "2" and api["updates"] == "1"
    assert {k: axfr[k] for k in api} == api  # counts and the checksum
    assert _rows(axfr_md) == _rows(api_md)
    assert any("| Update | prometheus.monitoring.production | A |" in r for r in _rows(axfr_md))
    # The apply accepts the checksum the read-only plan printed, and applies exactly that.
    proc = run(
        [
            "python",
            str(PLAN),
            "apply",
            "--config-file",
            "config/octodns.yaml",
            "--checksum",
            axfr["checksum"],
        ],
        site["dir"],
        site["apply_env"],
    )
    assert proc.returncode == 0, proc.stderr
    after, _ = _plan(site, "octodns.plan.yaml", site["plan_env"])
    assert after["changes"] == "0"


def test_the_plan_config_cannot_write(site, pdns):
    before = pdns.rrsets(ZONE)
    proc = run(
        ["octodns-sync", "--config-file", "config/octodns.plan.yaml", "--doit"],
        site["dir"],
        site["plan_env"],
    )
    assert proc.returncode != 0
    assert "REFUSED" in proc.stderr
    assert pdns.rrsets(ZONE) == before


def test_without_the_key_the_transfer_is_refused(site):
    """A wrong secret is refused by PowerDNS (NOTAUTH); no key at all is a config error."""
    cases = [
        ({**site["plan_env"], "PDNS_TSIG_SECRET": "d3Jvbmcta2V5LXdyb25nLWtleQ=="}, "NOTAUTH"),
        (
            {k: v for k, v in site["plan_env"].items() if "TSIG" not in k},
            "missing env var PDNS_TSIG_KEY_NAME",
        ),
    ]
    for env, message in cases:
        proc = run(
            ["python", str(PLAN), "plan", "--config-file", "config/octodns.plan.yaml"],
            site["dir"],
            env,
        )
        assert proc.returncode != 0
        assert message in proc.stderr and proc.stdout == ""
