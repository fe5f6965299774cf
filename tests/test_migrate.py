"""migrate: the preview of the move from Rancher's external DNS, against a real octoDNS config.

The target here is octoDNS's YAML provider (``init --provider yaml``), so every case runs the
real manager, filter and ownership processors in a second; the same preview against PowerDNS
and Route53 is in ``tests/e2e/test_migration.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from octodns_rancher import migrate
from octodns_rancher.config import render_octodns_config
from tests.conftest import run

UUID = "1a2b3c4d-0000-4000-8000-00000000beef"
STATE = f"external-dns-{UUID}"


def a(*values: str, ttl: int = 300) -> dict:
    return {"type": "A", "ttl": ttl, "values": list(values)}


def site(tmp_path: Path, desired: dict, existing: dict, **render) -> tuple[Path, dict]:
    (tmp_path / "zones").mkdir()
    (tmp_path / "target").mkdir()
    (tmp_path / "zones" / "example.com.yaml").write_text(yaml.safe_dump(desired))
    (tmp_path / "target" / "example.com.yaml").write_text(yaml.safe_dump(existing))
    config = tmp_path / "octodns.yaml"
    render.setdefault("environment_uuid", UUID)
    config.write_text(
        render_octodns_config("example.com", "production", "yaml", "./zones", **render)
    )
    return config, {"OCTODNS_TARGET_DIR": str(tmp_path / "target")}


RANCHER = {
    STATE: {
        "type": "TXT",
        "ttl": 300,
        "values": [
            "api.shop.production.example.com.",
            "old.shop.production.example.com.",
            "shop-lb.example.com.",
            "web.shop.production.example.com.",
        ],
    },
    "external-dns-5e6f7a8b-staging": {
        "type": "TXT",
        "ttl": 300,
        "value": "web.shop.staging.example.com.",
    },
    "web.shop.production": a("192.0.2.1"),
    "api.shop.production": a("192.0.2.2"),
    "old.shop.production": a("192.0.2.3"),
    "manual.shop.production": a("192.0.2.9", ttl=120),
    "shop-lb": a("192.0.2.4"),
    "web.shop.staging": a("192.0.2.5"),
}
SERVICES = {
    "api.shop.production": a("192.0.2.20"),
    "cart.shop.production": a("192.0.2.30"),
    "web.shop.production": a("192.0.2.1"),
}


def preview(tmp_path: Path, config: Path, env: dict, *extra: str):
    return run(
        ["octodns-rancher", "migrate", "--config-file", str(config), *extra],
        cwd=tmp_path,
        env=env,
    )


def rows(markdown: str) -> dict[str, tuple[str, str]]:
    """``{name: (action, why)}`` from the preview's table."""
    out = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and "`" in line:
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            out[cells[1].strip("`")] = (cells[0], cells[5])
    return out


@pytest.mark.parametrize("model", ["record", "subtree"])
def test_the_preview_names_what_the_sync_adopts_and_leaves_alone(tmp_path, model):
    config, env = site(tmp_path, SERVICES, RANCHER, ownership=model)
    before = (tmp_path / "target" / "example.com.yaml").read_bytes()
    proc = preview(tmp_path, config, env)
    assert proc.returncode == 0, proc.stderr
    table = rows(proc.stdout)
    assert {n: act for n, (act, _) in table.items()} == {
        "web.shop.production": "adopt",
        "api.shop.production": "adopt and update",
        "cart.shop.production": "create",
        "old.shop.production": "delete",
        "manual.shop.production": "leave alone",
        STATE: "leave alone",
        "external-dns-5e6f7a8b-staging": "leave alone",
    }
    assert table["manual.shop.production"][1].startswith("not listed in Rancher's state record")
    assert table["external-dns-5e6f7a8b-staging"][1].startswith("another environment's")
    assert "`shop-lb`" in proc.stdout
    assert "## Moving production.example.com from Rancher's external DNS" in proc.stdout
    assert "INFO" not in proc.stderr  # octoDNS's own planning log stays out of the way
    assert (tmp_path / "target" / "example.com.yaml").read_bytes() == before


def in_process(config: Path, env: dict, monkeypatch) -> str:
    """The same preview without a process start (the CLI is covered above)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(config.parent)  # the config's zones directory is relative, as octoDNS's
    return migrate.preview(config).markdown()


def test_a_takeover_is_shown_as_refused_with_the_processors_own_words(tmp_path, monkeypatch):
    desired = {**SERVICES, "manual.shop.production": a("192.0.2.99")}
    config, env = site(tmp_path, desired, RANCHER)
    text = in_process(config, env, monkeypatch)
    assert "**The sync will refuse:** ownership: refusing to take over 1 record(s)" in text
    assert rows(text)["manual.shop.production"][0] == "refused"
    assert rows(text)["web.shop.production"][0] == "adopt"


def test_state_record_removal_shows_once_the_markers_are_in_place(tmp_path, monkeypatch):
    owner = {"type": "TXT", "ttl": 300, "value": "octodns-rancher:production"}
    existing = {
        STATE: RANCHER[STATE],
        **{name: a(*rec["values"]) for name, rec in SERVICES.items()},
        **{f"_owner.a.{name}": owner for name in SERVICES},
    }
    config, env = site(tmp_path, SERVICES, existing)
    assert rows(in_process(config, env, monkeypatch))[STATE][0] == "leave alone"
    text = in_process(config, {**env, "OCTODNS_REMOVE_RANCHER_STATE": "1"}, monkeypatch)
    assert rows(text) == {
        STATE: (
            "delete",
            "Rancher's state record of this environment: every name it lists is ours now",
        ),
        **{name: ("unchanged", "ours") for name in SERVICES},
    }


def test_without_a_state_record_the_preview_says_so(tmp_path):
    existing = {k: v for k, v in RANCHER.items() if k != STATE}
    config, env = site(tmp_path, SERVICES, existing)
    proc = preview(tmp_path, config, env, "-o", "preview.md")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "preview.md").read_text()
    assert "**not found**" in text and "**The sync will refuse:**" in text


@pytest.mark.parametrize(
    ("args", "render", "message"),
    [
        (["--config-file", "missing.yaml"], None, "octoDNS config missing.yaml not found"),
        ([], {"environment_uuid": None}, "has no rancher_state"),
        (["--zone", "example.org"], {}, "zone 'example.org' is not in the config"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, args, render, message):
    config, env = site(tmp_path, SERVICES, RANCHER, **(render or {}))
    cmd = [
        "octodns-rancher",
        "migrate",
        *(args if render is None else ["--config-file", str(config), *args]),
    ]
    proc = run(cmd, cwd=tmp_path, env=env)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unreadable_target_is_one_error_line(tmp_path):
    config, env = site(tmp_path, SERVICES, RANCHER)
    (tmp_path / "target" / "example.com.yaml").write_text("web: [unclosed\n")
    proc = preview(tmp_path, config, env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot read example.com. from yaml" in proc.stderr, proc.stderr


def test_a_missing_secret_is_one_error_line_without_octodns_traceback(tmp_path):
    """octoDNS logs its own traceback for an env/ secret that is not set, then raises; the
    command's one line (naming the variable and the config) is the whole report."""
    config, _ = site(tmp_path, SERVICES, RANCHER)
    text = config.read_text().replace("env/OCTODNS_TARGET_DIR/./target", "env/TEST_TARGET_UNSET")
    config.write_text(text)
    proc = run(["octodns-rancher", "migrate", "--config-file", str(config)], cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "missing env var TEST_TARGET_UNSET" in errors[0], proc.stderr
    assert str(config) in errors[0]
