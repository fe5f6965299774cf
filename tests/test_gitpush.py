"""gitpush: pushing with real git to bare repositories on disk that fail, race and refuse."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from octodns_rancher.errors import PublishError
from octodns_rancher.gitpush import commit_and_push
from octodns_rancher.gitrepo import TRAILER, GitRepo
from octodns_rancher.publish import Summary
from tests.conftest import run
from tests.support.gitrepos import (
    RACE_ONCE,
    clone,
    commits,
    git,
    hook,
    push_theirs,
)
from tests.support.metadata_server import MetadataServer
from tests.support.scenario import shop

ZONE_FILE = "zones/example.com.yaml"


@pytest.fixture
def server() -> Iterator[MetadataServer]:
    with MetadataServer(shop(["web", "api"])) as srv:
        yield srv


def push(
    server: MetadataServer, cwd: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    args = ["generate", "--metadata-url", server.url, "--zone", "example.com", "--push"]
    return run(["octodns-rancher", *args, *extra], cwd=cwd, env=env)


def status(work: Path) -> list[str]:
    return sorted(s for s in git(work, "status", "--porcelain").splitlines() if ".lock" not in s)


def fail_first_push(server, origin, work, git_env) -> str:
    """Push while the remote is unreachable: the run fails and leaves its commit unpushed."""
    git(work, "remote", "set-url", "origin", str(origin.parent / "gone.git"))
    proc = push(server, work, git_env)
    assert proc.returncode == 2, proc.stderr
    git(work, "remote", "set-url", "origin", str(origin))
    return git(work, "rev-parse", "HEAD")


def test_after_a_failed_push_the_next_run_rebuilds_its_own_commits(
    server, origin, tmp_path, git_env
):
    work = clone(origin, tmp_path / "work")
    theirs = clone(origin, tmp_path / "theirs")
    unpushed = fail_first_push(server, origin, work, git_env)
    assert TRAILER in git(work, "log", "-1", "--format=%B")
    their_sha = push_theirs(origin, theirs, "# dns\ntheirs\n")

    # Nothing changed in metadata: this run has nothing new to commit, only the old commit.
    proc = push(server, work, git_env)
    assert proc.returncode == 0, proc.stderr
    history = commits(origin, "main")
    assert len(history) == 3 and history[1] == their_sha  # initial, theirs, ours rebuilt
    assert unpushed not in history
    assert git(work, "rev-parse", "HEAD") == history[0]
    assert git(origin, "log", "-1", "--format=%s", "main") == (
        "example.com: add api.shop.production, web.shop.production"
    )
    assert git(origin, "show", "main:README.md") == "# dns\ntheirs"
    assert status(work) == []
    # Later runs are ordinary again.
    server.reload(shop(["web", "api", "cart"]))
    assert push(server, work, git_env).returncode == 0
    assert (
        git(origin, "log", "-1", "--format=%s", "main") == "example.com: add cart.shop.production"
    )


@pytest.mark.parametrize(
    "kind",
    [
        "a commit of another file",
        "another file, with our trailer",
        "the zone file, by hand",
        "a subject with terminal escapes",
    ],
)
def test_recovery_never_moves_a_commit_it_did_not_make(server, origin, tmp_path, git_env, kind):
    work = clone(origin, tmp_path / "work")
    theirs = clone(origin, tmp_path / "theirs")
    fail_first_push(server, origin, work, git_env)
    if kind == "the zone file, by hand":
        (work / ZONE_FILE).write_text((work / ZONE_FILE).read_text() + "# hand edit\n")
        git(work, "commit", "--quiet", "-am", "hand edit of the zone")
    else:
        (work / "README.md").write_text("# dns\nmine\n")
        trailer = f"\n\n{TRAILER}" if "trailer" in kind else ""
        subject = "local \x1b[2J\x1b]0;pwned\x07work" if "escapes" in kind else "local work"
        git(work, "commit", "--quiet", "-am", f"{subject}{trailer}")
    mine = git(work, "rev-parse", "HEAD")
    push_theirs(origin, theirs, "# dns\ntheirs\n")

    proc = push(server, work, git_env)
    assert proc.returncode == 2
    assert "not made by octodns-rancher" in proc.stderr
    assert f"{mine[:12]} " in proc.stderr  # the commit is named
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing moved: the commit is still on the branch (under this run's own zone commit, if
    # this run restored the hand-edited file).
    assert mine in commits(work)
    assert mine not in commits(origin, "main")


def test_a_race_on_the_remote_ref_is_retried_and_rebuilt(server, origin, tmp_path, git_env):
    """Another writer updates the branch between git's checks and its ref update."""
    work = clone(origin, tmp_path / "work")
    hook(origin, "update", RACE_ONCE)
    proc = push(server, work, git_env)
    assert proc.returncode == 0, proc.stderr
    assert "[remote rejected]" in proc.stderr and "cannot lock ref" in proc.stderr
    assert git(origin, "log", "--format=%s", "main").splitlines() == [
        "example.com: add api.shop.production, web.shop.production",
        "raced in by another writer",
        "initial",
    ]
    assert git(work, "rev-parse", "HEAD") == git(origin, "rev-parse", "main")


