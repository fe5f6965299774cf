"""One run at a time: an exclusive ``flock`` on a lock file beside the zones directory.

Two runs that interleave (a cron job and an operator, two watch loops) could each read the old
zone file, each pass the guards against it, and write over each other. The lock is held from
before the zone file is read until after it is written, so every run compares against the file
the previous run left.

The lock file lives *beside* the zones directory (``zones`` → ``.zones.lock``), not in it: the
directory is committed to git whole, and the lock file has no business there. It is never
deleted (deleting a lock file another process is waiting on would let a third one in); the
kernel releases the lock when the holder exits, even after ``kill -9``. The holder writes its
pid into it, so a busy lock is reported with the process to look at.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import RancherDnsError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1


class LockError(RancherDnsError):
    """The lock of this zones directory could not be taken; nothing was written."""


class LockBusyError(LockError):
    """Another run holds the lock of this zones directory."""


def lock_path(zones_dir: Path) -> Path:
    """``<parent>/.<name>.lock`` for ``<parent>/<name>``, e.g. ``.zones.lock`` for ``zones``."""
    absolute = Path(os.path.abspath(zones_dir))
    return absolute.parent / f".{absolute.name}.lock"


@contextlib.contextmanager
def run_lock(zones_dir: Path, wait: float = 0.0) -> Iterator[Path]:
    """Hold the lock of ``zones_dir`` for the ``with`` block; wait up to ``wait`` seconds for it."""
    path = lock_path(zones_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise LockBusyError(f"cannot open lock file {path}: {e.strerror or e}") from e
    try:
        _acquire(fd, path, wait)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as e:  # a full disk, a file size limit: the lock is released on close
            raise LockError(f"cannot write lock file {path}: {e.strerror or e}") from None
        log.debug("lock %s taken by pid %d", path, os.getpid())
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            log.debug("lock %s released", path)
    finally:
        os.close(fd)


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete what a killed run left beside ``path``: ``.<name>.*.tmp`` from ``write_atomic``.

    ``kill -9`` (or a power cut) between creating the temporary file and renaming it leaves the
    old zone file intact and a partial temporary file beside it, which ``git add zones/`` would
    pick up. Only call this while holding the lock: then no other run is writing one.
    """
    removed = []
    for tmp in sorted(path.parent.glob(f".{path.name}.*.tmp")):
        try:
            tmp.unlink()
        except FileNotFoundError:
            continue
        log.warning("removed %s, left by an interrupted run", tmp)
        removed.append(tmp)
    return removed


def holder(path: Path) -> str:
    """The pid written by the process that holds ``path``, or 'unknown'."""
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "unknown"
    return pid if pid.isascii() and pid.isdigit() else "unknown"


def _acquire(fd: int, path: Path, wait: float) -> None:
    deadline = time.monotonic() + max(0.0, wait)
    announced = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait:g} s" if wait > 0 else ""
            raise LockBusyError(
                f"{path} is held by another run (pid {holder(path)}){waited}; "
                "nothing was written (pass --lock-wait SECONDS to wait for it)"
            )
        if not announced:
            log.info("%s is held by pid %s; waiting up to %g s", path, holder(path), wait)
            announced = True
        time.sleep(POLL_SECONDS)
