"""Write generated files: atomically, and only when their content changes.

A zone file is replaced with a rename of a fully written, fsynced temporary file in the same
directory, so a reader (``octodns-sync``, ``git``) sees either the old file or the new one, never
half of one; a run that computes the same content leaves the file and its mtime alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import PublishError
from .names import printable
from .zoneyaml import read_blocks


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
            # Names come from old files too, which may hold anything: escaped, one line each.
            out.extend(f"  {sign} {printable(n)}" for n in names[:limit])
            if len(names) > limit:
                out.append(f"  {sign} ... and {len(names) - limit} more")
        return out


def zone_entries(text: str | None) -> dict[str, Any]:
    """Name → records of a zone file's text; {} for none. Only for comparing, not validating.

    A run asks four times for the same two texts (the removal guard and the summary, old and
    new): the answer for the last texts is kept, and shared, as callers only read it.
    """
    if not text:
        return {}
    try:
        return _ENTRIES[text]
    except KeyError:
        pass
    data = _load(text)
    entries = (
        {str(k): _strip_annotation(v) for k, v in data.items()} if isinstance(data, dict) else {}
    )
    while len(_ENTRIES) >= _PARSED_MAX:
        _ENTRIES.pop(next(iter(_ENTRIES)), None)
    _ENTRIES[text] = entries
    return entries


# What the last zone texts hold, as whole texts and as their top-level entries ("blocks": a
# name's line at column 0 and the lines below it). One run compares the same old and new texts
# in the removal guards and again in the summary, and at 10,000 records a full YAML parse takes
# seconds: the new text's content is handed over by its writer (``remember``), an old text only
# has its changed entries parsed, and anything that does not split cleanly is parsed whole.
_PARSED: dict[str, Any] = {}
_PARSED_MAX = 2
_ENTRIES: dict[str, dict[str, Any]] = {}
_BLOCKS: dict[str, tuple[str, Any]] = {}
_BLOCKS_MAX = 200_000
_START = "---\n"
# A block starts with a line whose first character is none of these (the lines inside it are
# indented, or list items at column 0). The newline before each later block is searched for
# as a newline: a pattern anchored at every line start was tried at every position of the text.
_BLOCK_HEAD = re.compile(r"[^\s#-]")
_BLOCK_START = re.compile(r"\n(?=[^\s#-])")
_KEY_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._/-]*):\n")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def zone_data(text: str) -> dict[str, Any]:
    """The YAML data of a zone file's text (annotations included); {} for none. Read only:
    the data of the last texts is shared."""
    data = _load(text) if text else None
    return data if isinstance(data, dict) else {}


def remember(text: str, data: dict[str, Any]) -> None:
    """Note that ``text`` is the YAML of ``data`` (its writer knows), so reading it needs no parse.

    Callers only read what ``zone_entries`` returns, so the data is shared, not copied.
    """
    _store(text, data)
    for block in _split(text) or ():
        m = _KEY_LINE.match(block)
        if m is None or m.group(1) not in data:
            return
        _BLOCKS[block] = (m.group(1), data[m.group(1)])


def zone_data_of(text: str) -> Any:
    """The YAML data of a zone file's text, annotations included (shared: only read it)."""
    return _load(text)


def _load(text: str) -> Any:
    """The YAML data of ``text``; unchanged entries of known texts are not parsed again."""
    try:
        return _PARSED[text]
    except KeyError:
        pass
    blocks = _split(text)
    data = _from_blocks(blocks) if blocks is not None else None
    if data is None:
        data = yaml.load(text, Loader=_LOADER)
    _store(text, data)
    return data


def _store(text: str, data: Any) -> None:
    while len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)), None)
    _PARSED[text] = data
    if len(_BLOCKS) > _BLOCKS_MAX:
        _BLOCKS.clear()


def _split(text: str) -> list[str] | None:
    """The top-level entries of a block-style zone file, or None when it is not one."""
    if not text.startswith(_START):
        return None
    body = text[len(_START) :]
    if not body.endswith("\n") or not _BLOCK_HEAD.match(body):
        return None
    starts = [0, *(m.end() for m in _BLOCK_START.finditer(body))]
    return [body[a:b] for a, b in zip(starts, [*starts[1:], len(body)], strict=True)]


def _from_blocks(blocks: list[str]) -> dict[str, Any] | None:
    """Known blocks from memory, the others read, or parsed together; None if any does not
    check out."""
    unknown: list[str] = []
    keys: list[str] = []
    for block in blocks:
        if block not in _BLOCKS:
            m = _KEY_LINE.match(block)
            if m is None:
                return None
            unknown.append(block)
            keys.append(m.group(1))
    # Blocks in the block writer's layout are read without a YAML parse; any other is parsed.
    slow: list[tuple[str, str]] = []
    for block, key, read in zip(unknown, keys, read_blocks(unknown), strict=True):
        if read is None:
            slow.append((block, key))
        else:
            _BLOCKS[block] = read
    if slow:
        try:
            parsed = yaml.load("".join(block for block, _ in slow), Loader=_LOADER)
        except yaml.YAMLError:
            return None
        if not isinstance(parsed, dict) or list(parsed) != [key for _, key in slow]:
            return None
        for block, key in slow:
            _BLOCKS[block] = (key, parsed[key])
    return dict(_BLOCKS[block] for block in blocks)


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
            item = dict(item)
            item.pop("octodns", None)
        out.append(item)
    return out
