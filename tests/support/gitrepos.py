"""Real git repositories on disk for the commit and push tests: a bare remote, clones, hooks.

A remote that refuses or races is a bare repository with a hook: ``pre-receive`` declines a
push (before any ref is locked), ``update`` can move the branch itself before git's own ref
update, which then fails exactly as on a busy server (``cannot lock ref``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    """Run git as a test user (never the generator's identity); stdout without the newline."""
    proc = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return proc.stdout.rstrip()


def make_origin(where: Path) -> Path:
    """A bare repository ``where`` with one commit on main: a README and a config file."""
    git(where.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(where))
    seed = where.parent / f"{where.name}-seed"
    git(where.parent, "clone", "--quiet", str(where), str(seed))
    (seed / "README.md").write_text("# dns\n")
    (seed / "config").mkdir()
    (seed / "config" / "octodns.yaml").write_text("zones: {}\n")
    git(seed, "add", "README.md", "config/octodns.yaml")
    git(seed, "commit", "--quiet", "-m", "initial")
    git(seed, "push", "--quiet", "origin", "HEAD:main")
    return where


def clone(origin: Path, where: Path) -> Path:
    git(origin.parent, "clone", "--quiet", "--branch", "main", str(origin), str(where))
    return where


def commits(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "rev-list", rev).splitlines()


def hook(origin: Path, name: str, script: str) -> Path:
    """Install the shell ``script`` as the bare repository's hook ``name``."""
    path = origin / "hooks" / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def push_theirs(origin: Path, work: Path, text: str, message: str = "their change") -> str:
    """Another writer's commit of README.md, pushed to main; its sha."""
    git(work, "pull", "--quiet", "--ff-only", str(origin), "main")
    (work / "README.md").write_text(text)
    git(work, "commit", "--quiet", "-am", message)
    git(work, "push", "--quiet", str(origin), "HEAD:main")
    return git(work, "rev-parse", "HEAD")


# The update hook of a remote where another writer wins the race on the first push only: it
# moves the branch itself (an empty commit on the old tip), so git's own update then fails with
# "cannot lock ref ... is at X but expected Y" / "[remote rejected] (failed to update ref)".
RACE_ONCE = """\
[ -e raced ] && exit 0
touch raced
export GIT_AUTHOR_NAME=Racer GIT_AUTHOR_EMAIL=racer@example.com
export GIT_COMMITTER_NAME=Racer GIT_COMMITTER_EMAIL=racer@example.com
racer=$(git commit-tree "$2^{tree}" -p "$2" -m "raced in by another writer")
git update-ref "$1" "$racer" "$2"
"""
