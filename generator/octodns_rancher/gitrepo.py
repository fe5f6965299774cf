"""Commit generated zone files, with the real ``git`` command (pushing is ``gitpush``).

Only the zone files the generator wrote are ever staged or committed (``git commit --only``
semantics: a commit with pathspecs ignores anything else the user has staged). Every commit
the generator makes ends with the trailer ``Generated-by: octodns-rancher``; a commit is the
generator's own (``GitRepo.is_own``) only if it has that trailer, one parent, and changes
nothing but the zone's generated files, so a user's commit is never taken for one of ours.
Errors name the git command and show git's own reason, with control characters removed and
the credentials in URLs masked (``redact``).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import PublishError
from .publish import Summary
from .redact import redact_text

log = logging.getLogger(__name__)

# Identity used only when the repository has none (a fresh CI checkout).
FALLBACK_NAME = "octodns-rancher"
FALLBACK_EMAIL = "octodns-rancher@users.noreply.github.com"
SUBJECT_NAMES = 3
# The trailer that marks a commit as the generator's own (see ``GitRepo.is_own``).
TRAILER_KEY = "Generated-by"
TRAILER_VALUE = "octodns-rancher"
TRAILER = f"{TRAILER_KEY}: {TRAILER_VALUE}"


def commit_message(zone: str, summary: Summary, limit: int = SUBJECT_NAMES) -> str:
    """Subject naming the first few names per kind of change, then a body listing them all."""
    parts = []
    for verb, names in (
        ("add", summary.added),
        ("update", summary.changed),
        ("remove", summary.removed),
    ):
        if not names:
            continue
        shown = ", ".join(names[:limit])
        more = f" and {len(names) - limit} more" if len(names) > limit else ""
        parts.append(f"{verb} {shown}{more}")
    subject = f"{zone}: " + ("; ".join(parts) if parts else "update record annotations")
    body = [f"{summary.counts()}."]
    lines = summary.lines(limit=50)
    if lines:
        body += ["", *lines]
    body += ["", TRAILER]
    return subject + "\n\n" + "\n".join(body) + "\n"


class GitRepo:
    """A working tree, driven through the ``git`` CLI; every failure names the command."""

    def __init__(self, path: Path) -> None:
        proc = _git(["rev-parse", "--show-toplevel"], Path(path), check=False)
        if proc.returncode != 0:
            raise PublishError(f"{path} is not in a git repository (needed for --commit)")
        self.root = Path(proc.stdout.strip()).resolve()

    @classmethod
    def discover(cls, path: Path) -> GitRepo:
        """The repository holding ``path``, which may not exist yet (a first run)."""
        here = Path(path).resolve()
        while not here.is_dir():
            here = here.parent
        try:
            return cls(here)
        except PublishError:
            raise PublishError(f"{path} is not in a git repository (needed for --commit)") from None

    def git(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return _git(list(args), self.root, check=check, input=input)

    def current_branch(self) -> str:
        proc = self.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if proc.returncode != 0:
            raise PublishError(f"{self.root}: HEAD is detached; pass --branch to push")
        return proc.stdout.strip()

    def head(self) -> str | None:
        proc = self.git("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return proc.stdout.strip() or None

    def relative(self, path: Path) -> str:
        """``path`` relative to the repository root; refuses files outside it."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise PublishError(f"{path} is outside the git repository {self.root}") from None

    def commit_files(self, paths: Sequence[Path], message: str) -> str | None:
        """Commit exactly ``paths`` if they changed; the new commit's sha, or None."""
        rel = [self.relative(p) for p in paths]
        self.git("add", "--", *rel)
        staged = self.git("diff", "--cached", "--quiet", "--", *rel, check=False)
        if staged.returncode == 0:
            log.info("%s: nothing to commit", ", ".join(rel))
            return None
        self.git(*self._identity(), "commit", "--quiet", "--no-verify", "-m", message, "--", *rel)
        sha = self.head()
        log.info("committed %s as %s", ", ".join(rel), (sha or "")[:12])
        return sha

    def url(self, remote: str) -> str:
        """The remote's URL for messages, without credentials; ``remote`` itself if not a name."""
        proc = self.git("remote", "get-url", remote, check=False)
        return clean(proc.stdout.strip() if proc.returncode == 0 else remote)

    def describe_remote(self, remote: str) -> str:
        """``origin (https://host/repo.git)``: the name and where it points, for errors."""
        url = self.url(remote)
        return url if url == clean(remote) else f"{clean(remote)} ({url})"

    def is_own(self, sha: str, paths: set[str]) -> bool:
        """Whether commit ``sha`` is one the generator made for the files ``paths`` (relative).

        All three must hold: our trailer, exactly one parent (no merge), and no file changed
        outside ``paths``. A user's commit that copied the trailer but touched anything else,
        or a hand edit of the zone file without it, is not ours.
        """
        fmt = f"%P%n%(trailers:key={TRAILER_KEY},valueonly,separator=%x2C)"
        head, _, trailers = self.git("log", "-1", f"--format={fmt}", sha).stdout.partition("\n")
        if len(head.split()) != 1 or TRAILER_VALUE not in trailers.strip().split(","):
            return False
        changed = self.git("diff-tree", "--no-commit-id", "--name-only", "-r", "-z", sha).stdout
        files = {f for f in changed.split("\0") if f}
        return bool(files) and files <= paths

    def is_ancestor(self, ancestor: str, rev: str = "HEAD") -> bool:
        return self.git("merge-base", "--is-ancestor", ancestor, rev, check=False).returncode == 0

    def _identity(self) -> list[str]:
        args = []
        if not self.git("config", "user.name", check=False).stdout.strip():
            args += ["-c", f"user.name={FALLBACK_NAME}"]
        if not self.git("config", "user.email", check=False).stdout.strip():
            args += ["-c", f"user.email={FALLBACK_EMAIL}"]
        return args


