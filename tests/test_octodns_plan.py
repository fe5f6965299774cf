"""scripts/octodns_plan.py: a provider that cannot be reached is one ERROR line, not a traceback."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

from tests.conftest import BIN, ROOT, run


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable(provider: str) -> dict[str, str]:
    port = str(closed_port())
    if provider == "route53":
        return {
            "AWS_ACCESS_KEY_ID": "plan-only",
            "AWS_SECRET_ACCESS_KEY": "plan-only",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_ENDPOINT_URL_ROUTE_53": f"http://127.0.0.1:{port}",
        }
    return {"PDNS_API_HOST": "127.0.0.1", "PDNS_API_PORT": port, "PDNS_API_KEY": "plan-only"}


@pytest.mark.parametrize(
    "provider, config",
    [("route53", "config/octodns.yaml"), ("powerdns", "config/octodns.powerdns.yaml")],
)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_an_unreachable_provider_is_one_error_line(provider, config, command):
    args = [str(BIN / "python"), str(ROOT / "scripts" / "octodns_plan.py"), command]
    args += ["--config-file", config]
    if command == "apply":
        args += ["--checksum", "0" * 64]
    proc = run(args, cwd=ROOT, env=unreachable(provider))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ERROR ") and "127.0.0.1" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_the_failure_comment_carries_that_line(tmp_path):
    """ci-plan.sh's comment for a failed plan shows the ERROR line, not a traceback's tail."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "zones", tmp_path / "zones")
    env = {
        **unreachable("route53"),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHON": str(BIN / "python"),
    }
    proc = run(["bash", str(ROOT / "scripts" / "ci-plan.sh")], cwd=tmp_path, env=env)
    assert proc.returncode == 1
    comment = (tmp_path / "plan.md").read_text()
    assert "**The plan failed** (the plan against the provider)" in comment
    line = next(ln for ln in comment.splitlines() if "ERROR" in ln)
    assert "the provider failed: EndpointConnectionError: Could not connect" in line
