"""gitrepo: `generate --commit/--push` with real git, a bare repository on disk as the remote."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from octodns_rancher.gitrepo import cause, commit_message
from octodns_rancher.publish import Summary
from tests.conftest import run
from tests.support.gitrepos import clone, commits, git
from tests.support.metadata_server import MetadataServer
from tests.support.scenario import shop


@pytest.fixture
def server() -> Iterator[MetadataServer]:
    with MetadataServer(shop(["web", "api"])) as srv:
        yield srv


def generate(
    server: MetadataServer, cwd: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    return run(
        [
            "octodns-rancher",
            "generate",
            "--metadata-url",
            server.url,
            "--zone",
            "example.com",
            *extra,
        ],
        cwd=cwd,
        env=env,
    )


def test_a_generated_change_is_exactly_one_commit_of_zone_files(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    # Someone's unrelated work in the checkout: staged, modified and untracked files.
    (work / "notes.txt").write_text("staged, not ours\n")
    git(work, "add", "notes.txt")
    (work / "README.md").write_text("# dns\nlocal edit\n")
    (work / "scratch.txt").write_text("untracked\n")
    before = commits(work)

    proc = generate(server, work, git_env, "--commit")
    assert proc.returncode == 0, proc.stderr

    after = commits(work)
    assert len(after) == len(before) + 1
    assert git(work, "show", "--name-only", "--format=", "HEAD").splitlines() == [
        "zones/example.com.yaml"
    ]
    subject = git(work, "log", "-1", "--format=%s")
    assert subject == "example.com: add api.shop.production, web.shop.production"
    assert git(work, "log", "-1", "--format=%an <%ae>") == (
        "octodns-rancher <octodns-rancher@users.noreply.github.com>"
    )
    # The neighbour's changes are exactly as they were: still staged / modified / untracked.
    status = [s for s in git(work, "status", "--porcelain").splitlines() if ".lock" not in s]
    assert sorted(status) == sorted(["A  notes.txt", " M README.md", "?? scratch.txt"])
    # Without --push nothing left the checkout.
    assert commits(origin, "main") == before


def test_an_unchanged_run_makes_no_commit(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    assert generate(server, work, git_env, "--commit").returncode == 0
    head = git(work, "rev-parse", "HEAD")
    proc = generate(server, work, git_env, "--commit", "--push")
    assert proc.returncode == 0, proc.stderr
    assert "no commit" in proc.stderr
    assert git(work, "rev-parse", "HEAD") == head
    # The earlier local commit was pushed; no extra commit appeared anywhere.
    assert git(origin, "rev-parse", "main") == head


def test_changes_are_summarised_and_pushed(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    assert generate(server, work, git_env, "--push").returncode == 0
    server.reload(shop(["web", "cart", "search", "auth", "blog"], ip="203.0.113.9"))
    proc = generate(server, work, git_env, "--push", "--remote", "origin", "--branch", "main")
    assert proc.returncode == 0, proc.stderr
    subject = git(origin, "log", "-1", "--format=%s", "main")
    assert subject == (
        "example.com: add auth.shop.production, blog.shop.production, cart.shop.production "
        "and 1 more; update web.shop.production; remove api.shop.production"
    )
    body = git(origin, "log", "-1", "--format=%b", "main")
    assert "4 added, 1 changed, 1 removed." in body
    assert "+ search.shop.production" in body and "- api.shop.production" in body


def test_check_cannot_be_combined_with_commit(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    proc = generate(server, work, git_env, "--check", "--commit")
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr
    assert commits(work) == commits(origin, "main")


def test_environment_variables_turn_on_commit_and_push(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    git(work, "remote", "rename", "origin", "upstream")
    env = {**git_env, "ZONES_PUSH": "true", "ZONES_GIT_REMOTE": "upstream"}
    env["ZONES_GIT_BRANCH"] = "dns-updates"
    assert generate(server, work, env).returncode == 0
    assert (
        git(origin, "show", "--name-only", "--format=", "dns-updates") == "zones/example.com.yaml"
    )


def test_zone_files_outside_the_repository_are_refused(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    proc = generate(server, work, git_env, "--commit", "--zones-dir", str(tmp_path / "elsewhere"))
    assert proc.returncode == 2
    assert "elsewhere is not in a git repository (needed for --commit)" in proc.stderr
    assert not (tmp_path / "elsewhere").exists()  # refused before anything was written


def test_commit_message_lists_the_first_names_then_a_count():
    s = Summary(added=[f"s{i}.x.prod" for i in range(7)], changed=[], removed=["gone.x.prod"])
    msg = commit_message("example.com", s, limit=2)
    subject, _, body = msg.partition("\n\n")
    assert subject == "example.com: add s0.x.prod, s1.x.prod and 5 more; remove gone.x.prod"
    assert body.startswith("7 added, 0 changed, 1 removed.")
    assert all(f"+ s{i}.x.prod" in body for i in range(7))
    assert msg.endswith("\n\nGenerated-by: octodns-rancher\n")  # the trailer: see is_own
    empty = commit_message("example.com", Summary())
    assert empty.startswith("example.com: update record annotations\n")


def test_cause_keeps_gits_reasons_without_escapes_credentials_advice_or_excess():
    stderr = (
        "remote: \x1b[31mfrozen\x1b[0m until Monday\x07        \n"
        "remote: \n"
        "fatal: https://deploy:token@git.example.com/dns.git\n"
        "error: failed to push some refs to 'https://git.example.com/dns.git'\n"
        "hint: Updates were rejected\n" + "".join(f"remote: line {i}\n" for i in range(10))
    )
    assert cause(stderr) == (
        "remote: frozen until Monday; fatal: https://***@git.example.com/dns.git; "
        "remote: line 0; remote: line 1; remote: line 2; (7 more line(s))"
    )
    assert cause("fatal: " + "x" * 500).endswith("...") and len(cause("fatal: " + "x" * 500)) == 200
    assert cause("") == "no output"
