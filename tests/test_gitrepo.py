"""gitrepo: `generate --commit/--push` with real git, a bare repository on disk as the remote."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from octodns_rancher.errors import PublishError
from octodns_rancher.gitrepo import GitRepo, commit_and_push, commit_message
from octodns_rancher.publish import Summary
from tests.conftest import run
from tests.support.metadata_server import MetadataServer
from tests.support.scenario import container, host, service, tree


def shop(names: list[str], ip: str = "203.0.113.5") -> dict:
    """A Production environment whose services each publish port 80 on one host."""
    hosts = [host("h1", ip)]
    services = [
        service("shop", n, [container("shop", n, 1, "h1", ports=["80:80/tcp"])]) for n in names
    ]
    return {"2016-07-29": tree(services, hosts, environment="Production")}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.rstrip()


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """No global git identity, so the fallback identity of a fresh CI checkout is exercised."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": str(home)}


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository with one commit on main: a README and a config file."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "--quiet", str(bare), str(seed))
    (seed / "README.md").write_text("# dns\n")
    (seed / "config").mkdir()
    (seed / "config" / "octodns.yaml").write_text("zones: {}\n")
    git(seed, "add", "README.md", "config/octodns.yaml")
    git(seed, "commit", "--quiet", "-m", "initial")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    return bare


def clone(origin: Path, where: Path) -> Path:
    git(origin.parent, "clone", "--quiet", "--branch", "main", str(origin), str(where))
    return where


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


def commits(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "rev-list", rev).splitlines()


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


def test_a_push_race_keeps_both_sides(server, origin, tmp_path, git_env):
    ours = clone(origin, tmp_path / "ours")
    theirs = clone(origin, tmp_path / "theirs")
    # The other writer wins the race: a config change and an older generation of our zone.
    (theirs / "config" / "octodns.yaml").write_text("zones: {example.com.: {}}\n")
    (theirs / "zones").mkdir()
    (theirs / "zones" / "example.com.yaml").write_text(
        "---\nold.shop.production:\n  ttl: 300\n  type: A\n  value: 192.0.2.1\n"
    )
    git(theirs, "add", "config/octodns.yaml", "zones/example.com.yaml")
    git(theirs, "commit", "--quiet", "-m", "their change")
    git(theirs, "push", "--quiet", "origin", "HEAD:main")
    their_sha = git(theirs, "rev-parse", "HEAD")

    proc = generate(server, ours, git_env, "--push")
    assert proc.returncode == 0, proc.stderr
    assert "rejected" in proc.stderr and "after 2 attempt(s)" in proc.stderr

    history = commits(origin, "main")
    assert their_sha in history
    assert len(history) == 3  # initial, theirs, ours: nothing lost, nothing merged
    assert git(origin, "rev-parse", "main^") == their_sha
    # Ours was regenerated on top of theirs: the summary is relative to their zone file.
    subject = git(origin, "log", "-1", "--format=%s", "main")
    assert subject == (
        "example.com: add api.shop.production, web.shop.production; remove old.shop.production"
    )
    assert git(origin, "show", "main:config/octodns.yaml") == "zones: {example.com.: {}}"
    assert git(origin, "show", "main:zones/example.com.yaml") == (
        (ours / "zones" / "example.com.yaml").read_text().strip()
    )
    assert [s for s in git(ours, "status", "--porcelain").splitlines() if ".lock" not in s] == []


def test_a_race_never_drops_the_users_unpushed_commits(server, origin, tmp_path, git_env):
    ours = clone(origin, tmp_path / "ours")
    theirs = clone(origin, tmp_path / "theirs")
    (ours / "README.md").write_text("# dns\nmine, not pushed\n")
    git(ours, "commit", "--quiet", "-am", "local work")
    mine = git(ours, "rev-parse", "HEAD")
    (theirs / "README.md").write_text("# dns\ntheirs\n")
    git(theirs, "commit", "--quiet", "-am", "their change")
    git(theirs, "push", "--quiet", "origin", "HEAD:main")

    proc = generate(server, ours, git_env, "--push")
    assert proc.returncode == 2
    assert "local commits that are not on origin/main" in proc.stderr
    assert mine in commits(ours)  # still there, under our new zone commit


def test_push_failures_other_than_races_are_one_line_errors(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    proc = generate(server, work, git_env, "--push", "--remote", "nowhere")
    assert proc.returncode == 2
    assert "ERROR octodns_rancher: git push nowhere main failed:" in proc.stderr
    assert "Traceback" not in proc.stderr


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
    empty = commit_message("example.com", Summary())
    assert empty.startswith("example.com: update record annotations\n")


def test_a_writer_that_always_wins_exhausts_the_bounded_retry(origin, tmp_path):
    ours = clone(origin, tmp_path / "ours")
    theirs = clone(origin, tmp_path / "theirs")

    def they_push(n: int) -> None:
        git(theirs, "pull", "--quiet", "--ff-only", "origin", "main")
        (theirs / "README.md").write_text(f"# dns\nedit {n}\n")
        git(theirs, "commit", "--quiet", "-am", f"their edit {n}")
        git(theirs, "push", "--quiet", "origin", "HEAD:main")

    zone = ours / "zones" / "example.com.yaml"
    text = "---\nweb.shop.production:\n  type: A\n  value: 192.0.2.1\n"
    zone.parent.mkdir()
    zone.write_text(text)
    they_push(0)
    calls = []

    def regenerate() -> Summary:
        calls.append(zone.exists())  # the branch now sits on their tip, without our file
        they_push(len(calls))  # ... and they win the next race too
        zone.parent.mkdir(exist_ok=True)
        zone.write_text(text)
        return Summary(added=["web.shop.production"])

    with pytest.raises(PublishError, match="still rejected after 3 attempt"):
        commit_and_push(
            GitRepo(ours),
            [zone],
            "example.com",
            Summary(added=["web.shop.production"]),
            regenerate,
            push=True,
            branch="main",
            attempts=3,
            backoff=0,
        )
    assert calls == [False, False]  # regenerated twice, on top of their new commits
    subjects = git(origin, "log", "--format=%s", "main").splitlines()
    assert subjects == ["their edit 2", "their edit 1", "their edit 0", "initial"]
    # Our last attempt is still a local commit on top of theirs: nothing lost, ready to retry.
    assert git(ours, "log", "-1", "--format=%s") == "example.com: add web.shop.production"
    assert git(ours, "rev-parse", "HEAD^") == git(origin, "rev-parse", "main~1")
