"""Shared fixtures: a real rancher-metadata server on 127.0.0.1 and helpers to run commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.metadata_server import MetadataServer, load_fixture

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BIN = Path(sys.executable).parent
# The zone the captured fixture_shop environment renders to, and its names (checked in
# tests/test_records.py and tests/test_render.py).
GOLDEN = FIXTURES / "golden" / "example.com.yaml"
GOLDEN_NAMES = [
    "api.shop.production",
    "frontend.shop.production",
    "grafana.monitoring.production",
    "prometheus.monitoring.production",
    "web.shop.production",
    "worker.shop.production",
]


@pytest.fixture
def metadata() -> Iterator[MetadataServer]:
    """rancher-metadata serving the captured fixture_shop environment (both API versions)."""
    trees = {v: load_fixture("fixture_shop", v) for v in ("2015-12-19", "2016-07-29")}
    with MetadataServer(trees) as srv:
        yield srv


def run(
    cmd: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run a command of the virtualenv (octodns-rancher, octodns-sync, ...) for real."""
    full_env = {k: v for k, v in os.environ.items() if k not in _CLEAR_ENV}
    full_env.update(env or {})
    exe = str(BIN / cmd[0]) if (BIN / cmd[0]).exists() else cmd[0]
    proc = subprocess.run(
        [exe, *cmd[1:]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


# Settings of the generator that a developer's shell might carry into the tests.
_CLEAR_ENV = (
    "ROOT_DOMAIN",
    "TTL",
    "NAME_TEMPLATE",
    "METADATA_URL",
    "METADATA_FILE",
    "METADATA_API_VERSION",
    "RANCHER_ENVIRONMENT",
    "ZONES_DIR",
    "DELETE_PCENT_THRESHOLD",
    "MAX_DELETES",
    "LOCK_WAIT",
    "FORCE_REMOVALS",
    "HOSTED_ZONE_ID",
    "OUTPUT_FORMAT",
    "METADATA_TIMEOUT",
    "METADATA_DEADLINE",
    "METADATA_MAX_SIZE",
    "WRITEBACK_ANONYMOUS",
    "WRITEBACK_DEADLINE",
    "SOURCE",
    "KUBECONFIG",
    "KUBE_CONTEXT",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "KUBERNETES_CLUSTER",
    "KUBERNETES_FILE",
    "KUBERNETES_SUBTREES",
    "KUBERNETES_NAMESPACES",
    "KUBERNETES_LABEL_SELECTOR",
    "KUBERNETES_ANNOTATION_FILTER",
    "KUBERNETES_INGRESS_CLASS",
    "KUBERNETES_UNANNOTATED_SERVICES",
    "KUBERNETES_SERVICE_TEMPLATE",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in _CLEAR_ENV:
        monkeypatch.delenv(key, raising=False)


def generate_args(metadata_url: str, zones: Path, *extra: str) -> list[str]:
    """`generate` for zone example.com from a metadata server into ``zones``, plus ``extra``."""
    return [
        "generate",
        "--metadata-url",
        metadata_url,
        "--zone",
        "example.com",
        "--zones-dir",
        str(zones),
        *extra,
    ]


def write_snapshot(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """No global git identity, so the fallback identity of a fresh CI checkout is exercised."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": str(home)}


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository with one commit on main: a README and a config file."""
    from tests.support.gitrepos import make_origin

    return make_origin(tmp_path / "origin.git")
