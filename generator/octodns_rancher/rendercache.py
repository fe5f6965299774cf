"""The zone file of a long-running process, re-rendered at the cost of what changed.

``watch`` renders the whole zone every cycle, though a cycle usually changes a handful of
records: at 10,000 records that is most of a cycle's CPU (the last checks, octoDNS's validators,
the YAML writer). A record is a frozen value (``DesiredRecord``), and everything ``render``
does with it depends only on the record, the zone and octoDNS's validator settings: so a
record seen in the last cycle keeps its checks and its validated data, and a name whose
records did not change keeps its text. The output is the same text ``render_octodns`` gives
for the same records (tests compare the two); anything the cache cannot take (a zone with
sub-zones, an entry the block writer does not write, names of equal natural order) is
rendered in full by ``render_octodns``.

Only the last cycle's records are kept, so memory stays that of one zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from octodns.record import Record

from . import render
from .desired import DesiredRecord
from .names import check_zone
from .publish import remember
from .zoneyaml import _BlockWriter, _natural_items


class RenderCache:
    """``render_octodns`` for one process, remembering the last cycle's work."""

    def __init__(self) -> None:
        self._setting: tuple[Any, ...] | None = None
        self._entries: dict[DesiredRecord, render.Entry] = {}
        self._texts: dict[tuple[str, tuple[DesiredRecord, ...]], str] = {}
        self._writer = _BlockWriter()
        self.rendered = 0  # records checked and validated by the last call (the rest reused)

    def render_octodns(
        self,
        records: Iterable[DesiredRecord],
        zone: str,
        *,
        subtrees: Sequence[str] | None = None,
    ) -> str:
        """What ``render.render_octodns`` returns for these arguments."""
        records = list(records)
        render._ensure_validators()
        setting = (check_zone(zone), tuple(subtrees or ()), _validators())
        if setting != self._setting or len(self._writer.texts) > 8 * len(self._entries) + 10_000:
            # New settings, or the writer's memory of strings grew with changes long gone.
            self._setting, self._entries, self._texts = setting, {}, {}
            self._writer = _BlockWriter()
        new = [r for r in dict.fromkeys(records) if r not in self._entries]
        render.check_records(new, zone, subtrees=subtrees)
        validated = render.validated_entries(new, zone)
        if validated is None:
            self._entries, self._texts = {}, {}
            self.rendered = len(records)
            return render.render_octodns(records, zone, subtrees=subtrees)
        self.rendered = len(new)
        known = self._entries
        known.update((e.record, e) for e in validated)
        data, owners = render.entries_data([known[r] for r in records], zone)
        if data is None:  # a duplicate octoDNS names
            return render.render_octodns(records, zone, subtrees=subtrees)
        self._entries = {r: known[r] for r in records}
        render._check_cnames(data, zone)
        text = self._text(data, owners)
        if text is None:
            from .zoneyaml import dump_zone

            text = dump_zone(data)
        remember(text, data)
        return text

    def _text(
        self, data: dict[str, Any], owners: dict[str, tuple[DesiredRecord, ...]]
    ) -> str | None:
        """The document, each name's text reused when its records are the same as before."""
        if not data:
            return None
        writer = self._writer
        items = _natural_items(data, writer.sort_key)
        if len({writer.sort_key(k) for k, _ in items}) < len(items):
            return None  # names of equal natural order: the values decide, dump_zone knows how
        texts: dict[tuple[str, tuple[DesiredRecord, ...]], str] = {}
        parts = ["---\n"]
        old = self._texts
        for name, value in items:
            key = (name, owners[name])
            text = old.get(key)
            if text is None:
                text = writer.entry(name, value)
                if text is None:
                    return None
            texts[key] = text
            parts.append(text)
        self._texts = texts
        return "".join(parts)


def _validators() -> tuple[Any, ...]:
    """octoDNS's enabled record and value validators: a change validates everything again."""
    registry = Record.validators
    return tuple(
        tuple(
            sorted((key, tuple((i, id(v)) for i, v in ids.items())) for key, ids in active.items())
        )
        for active in (registry.active_record, registry.active_value)
    )
