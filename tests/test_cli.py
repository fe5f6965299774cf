"""cli: the octodns-rancher command, run for real against the metadata server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from octodns_rancher.cli import main
from tests.conftest import FIXTURES, generate_args, run

GOLDEN = (FIXTURES / "golden" / "example.com.yaml").read_text()


def generate(metadata, tmp_path, *extra, env=None):
    return run(
        ["octodns-rancher", *generate_args(metadata.url, tmp_path / "zones", *extra)],
        env=env,
    )


def test_generate_writes_the_zone_then_leaves_it_alone(metadata, tmp_path):
    proc = generate(metadata, tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "zones" / "example.com.yaml"
    assert path.read_text() == GOLDEN
    assert "6 record(s) for environment Production; 6 added, 0 changed, 0 removed" in proc.stderr
    assert "+ web.shop.production" in proc.stderr
    assert proc.stdout == ""
    os.utime(path, (1, 1))
    proc = generate(metadata, tmp_path)
    assert proc.returncode == 0 and "unchanged; not written" in proc.stderr
    assert path.stat().st_mtime == 1


def test_check_exit_codes_and_writes_nothing(metadata, tmp_path):
    proc = generate(metadata, tmp_path, "--check")
    assert proc.returncode == 1 and "out of date" in proc.stderr
    assert not (tmp_path / "zones").exists()
    assert generate(metadata, tmp_path).returncode == 0
    assert generate(metadata, tmp_path, "--check").returncode == 0


def test_environment_variables(metadata, tmp_path):
    zones = tmp_path / "zones"
    env = {
        "METADATA_URL": metadata.url,
        "ROOT_DOMAIN": "example.org",
        "TTL": "60",
        "NAME_TEMPLATE": "%{{service_name}}-%{{stack_name}}.%{{environment_name}}",
        "ZONES_DIR": str(zones),
        "RANCHER_ENVIRONMENT": "Staging",
    }
    proc = run(["octodns-rancher", "generate"], env=env)
    assert proc.returncode == 0, proc.stderr
    text = (zones / "example.org.yaml").read_text()
    assert "web-shop.staging:" in text and "ttl: 60" in text
    assert "/2016-07-29/self/stack" not in metadata.paths()  # environment given: 2 requests


def test_flags_win_over_environment_and_config(metadata, tmp_path, monkeypatch):
    cfg = tmp_path / "gen.yaml"
    cfg.write_text(
        f"zone: example.net\nttl: 120\nmetadata_url: {metadata.url}\n"
        f"zones_dir: {tmp_path / 'zones'}\n"
    )
    monkeypatch.setenv("TTL", "90")
    assert main(["generate", "--config", str(cfg), "--ttl", "30"]) == 0
    assert "ttl: 30" in (tmp_path / "zones" / "example.net.yaml").read_text()
    assert main(["generate", "--config", str(cfg)]) == 0
    assert "ttl: 90" in (tmp_path / "zones" / "example.net.yaml").read_text()
    monkeypatch.delenv("TTL")
    assert main(["generate", "--config", str(cfg)]) == 0
    assert "ttl: 120" in (tmp_path / "zones" / "example.net.yaml").read_text()


def test_bundled_config_and_snapshot(tmp_path):
    root = Path(__file__).resolve().parent.parent
    zones = tmp_path / "zones"
    proc = run(
        [
            "octodns-rancher",
            "generate",
            "--config",
            str(root / "config" / "generator.yaml"),
            "--zones-dir",
            str(zones),
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (zones / "example.com.yaml").read_text() == GOLDEN


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("stop", [], "rancher-metadata unreachable at http://127.0.0.1:"),
        ("lose", [], "answered 404 for http://127.0.0.1:"),
        ("garbage", [], "invalid JSON"),
        (None, ["--zone", ""], "no zone given"),
        (None, ["--ttl", "0"], "invalid TTL 0"),
        (None, ["--name-template", "%{{host}}.x"], "unknown placeholder(s) host"),
        (None, ["--zone", "bad zone"], "invalid zone 'bad zone'"),
        (None, ["--config", "/nonexistent.yaml"], "cannot read config /nonexistent.yaml"),
    ],
)
def test_failed_runs_exit_2_with_one_line_and_leave_the_file(
    metadata, tmp_path, setup, args, message
):
    assert generate(metadata, tmp_path).returncode == 0
    path = tmp_path / "zones" / "example.com.yaml"
    before = path.read_bytes()
    if setup == "stop":
        metadata.stop()
    elif setup == "lose":
        metadata.lose_data()
    elif setup == "garbage":
        metadata.garbage = b"{not json"
    proc = generate(metadata, tmp_path, "--timeout", "2", *args)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["example.com.yaml"]


def test_empty_metadata_does_not_wipe_the_zone(metadata, tmp_path):
    assert generate(metadata, tmp_path).returncode == 0
    path = tmp_path / "zones" / "example.com.yaml"
    before = path.read_bytes()
    tree = metadata.trees["2016-07-29"]
    metadata.reload({"2016-07-29": {**tree, "services": [], "hosts": []}})
    proc = generate(metadata, tmp_path)
    assert proc.returncode == 2 and "refusing to empty it" in proc.stderr
    assert path.read_bytes() == before
    assert generate(metadata, tmp_path, "--allow-empty").returncode == 0
    assert path.read_text() == "--- {}\n"


def test_snapshot_then_generate_offline(metadata, tmp_path):
    snap = tmp_path / "snap.json"
    proc = run(["octodns-rancher", "snapshot", "--metadata-url", metadata.url, "-o", str(snap)])
    assert proc.returncode == 0 and "in 3 requests" in proc.stderr
    metadata.stop()
    proc = run(
        [
            "octodns-rancher",
            "generate",
            "--metadata-file",
            str(snap),
            "--zone",
            "example.com",
            "--zones-dir",
            str(tmp_path / "zones"),
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "zones" / "example.com.yaml").read_text() == GOLDEN


def test_init_renders_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "octodns.yaml"
    args = ["init", "--zone", "example.com", "--environment", "Production", "-o", str(out)]
    assert main(args) == 0
    assert "'/\\.production\\Z/'" in out.read_text()
    assert main(args) == 2
    assert main([*args, "--force"]) == 0


@pytest.mark.parametrize("command", [[], ["generate"], ["snapshot"], ["init"]])
def test_help_everywhere(command):
    proc = run(["octodns-rancher", *command, "--help"])
    assert proc.returncode == 0 and proc.stdout.startswith("usage: octodns-rancher")