REFUSE_ONCE = {
    "a hook that declines once": "n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count\n"
    '[ "$n" = 0 ] && { echo "busy, try again"; exit 1; }\nexit 0\n',
    # git's own ref update fails on the lock file until the second push removes it.
    "a stale lock on the branch": "n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count\n"
    '[ "$n" = 1 ] && rm -f refs/heads/main.lock\nexit 0\n',
}


@pytest.mark.parametrize("kind", sorted(REFUSE_ONCE))
def test_a_remote_that_refuses_once_gets_the_same_commit_again(
    server, origin, tmp_path, git_env, kind
):
    work = clone(origin, tmp_path / "work")
    hook(origin, "pre-receive", REFUSE_ONCE[kind])
    if "lock" in kind:
        (origin / "refs" / "heads" / "main.lock").write_text("")
    proc = push(server, work, git_env)
    assert proc.returncode == 0, proc.stderr
    assert "after 2 attempt(s)" in proc.stderr
    assert ("busy, try again" if "hook" in kind else "cannot lock ref") in proc.stderr
    history = commits(origin, "main")
    assert len(history) == 2  # nothing regenerated: the same commit went through
    assert git(work, "rev-parse", "HEAD") == history[0]


def test_a_hook_that_always_refuses_fails_with_its_message(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    noise = 'i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done\n'
    hook(
        origin,
        "pre-receive",
        'printf "DNS changes are frozen until Monday \\033[31mred\\033]0;title\\007\\n"\n'
        + noise
        + "exit 1\n",
    )
    proc = push(server, work, git_env)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, proc.stderr
    error = errors[0]
    assert "after 3 attempt(s)" in error and "pre-receive hook declined" in error
    assert "DNS changes are frozen until Monday" in error
    assert str(origin) in error  # the remote is named
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert len(error) < 1200  # capped, not 300 lines
    assert "Traceback" not in proc.stderr
    # The commit stays local, ready for the next run.
    assert len(commits(work)) == 2 and len(commits(origin, "main")) == 1


def test_staged_files_stay_staged_on_the_race_path(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    theirs = clone(origin, tmp_path / "theirs")
    (work / "notes.txt").write_text("staged, not ours\n")
    (work / "config" / "octodns.yaml").write_text("zones: {example.com.: {}}\n")
    (work / "logo.bin").write_bytes(bytes(range(256)))  # not text, not UTF-8
    git(work, "add", "notes.txt", "config/octodns.yaml", "logo.bin")
    (work / "scratch.txt").write_text("untracked\n")
    push_theirs(origin, theirs, "# dns\ntheirs\n")

    proc = push(server, work, git_env)
    assert proc.returncode == 0, proc.stderr
    assert "rejected" in proc.stderr
    assert len(commits(origin, "main")) == 3
    assert status(work) == [
        "?? scratch.txt",
        "A  logo.bin",
        "A  notes.txt",
        "M  config/octodns.yaml",
    ]
    assert git(work, "show", ":notes.txt") == "staged, not ours"
    staged = subprocess.run(["git", "show", ":logo.bin"], cwd=work, capture_output=True, check=True)
    assert staged.stdout == bytes(range(256))


def test_push_errors_show_the_cause_and_the_remote_without_credentials(
    server, origin, tmp_path, git_env
):
    work = clone(origin, tmp_path / "work")
    git(work, "remote", "set-url", "origin", "https://deploy:s3cret-token@127.0.0.1:1/dns.git")
    proc = push(server, work, git_env)
    assert proc.returncode == 2
    error = next(line for line in proc.stderr.splitlines() if "ERROR" in line)
    assert "git push origin (https://***@127.0.0.1:1/dns.git) main failed" in error
    assert "fatal: unable to access" in error  # the cause, not "and the repository exists."
    assert "s3cret" not in proc.stderr and "deploy" not in proc.stderr

    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    proc = push(server, work, git_env)
    error = next(line for line in proc.stderr.splitlines() if "ERROR" in line)
    assert "does not appear to be a git repository" in error
    assert "Could not read from remote repository" in error


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

    proc = push(server, ours, git_env)
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


def test_push_failures_other_than_races_are_one_line_errors(server, origin, tmp_path, git_env):
    work = clone(origin, tmp_path / "work")
    proc = push(server, work, git_env, "--remote", "nowhere")
    assert proc.returncode == 2
    assert (
        "ERROR octodns_rancher: git push nowhere main failed: fatal: 'nowhere' does not appear"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr


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


def test_local_changes_to_a_file_the_remote_changed_stop_the_move(
    server, origin, tmp_path, git_env
):
    work = clone(origin, tmp_path / "work")
    theirs = clone(origin, tmp_path / "theirs")
    (work / "README.md").write_text("# dns\nstaged here\n")
    git(work, "add", "README.md")
    push_theirs(origin, theirs, "# dns\ntheirs\n")

    proc = push(server, work, git_env)
    assert proc.returncode == 2
    error = next(line for line in proc.stderr.splitlines() if "ERROR" in line)
    assert "cannot move the branch to the remote tip" in error
    assert "README.md" in error and "commit or stash" in error
    # Nothing moved and nothing was lost: our commit, and the staged edit, are as they were.
    assert git(work, "log", "-1", "--format=%s") == (
        "example.com: add api.shop.production, web.shop.production"
    )
    assert status(work) == ["M  README.md"]
    assert git(work, "show", ":README.md") == "# dns\nstaged here"
