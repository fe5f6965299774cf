"""names: hostnames, labels and zones that a trailing newline or a bad ``xn--`` cannot fool.

The hostile names are driven through the real ``octodns-rancher generate`` (a snapshot file in,
zone files out) where the defect showed on the command line, and through the checks directly
for the table of cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from octodns_rancher.names import is_below, label_problem, name_problem, printable, zone_problem
from octodns_rancher.records import LABEL_TEMPLATE
from tests.conftest import run, write_snapshot
from tests.support import scenario as sc

HOSTS = [sc.host("h1", "203.0.113.1")]
P80 = ["0.0.0.0:80:80/tcp"]


def service(name: str, labels: dict[str, str] | None = None) -> dict:
    return sc.service("shop", name, [sc.container("shop", name, 1, "h1", P80)], labels=labels)


def generate(tmp_path: Path, services: list[dict], *extra: str, env=None):
    snap = write_snapshot(tmp_path / "snap.json", sc.snapshot(services, HOSTS, "Production"))
    return run(
        [
            "octodns-rancher",
            "generate",
            "--metadata-file",
            str(snap),
            "--zones-dir",
            str(tmp_path / "zones"),
            *extra,
        ],
        env=env,
    )


def published(tmp_path: Path) -> tuple[list[str], list[str]]:
    """The names in the zone file and in the Terraform file."""
    zones = tmp_path / "zones"
    names = sorted(yaml.safe_load((zones / "example.com.yaml").read_text()))
    tf = json.loads((zones / "example.com.tf.json").read_text())
    resources = tf.get("resource", {}).get("aws_route53_record", {}).values()
    return names, sorted(r["name"] for r in resources)


def zone_files(tmp_path: Path) -> list[str]:
    zones = tmp_path / "zones"
    return sorted(p.name for p in zones.iterdir()) if zones.exists() else []


# -- names from a service's label ----------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "x\n.%{{environment_name}}",
        "%{{service_name}}.%{{environment_name}}\n.x",
        "web\r.%{{environment_name}}",
        "xn--abc.%{{environment_name}}",
        "xn--zz.%{{environment_name}}",
        "xn--ls8h.%{{environment_name}}",
    ],
)
def test_a_bad_label_costs_only_its_service_its_record_in_every_format(tmp_path, template):
    services = [service("web"), service("evil", {LABEL_TEMPLATE: template})]
    proc = generate(tmp_path, services, "--zone", "example.com", "--format", "all")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert published(tmp_path) == (["web.shop.production"], ["web.shop.production.example.com"])
    warnings = [line for line in proc.stderr.splitlines() if "shop/evil" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING"), proc.stderr
    assert "no record" in warnings[0]


def test_a_valid_a_label_is_published(tmp_path):
    services = [service("web", {LABEL_TEMPLATE: "xn--caf-dma.%{{environment_name}}"})]
    proc = generate(tmp_path, services, "--zone", "example.com", "--format", "all")
    assert proc.returncode == 0, proc.stderr
    assert "café.production:" in (tmp_path / "zones" / "example.com.yaml").read_text()
    tf = (tmp_path / "zones" / "example.com.tf.json").read_text()
    assert '"name": "xn--caf-dma.production.example.com"' in tf


# -- the zone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "zone"),
    [
        ("env", "example.com\n"),
        ("flag", "example.com\n"),
        ("flag", "example.-com"),
        ("flag", "example.com-"),
        ("flag", "-example.com"),
        ("flag", "xn--zz.com"),
        ("flag", "xn--abc.com"),
        ("flag", "example.123"),
        ("flag", "exa\x1bmple.com"),
        ("flag", "bücher.example"),
        ("flag", "a..com"),
        ("flag", "com"),
        ("flag", "x" * 64 + ".com"),
        ("env", "x." * 60_000 + "com"),
    ],
)
def test_an_invalid_zone_is_one_error_line_and_exit_2(tmp_path, how, zone):
    (tmp_path / "zones").mkdir()
    args = [f"--zone={zone}"] if how == "flag" else []
    env = {"ROOT_DOMAIN": zone} if how == "env" else None
    proc = generate(tmp_path, [service("web")], *args, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR") and "invalid zone" in lines[0]
    assert len(lines[0]) < 500
    assert zone_files(tmp_path) == []


@pytest.mark.parametrize(
    "zone", ["example.com", "Example.COM.", "xn--bcher-kva.example", "a.b.c.io"]
)
def test_valid_zones_are_accepted(tmp_path, zone):
    proc = generate(tmp_path, [service("web")], "--zone", zone)
    assert proc.returncode == 0, proc.stderr
    assert zone_files(tmp_path) == [zone.rstrip(".").lower() + ".yaml"]


# -- the checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("web", ""),
        ("a", ""),
        ("a-b", ""),
        ("x" * 63, ""),
        ("xn--caf-dma", ""),
        ("", "(it is empty)"),
        ("x" * 64, "longer than 63"),
        ("web\n", "not a valid DNS label"),
        ("\nweb", "not a valid DNS label"),
        ("Web", "not a valid DNS label"),  # names are lower-cased before the check
        ("-web", "not a valid DNS label"),
        ("web-", "not a valid DNS label"),
        ("w_b", "not a valid DNS label"),
        ("*", "not a valid DNS label"),
        ("café", "not a valid DNS label"),
        ("xn--abc", "not a valid IDNA label"),
        ("xn--zz", "not a valid IDNA label"),
        ("xn--", "not a valid DNS label"),
        ("xn--ls8h", "not a valid IDNA label"),  # an emoji: IDNA 2003 only
    ],
)
def test_label_problem(label, why):
    problem = label_problem(label)
    assert (why in problem and problem) if why else problem == ""


def test_name_problem_and_is_below():
    assert name_problem("web.shop.production.example.com") == ""
    assert "longer than 252" in name_problem(".".join(["x" * 63] * 4) + ".com")
    # octoDNS counts the final dot in its 253: 252 characters is the longest name it takes.
    assert name_problem(".".join(["x" * 63] * 3) + "." + "y" * 60) == ""
    assert "longer than 252" in name_problem(".".join(["x" * 63] * 3) + "." + "y" * 61)
    assert "label 'x\\n' is not" in name_problem("x\n.production.example.com")
    assert "label '' is not a valid DNS label" in name_problem("a..b")
    assert is_below("web.production.example.com", "production.example.com")
    assert not is_below("production.example.com", "production.example.com")
    assert not is_below("webproduction.example.com", "production.example.com")


def test_zone_problem():
    assert zone_problem("example.com") == ""
    assert "label '-com' is not a valid DNS label" in zone_problem("example.-com")
    assert "top-level" in zone_problem("example.123")
    assert "single label" in zone_problem("com")
    assert "IDNA" in zone_problem("xn--zz.com")


def test_printable_escapes_control_characters_and_caps_the_length():
    assert printable("web") == "web"
    assert printable("web\nERROR forged") == "web\\nERROR forged"
    assert printable("\x1b[31mred\u2028") == "\\x1b[31mred\\u2028"
    assert printable("x" * 500, 10) == "x" * 10 + "..."


def test_a_bad_name_left_in_an_old_file_is_removed_and_logged_escaped(tmp_path):
    """Before the name checks, a label with a newline was written to the files; the next run
    removes it, and the summary names it on one line."""
    bad = "x\nERROR octodns_rancher: forged.production"
    zones = tmp_path / "zones"
    zones.mkdir()
    old = {
        "web.shop.production": {"type": "A", "value": "203.0.113.1"},
        bad: {"type": "A", "value": "203.0.113.1"},
    }
    (zones / "example.com.yaml").write_text(yaml.safe_dump(old))
    tf = {"resource": {"aws_route53_record": {"x": {"name": f"{bad}.example.com", "type": "A"}}}}
    (zones / "example.com.tf.json").write_text(json.dumps(tf))
    proc = generate(tmp_path, [service("web")], "--zone", "example.com", "--format", "all")
    assert proc.returncode == 0, proc.stderr
    assert published(tmp_path) == (["web.shop.production"], ["web.shop.production.example.com"])
    lines = proc.stderr.splitlines()
    assert not [line for line in lines if line.startswith("ERROR")], proc.stderr
    assert "  - x\\nERROR octodns_rancher: forged.production" in proc.stderr
