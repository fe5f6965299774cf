"""Write generated files: atomically, and only when their content changes.

A zone file is replaced with a rename of a fully written, fsynced temporary file in the same
directory, so a reader (``octodns-sync``, ``git``) sees either the old file or the new one, never
half of one; a run that computes the same content leaves the file and its mtime alone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import PublishError


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` via temp file + fsync + rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt/SystemExit: never leave the temporary file behind.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless ``path`` already holds it; True when the file changed."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise PublishError(f"cannot read {path}: {e.strerror or e}") from e
    try:
        write_atomic(path, text)
    except OSError as e:
        raise PublishError(f"cannot write {path}: {e.strerror or e}") from e
    return True


@dataclass
class Summary:
    """Which names a new zone file adds, changes and removes compared with the old one."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def counts(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"

    def lines(self, limit: int = 10) -> list[str]:
        out = []
        for sign, names in (("+", self.added), ("~", self.changed), ("-", self.removed)):
            out.extend(f"  {sign} {n}" for n in names[:limit])
            if len(names) > limit:
                out.append(f"  {sign} ... and {len(names) - limit} more")
        return out


def zone_entries(text: str | None) -> dict[str, Any]:
    """Name → records of a zone file's text; {} for none. Only for comparing, not validating."""
    if not text:
        return {}
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        return {}
    return {str(k): _strip_annotation(v) for k, v in data.items()}


def summarize(old_text: str | None, new_text: str) -> Summary:
    old, new = zone_entries(old_text), zone_entries(new_text)
    return Summary(
        added=sorted(set(new) - set(old)),
        changed=sorted(n for n in set(new) & set(old) if new[n] != old[n]),
        removed=sorted(set(old) - set(new)),
    )


def _strip_annotation(value: Any) -> Any:
    """A record's DNS content only: a changed annotation alone is not a DNS change."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = {k: v for k, v in item.items() if k != "octodns"}
        out.append(item)
    return out
