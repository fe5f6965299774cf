"""Secrets never reach zones/, config/, logs or commit messages.

Unique canary values stand in for every secret the tools can see (AWS keys, Rancher API keys,
the PowerDNS API key). The whole workflow then runs for real with the most verbose logging:
``init``, ``snapshot``, ``generate --commit --push`` into a git repository, ``octodns-sync
--doit --debug`` into Route53 on moto, ``writeback`` to a Rancher API server, and failing runs.
Afterwards no file of the checkout, no commit (message or content) of the remote, and no line any
of them printed holds a canary, plain or base64-encoded. Positive controls show the canaries were
really in use: the Rancher API server received the key, and the sync reached moto.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run
from tests.support import scenario as sc
from tests.support.cattle_server import CattleServer
from tests.support.metadata_server import MetadataServer
from tests.support.moto_server import MotoServer

CANARIES = {
    name: f"canary-{name.lower().replace('_', '-')}-{uuid.uuid4().hex}"
    for name in (
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "CATTLE_ACCESS_KEY",
        "CATTLE_SECRET_KEY",
        "PDNS_API_KEY",
    )
}


def forms(secret: str) -> list[str]:
    """The canary as it could leak: plain, and base64 inside a Basic auth header."""
    basic = f"{CANARIES['CATTLE_ACCESS_KEY']}:{secret}".encode()
    return [secret, base64.b64encode(basic).decode(), base64.b64encode(secret.encode()).decode()]


PY = sys.executable
LEAKS = [form for secret in CANARIES.values() for form in forms(secret)]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Iterator[dict]:
    """Run everything once with the canaries in the environment; collect what came out."""
    tmp = tmp_path_factory.mktemp("secrets")
    home = tmp / "home"
    home.mkdir()
    origin, work = tmp / "origin.git", tmp / "work"
    git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(tmp, "clone", "--quiet", str(origin), str(work))
    (work / "README.md").write_text("# dns\n")
    git(work, "add", "README.md")
    git(work, "commit", "--quiet", "-m", "initial")
    git(work, "push", "--quiet", "origin", "HEAD:main")

    outputs: list[str] = []
    debug_outputs: list[str] = []
    with (
        MotoServer() as moto,
        MetadataServer(sc.shop(["web", "api"])) as metadata,
        CattleServer() as cattle,
    ):
        env = {
            **moto.env,
            **CANARIES,
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "XDG_CONFIG_HOME": str(home),
            "PDNS_API_HOST": "127.0.0.1",
        }

        def step(
            *cmd: str, ok: bool = True, into: list[str] = outputs
        ) -> subprocess.CompletedProcess[str]:
            proc = run(list(cmd), cwd=work, env=env)
            into.extend([proc.stdout, proc.stderr])
            if ok:
                assert proc.returncode == 0, (cmd, proc.stderr)
            return proc

        gen = [
            "octodns-rancher",
            "-v",
            "generate",
            "--metadata-url",
            metadata.url,
            "--zone",
            "example.com",
        ]
        for provider in ("route53", "powerdns"):
            step(
                "octodns-rancher",
                "-v",
                "init",
                "--zone",
                "example.com",
                "--environment",
                "Production",
                "--provider",
                provider,
                "-o",
                f"config/octodns-{provider}.yaml",
            )
        step(
            "octodns-rancher",
            "-v",
            "snapshot",
            "--metadata-url",
            metadata.url,
            "-o",
            "config/snapshot.json",
        )
        step(*gen, "--commit", "--push")
        step(
            "octodns-rancher",
            "-v",
            "--log-format",
            "json",
            "generate",
            "--metadata-url",
            metadata.url,
            "--zone",
            "example.com",
            "--check",
        )
        moto.create_zone("example.com")
        # As the CI scripts run it (scripts/ci-plan.sh, ci-apply.sh): the plan, then the apply.
        step(
            PY,
            str(ROOT / "scripts" / "octodns_plan.py"),
            "plan",
            "--config-file",
            "config/octodns-route53.yaml",
            "--output",
            str(tmp / "plan.md"),
        )
        step("octodns-sync", "--config-file", "config/octodns-route53.yaml", "--doit")
        # With --debug, kept apart: botocore's DEBUG log prints the session token (see below).
        step(
            "octodns-sync",
            "--config-file",
            "config/octodns-route53.yaml",
            "--debug",
            into=debug_outputs,
        )
        step(
            "octodns-rancher",
            "-v",
            "writeback",
            "--cattle-url",
            cattle.url,
            "--zone",
            "example.com",
        )
        # Failing runs: errors are where secrets most often slip into messages.
        metadata.reload(sc.shop(["web"]))
        metadata.fail_status = 500
        step(*gen, "--commit", ok=False)
        metadata.fail_status = None
        cattle.fail_count, cattle.fail_status = 100, 401
        step(
            "octodns-rancher",
            "-v",
            "writeback",
            "--cattle-url",
            cattle.url,
            "--zone",
            "example.com",
            "--retries",
            "0",
        )
        step("octodns-sync", "--config-file", "config/octodns-powerdns.yaml", ok=False)
        step(
            "octodns-sync",
            "--config-file",
            "config/octodns-powerdns.yaml",
            "--debug",
            ok=False,
            into=debug_outputs,
        )
        routes = moto.operations()
        authorizations = [r.authorization for r in cattle.requests]
    yield {
        "work": work,
        "origin": origin,
        "outputs": outputs,
        "debug_outputs": debug_outputs,
        "routes": routes,
        "authorizations": authorizations,
    }


def _leaks(text: str) -> list[str]:
    return [form for form in LEAKS if form in text]


def test_the_canaries_were_in_use(workflow):
    expected = base64.b64encode(
        f"{CANARIES['CATTLE_ACCESS_KEY']}:{CANARIES['CATTLE_SECRET_KEY']}".encode()
    ).decode()
    assert f"Basic {expected}" in workflow["authorizations"]
    assert "route53:ChangeResourceRecordSets" in workflow["routes"]
    assert (workflow["work"] / "zones" / "example.com.yaml").exists()


def test_no_file_of_the_checkout_holds_a_secret(workflow):
    files = [p for p in workflow["work"].rglob("*") if p.is_file() and ".git" not in p.parts]
    assert any(p.parts[-2] == "zones" for p in files) and any(
        p.parts[-2] == "config" for p in files
    )
    for path in files:
        assert not _leaks(path.read_text(encoding="utf-8", errors="replace")), path
    route53 = (workflow["work"] / "config" / "octodns-route53.yaml").read_text()
    assert "env/AWS_SECRET_ACCESS_KEY" in route53  # referenced by name, never by value
    assert "env/PDNS_API_KEY" in (workflow["work"] / "config" / "octodns-powerdns.yaml").read_text()


def test_no_commit_holds_a_secret(workflow):
    history = git(workflow["origin"], "log", "--all", "-p", "--format=%H%n%an %ae%n%B")
    assert "zones/example.com.yaml" in history  # the generated commit was pushed
    assert not _leaks(history)


def test_no_log_line_holds_a_secret(workflow):
    text = "\n".join(workflow["outputs"])
    assert "DEBUG" in text  # the most verbose logging was on
    assert not _leaks(text)


def test_octodns_sync_debug_prints_only_the_aws_session_token(workflow):
    """botocore logs every request's headers at DEBUG, X-Amz-Security-Token included: with
    temporary credentials (the OIDC role of the CI workflows), ``octodns-sync --debug`` would put
    the session token in the job log. Nothing else leaks even then, and nothing we ship runs
    octodns-sync with --debug (docs/safety.md says why)."""
    leaked = _leaks("\n".join(workflow["debug_outputs"]))
    assert leaked == [CANARIES["AWS_SESSION_TOKEN"]]
    shipped = [*(ROOT / "scripts").glob("*"), *(ROOT / ".github" / "workflows").glob("*.yml")]
    assert shipped
    for path in shipped:
        for line in path.read_text().splitlines():
            assert not ("octodns-sync" in line and "--debug" in line), (path, line)