def _git(
    args: list[str], cwd: Path, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        # Bytes that are not UTF-8 (a file's content in a diff, a subject) pass through as
        # they are: surrogateescape decodes and encodes them back unchanged.
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            encoding="utf-8",
            errors="surrogateescape",
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            timeout=300,
        )
    except FileNotFoundError:
        raise PublishError("git is not installed (needed for --commit)") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"git {args[0]} in {cwd} timed out") from None
    if check and proc.returncode != 0:
        raise PublishError(f"git {' '.join(args[:2])} in {cwd} failed: {cause(proc.stderr)}")
    return proc


# ANSI escape sequences (CSI and OSC) and the other control characters a remote's hook may print.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CAUSE_LINES = 5
CAUSE_WIDTH = 200


def clean(line: str) -> str:
    """One line of git's or a remote's output, safe to log: no escapes, no credentials, capped."""
    line = _CONTROLS.sub("", _ESCAPES.sub("", line)).strip()
    line = redact_text(line)
    return line if len(line) <= CAUSE_WIDTH else line[: CAUSE_WIDTH - 3] + "..."


def cause(stderr: str, limit: int = CAUSE_LINES) -> str:
    """Why a git command failed: its ``fatal:``/``error:``/``remote:`` lines, at most ``limit``.

    git ends many failures with advice ("Please make sure you have the correct access rights
    and the repository exists."); the cause is in the lines before it.
    """
    lines = []
    for raw in stderr.splitlines():
        line = clean(raw)
        if line.startswith("error: failed to push some refs"):
            continue  # said of every refused push; the reason is elsewhere
        if line and line.removeprefix("remote:").strip():
            lines.append(line)
    wanted = [ln for ln in lines if ln.startswith(("fatal:", "error:", "remote:"))] or lines
    shown = wanted[:limit]
    if len(wanted) > limit:
        shown.append(f"({len(wanted) - limit} more line(s))")
    return "; ".join(shown) or "no output"
