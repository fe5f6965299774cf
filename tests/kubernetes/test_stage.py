"""generate and snapshot with --source kubernetes, through the CLI, against the API server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octodns_rancher.cli import main
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "golden" / "example.com.kubernetes.yaml"
CLUSTER1 = FIXTURES / "kubernetes" / "cluster1.json"


def kgen(zones: Path, *extra: str) -> int:
    return main(
        [
            "generate",
            "--zone",
            "example.com",
            "--source",
            "kubernetes",
            "--zones-dir",
            str(zones),
            *extra,
        ]
    )


def test_generate_from_the_cluster(kube, kubeconfig, tmp_path):
    zones = tmp_path / "zones"
    assert kgen(zones, "--cluster", "c1", "--kubeconfig", str(kubeconfig)) == 0
    text = (zones / "example.com.yaml").read_text()
    assert "elb.c1:" in text and "value: a1.elb.example.net." in text
    assert "web.c1:" in text and "www.c1:" in text
    assert "kind: Ingress" in text and "namespace: shop" in text


def test_environment_variables(kube, kubeconfig, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE", "kubernetes")
    monkeypatch.setenv("KUBERNETES_CLUSTER", "c1")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("KUBERNETES_INGRESS_CLASS", "other")
    zones = tmp_path / "zones"
    assert main(["generate", "--zone", "example.com", "--zones-dir", str(zones)]) == 0
    text = (zones / "example.com.yaml").read_text()
    assert "web.c1:" in text and "www.c1:" not in text


def test_snapshot_then_offline_generate_is_the_golden_file(tmp_path):
    zones = tmp_path / "zones"
    args = ("--cluster", "cluster1", "--kubernetes-file", str(CLUSTER1), "--unannotated-services")
    assert kgen(zones, *args) == 0
    assert (zones / "example.com.yaml").read_text() == GOLDEN.read_text()
    assert kgen(zones, *args, "--check") == 0


def test_snapshot_saves_the_lists(kube, kubeconfig, tmp_path):
    out = tmp_path / "snap.json"
    assert (
        main(
            ["snapshot", "--source", "kubernetes", "--kubeconfig", str(kubeconfig), "-o", str(out)]
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert data["services"]["kind"] == "ServiceList"
    assert data["services"]["metadata"]["resourceVersion"] == str(kube.rv)
    assert len(data["ingresses"]["items"]) == 1
    zones = tmp_path / "zones"
    assert kgen(zones, "--cluster", "c1", "--kubernetes-file", str(out)) == 0
    live = tmp_path / "live"
    assert kgen(live, "--cluster", "c1", "--kubeconfig", str(kubeconfig)) == 0
    assert (zones / "example.com.yaml").read_text() == (live / "example.com.yaml").read_text()


def test_snapshot_keeps_the_runs_limits(kube, kubeconfig, tmp_path, caplog):
    """``snapshot`` reads the cluster within ``--max-answer-size`` as ``generate`` does."""
    out = tmp_path / "snap.json"
    args = ["snapshot", "--source", "kubernetes", "--kubeconfig", str(kubeconfig), "-o", str(out)]
    assert main([*args, "--max-answer-size", "1KiB"]) == 2
    assert "more than the limit of 1,024 bytes (--max-answer-size)" in caplog.text
    assert not out.exists()


def test_an_empty_cluster_does_not_empty_the_zone(kube, kubeconfig, tmp_path, caplog):
    zones = tmp_path / "zones"
    base = ("--cluster", "c1", "--kubeconfig", str(kubeconfig))
    assert kgen(zones, *base) == 0
    before = (zones / "example.com.yaml").read_bytes()
    for what, ns, name in (
        ("services", "shop", "web"),
        ("services", "shop", "elb"),
        ("ingresses", "shop", "site"),
    ):
        kube.delete(what, ns, name)
    assert kgen(zones, *base) == 2
    assert "the cluster gave no Services or Ingresses but" in caplog.text
    assert (zones / "example.com.yaml").read_bytes() == before
    assert kgen(zones, *base, "--allow-empty") == 0


def test_a_cluster_of_unreadable_objects_does_not_empty_the_zone(
    kube, kubeconfig, tmp_path, caplog
):
    zones = tmp_path / "zones"
    base = ("--cluster", "c1", "--kubeconfig", str(kubeconfig))
    assert kgen(zones, *base) == 0
    before = (zones / "example.com.yaml").read_bytes()
    for what, name in (("services", "web"), ("services", "elb"), ("ingresses", "site")):
        kube.update(what, "shop", name, lambda o: o.update(spec="not an object"))
    assert kgen(zones, *base) == 2
    assert "the cluster listed 3 Services and Ingresses, none of them readable but" in caplog.text
    assert (zones / "example.com.yaml").read_bytes() == before


def test_the_removal_guard_names_the_api_server(kube, kubeconfig, tmp_path, caplog):
    zones = tmp_path / "zones"
    base = ("--cluster", "c1", "--kubeconfig", str(kubeconfig), "--max-deletes", "1")
    assert kgen(zones, *base) == 0
    before = (zones / "example.com.yaml").read_bytes()
    kube.delete("services", "shop", "web")
    kube.delete("ingresses", "shop", "site")
    assert kgen(zones, *base) == 2
    assert "refusing to write (check the Kubernetes API server; pass --force" in caplog.text
    assert "rancher-metadata" not in caplog.text
    assert (zones / "example.com.yaml").read_bytes() == before


def test_unreachable_cluster_writes_nothing(tmp_path, caplog):
    kc = tmp_path / "kc"
    kc.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "x",
                "clusters": [{"name": "x", "cluster": {"server": "http://127.0.0.1:9"}}],
                "users": [{"name": "x", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
            }
        )
    )
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "example.com.yaml").write_text("---\nold.c1:\n  type: A\n  value: 203.0.113.1\n")
    before = (zones / "example.com.yaml").read_bytes()
    assert kgen(zones, "--cluster", "c1", "--kubeconfig", str(kc), "--timeout", "1") == 2
    assert "http://127.0.0.1:9/api/v1/services" in caplog.text
    assert (zones / "example.com.yaml").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "no cluster name given"),
        (
            ("--cluster", "c1", "--kubernetes-file", "/nonexistent"),
            "cannot read Kubernetes snapshot",
        ),
        (("--cluster", "c1", "--label-selector", "a in b"), "invalid label selector"),
        (("--cluster", "c1.x"), "invalid cluster name"),
    ],
)
def test_bad_settings_exit_2(args, message, tmp_path, caplog):
    assert kgen(tmp_path, *args) == 2
    assert message in caplog.text


def test_a_busy_lock_stops_a_cluster_run_before_it_writes(kube, kubeconfig, tmp_path, caplog):
    """The zones directory's lock holds for every source: a cluster run beside another run of
    the same directory writes nothing."""
    from octodns_rancher.lock import run_lock

    zones = tmp_path / "zones"
    zones.mkdir()
    with run_lock(zones):
        assert kgen(zones, "--cluster", "c1", "--kubeconfig", str(kubeconfig)) == 2
    assert "is held by another run" in caplog.text and "nothing was written" in caplog.text
    assert list(zones.iterdir()) == []
    assert kgen(zones, "--cluster", "c1", "--kubeconfig", str(kubeconfig)) == 0
    assert (zones / "example.com.yaml").exists()
