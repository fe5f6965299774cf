"""Push the generator's commits so that no failure leaves a checkout the next run cannot use.

A push is refused in several ways, and every one is retried a bounded number of times:
``[rejected]`` (``non-fast-forward``, ``fetch first``: the remote has commits we do not),
``[remote rejected] ... (failed to update ref)`` / ``cannot lock ref`` (a race on a busy
remote, or a stale lock), and a server-side hook that declines. Before each retry the branch
is fetched. If the remote moved, the generator's own unpushed commits (``GitRepo.is_own``) are
dropped and the zone files are generated again on top of the remote tip: they are a function
of the metadata, so nothing is lost, and the new commit says what changes relative to what is
now there. If it did not move, the same commits are pushed again. A commit the generator did
not make is never moved: the run fails naming it. A hook that keeps refusing fails after the
last attempt with the hook's own message.

This is also how a run recovers from an earlier one whose push failed (an unreachable
remote): the earlier commit is still local; it is pushed as it is if the remote has not moved,
and rebuilt on the remote tip if it has. Files the user had staged stay staged throughout.
A push that cannot reach the remote at all is not a refusal: it fails at once with git's
reason and the remote's URL (credentials masked), and the next run tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PublishError
from .gitrepo import GitRepo, cause, clean, commit_message
from .publish import Summary

log = logging.getLogger(__name__)

DEFAULT_PUSH_ATTEMPTS = 3
SAVED_PATCH = "octodns-rancher-staged.patch"


@dataclass
class CommitResult:
    """What ``commit_and_push`` did: the commit made (if any) and whether it reached the remote."""

    sha: str | None = None
    message: str = ""
    pushed: bool = False
    attempts: int = 0
    summaries: list[Summary] = field(default_factory=list)


@dataclass
class Refusal:
    """A push the remote refused: git's reason (``[rejected] (fetch first)``) and its lines."""

    reason: str
    lines: str

    def __str__(self) -> str:
        return f"{self.reason}; {self.lines}" if self.lines != "no output" else self.reason


def push_once(repo: GitRepo, remote: str, branch: str) -> Refusal | None:
    """Push HEAD to ``remote``/``branch``: None when it went through, the refusal otherwise.

    Anything that is not a refusal of the ref (no such remote, no connection, no access)
    raises ``PublishError`` with git's reason and the remote.
    """
    proc = repo.git("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
    if proc.returncode == 0:
        return None
    refused = [ln.split("\t")[-1] for ln in proc.stdout.splitlines() if ln.startswith("!")]
    if refused:
        return Refusal(clean(refused[0]), cause(proc.stderr))
    raise PublishError(
        f"git push {repo.describe_remote(remote)} {branch} failed: {cause(proc.stderr)}"
    )


def fetch_tip(repo: GitRepo, remote: str, branch: str) -> str | None:
    """The remote branch's tip after fetching it; None if the branch does not exist there."""
    proc = repo.git("fetch", "--quiet", remote, f"refs/heads/{branch}", check=False)
    if proc.returncode != 0:
        if "couldn't find remote ref" in proc.stderr:
            return None
        raise PublishError(
            f"git fetch {repo.describe_remote(remote)} {branch} failed: {cause(proc.stderr)}"
        )
    return repo.git("rev-parse", "FETCH_HEAD").stdout.strip()


def rebuild_on_remote(repo: GitRepo, remote: str, branch: str, owned: set[str]) -> bool:
    """Put the branch on the remote tip if the remote moved, dropping only our own commits.

    Returns whether the branch moved. Raises, moving nothing, if a local commit that is not
    on the remote is not the generator's own.
    """
    tip = fetch_tip(repo, remote, branch)
    if tip is None or repo.is_ancestor(tip):
        return False  # HEAD already contains the remote: the same push can simply be retried
    local = repo.git("rev-list", f"{tip}..HEAD").stdout.split()
    foreign = [sha for sha in local if not repo.is_own(sha, owned)]
    if foreign:
        named = ", ".join(_describe(repo, sha) for sha in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise PublishError(
            f"{repo.root}: branch has local commits that are not on {remote}/{branch} and "
            f"were not made by octodns-rancher ({named}{more}); they are never moved: "
            "push or drop them, then run again"
        )
    log.info(
        "dropping %d unpushed commit(s) of octodns-rancher to regenerate on %s/%s at %s",
        len(local),
        remote,
        branch,
        tip[:12],
    )
    move_keeping_staged(repo, tip, owned)
    return True


def move_keeping_staged(repo: GitRepo, tip: str, owned: set[str]) -> None:
    """``git reset --keep tip``, with whatever the user had staged staged again afterwards.

    ``--keep`` updates only files that differ between HEAD and ``tip`` and refuses if any of
    them has local changes, staged or not; it resets the index, so the staged changes (other
    than to the generated files, which are written again) are saved as a patch first and
    applied to the new index. Since ``--keep`` refused to touch changed files, the patch
    applies where it was made.
    """
    excluded = [f":(top,exclude){p}" for p in sorted(owned)]
    staged = repo.git(
        "diff", "--cached", "--binary", "--full-index", "--no-color", "--no-ext-diff",
        "--no-renames", "--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--", ":/", *excluded,
    ).stdout  # fmt: skip
    moved = repo.git("reset", "--quiet", "--keep", tip, check=False)
    if moved.returncode != 0:
        raise PublishError(
            f"{repo.root}: cannot move the branch to the remote tip {tip[:12]}: "
            f"{cause(moved.stderr)} (commit or stash local changes to those files)"
        )
    if not staged:
        return
    applied = repo.git("apply", "--cached", "--binary", check=False, input=staged)
    if applied.returncode != 0:
        saved = Path(repo.git("rev-parse", "--git-dir").stdout.strip())
        saved = (saved if saved.is_absolute() else repo.root / saved) / SAVED_PATCH
        saved.write_text(staged, encoding="utf-8", errors="surrogateescape")
        raise PublishError(
            f"{repo.root}: the staged changes do not apply on the remote tip: "
            f"{cause(applied.stderr)}; they are saved in {saved} (git apply --cached {saved})"
        )


def commit_and_push(
    repo: GitRepo,
    paths: Sequence[Path],
    zone: str,
    summary: Summary,
    regenerate: Callable[[], Summary],
    push: bool = False,
    remote: str = "origin",
    branch: str | None = None,
    attempts: int = DEFAULT_PUSH_ATTEMPTS,
    backoff: float = 0.5,
    owned: Sequence[Path] = (),
) -> CommitResult:
    """Commit the zone files ``paths``; with ``push``, push with bounded retries.

    ``regenerate`` writes the zone files again (on top of whatever the remote now holds) and
    returns the new summary; it is called only after the branch was moved to the remote tip.
    ``owned`` are further files of the zone the generator writes (say the Terraform file of
    an earlier run): a commit of ours may have changed them too.
    """
    if push and branch is None:
        branch = repo.current_branch()
    mine = {repo.relative(p) for p in [*paths, *owned]}
    result = CommitResult(summaries=[summary])
    _commit(repo, paths, zone, summary, result)
    if not push:
        return result
    assert branch is not None
    where = repo.describe_remote(remote)
    refusal: Refusal | None = None
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        refusal = push_once(repo, remote, branch)
        if refusal is None:
            result.pushed = True
            log.info("pushed %s to %s/%s", (repo.head() or "")[:12], remote, branch)
            return result
        log.warning(
            "push to %s %s refused (attempt %d of %d): %s",
            where,
            branch,
            attempt,
            attempts,
            refusal,
        )
        if attempt == attempts:
            break
        time.sleep(backoff * attempt)
        if not rebuild_on_remote(repo, remote, branch, mine):
            continue
        summary = regenerate()
        result.summaries.append(summary)
        _commit(repo, paths, zone, summary, result)
        if result.sha is None:
            # The remote already holds exactly what we generated: nothing left to push.
            log.info("remote %s/%s already holds the generated zone", remote, branch)
            result.pushed = True
            return result
    hint = (
        "; another writer keeps pushing, try again later"
        if refusal and "[rejected]" in refusal.reason
        else ""
    )
    raise PublishError(
        f"git push {where} {branch}: still rejected after {attempts} attempt(s): {refusal}{hint}"
    )


def _commit(
    repo: GitRepo, paths: Sequence[Path], zone: str, summary: Summary, result: CommitResult
) -> None:
    message = commit_message(zone, summary)
    result.sha = repo.commit_files(paths, message)
    result.message = message if result.sha else ""


def _describe(repo: GitRepo, sha: str) -> str:
    subject = repo.git("log", "-1", "--format=%s", sha).stdout.strip()
    return f"{sha[:12]} {clean(subject)!r}"
