"""An octoDNS source that holds a zone's records in memory, for ``watch --apply``.

``octodns-sync`` reads the zone file the generator just wrote: a YAML parse and an octoDNS
``Record`` built and validated per entry, seconds of CPU at 10,000 records, for data the watch
process already holds. ``MemorySource`` takes the place of the configuration's ``YamlProvider``
for that file: the watch loop hands it the file's data (the mapping the renderer wrote, which
is what a YAML load of the file gives), and it builds the zone's records the way
``YamlProvider`` does (the same ``Record.new`` with the provider's ``default_ttl`` and semicolon
handling). A record whose entry did not change since the last cycle is the same ``Record``
object as before: only changed entries are built and validated again. Everything after the
source (processors, planning, safety thresholds, the providers) is octoDNS's own, unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import msgspec
from octodns.processor.ownership import OwnershipProcessor
from octodns.record import Record
from octodns.source.base import BaseSource

from .zoneview import remember_records


class MemorySource(BaseSource):
    """A source whose zones' data is set in memory (``set_zone``), read like a zone file.

    ``like`` is the ``YamlProvider`` whose file this replaces: its ``default_ttl``,
    ``escaped_semicolons`` and ``populate_should_replace`` are used the same way.
    """

    SUPPORTS_GEO = False
    SUPPORTS_DYNAMIC = True
    SUPPORTS_MULTIVALUE_PTR = True
    SUPPORTS_POOL_VALUE_STATUS = True
    SUPPORTS_ROOT_NS = True

    def __init__(self, id: str, like: Any = None) -> None:
        self.log = logging.getLogger(f"{self.__class__.__name__}[{id}]")
        super().__init__(id)
        self.default_ttl = getattr(like, "default_ttl", 3600)
        self.escaped_semicolons = getattr(like, "escaped_semicolons", False)
        self.populate_should_replace = getattr(like, "populate_should_replace", False)
        self._zones: dict[str, Mapping[str, Any]] = {}
        # (zone, name, entry as text) → the Record built for it last time.
        self._built: dict[tuple[str, str, bytes], Record] = {}
        self.built = 0  # records built by the last populate (the others were reused)

    @property
    def SUPPORTS(self) -> set[str]:  # every type, as YamlProvider
        return set(Record.registered_types())

    def set_zone(self, zone_name: str, data: Mapping[str, Any]) -> None:
        """The zone's data: name → record data or list of them, as a zone file holds it."""
        self._zones[zone_name] = data

    def populate(self, zone: Any, target: bool = False, lenient: bool = False) -> bool:
        data = self._zones.get(zone.name)
        if data is None:
            return False
        remember_records(zone)
        built: dict[tuple[str, str, bytes], Record] = {}
        self.built = 0
        for name, entries in data.items():
            for entry in entries if isinstance(entries, list) else [entries]:
                key = (zone.name, name, _text(entry))
                record = self._built.get(key)
                if record is None:
                    record = Record.new(zone, name, self._data(entry), source=self, lenient=lenient)
                    self.built += 1
                built[key] = record
                zone.add_record(record, lenient=lenient, replace=self.populate_should_replace)
        # Only this zone's records are kept for the next cycle; other zones' stay as they are.
        self._built = {k: v for k, v in self._built.items() if k[0] != zone.name}
        self._built.update(built)
        self.log.debug("populate: %s: %d records, %d built", zone.name, len(built), self.built)
        return True

    def _data(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the entry as ``YamlProvider`` hands it to ``Record.new``."""
        d = dict(entry)
        if not self.escaped_semicolons and d.get("type") in ("SPF", "TXT"):
            if d.get("value") is not None:
                d["value"] = d["value"].replace(";", "\\;")
            if "values" in d:
                d["values"] = [v.replace(";", "\\;") if v is not None else v for v in d["values"]]
        d.setdefault("ttl", self.default_ttl)
        return d


def _text(entry: Any) -> bytes:
    """An entry as text, to recognise it in the next cycle (equal text: equal entry)."""
    try:
        return msgspec.json.encode(entry)
    except (TypeError, msgspec.EncodeError):
        return repr(entry).encode()


class ReusedMarkers(OwnershipProcessor):
    """octoDNS's ``OwnershipProcessor`` with the same TXT markers, built once per name.

    The processor adds a marker record ``<txt_name>.<type>.<name>`` for every record of every
    sync, a ``Record.new`` each (10,000 a cycle at 10,000 records). Marker records are values
    (name, TTL, the owner id), so a long-running sync hands out the one it built for a name
    the last time. The names and data are octoDNS's (``tests/test_memory.py`` compares them
    with the processor's own). ``reuse_markers`` puts this class just above
    ``OwnershipProcessor`` in a processor's class, so a subclass's own ``process_source_zone``
    (``RancherOwnership``'s checks) still runs and reaches this one through ``super()``.
    """

    def process_source_zone(self, desired: Any, sources: Any, lenient: bool = False) -> Any:
        markers: dict[tuple[str, str], Record] = self.__dict__.setdefault("_markers", {})
        data = {"type": "TXT", "ttl": self.txt_ttl, "value": self.txt_value}
        for record in desired.records:
            if self._is_ownership(record):
                continue
            record_name = record.name.replace("*", "_wildcard")
            if record.name:
                name = f"{self.txt_name}.{record._type}.{record_name}"
            else:
                name = f"{self.txt_name}.{record._type}"
            txt = markers.get((desired.name, name))
            if txt is None:
                txt = markers[(desired.name, name)] = Record.new(desired, name, dict(data))
            desired.add_record(txt, lenient=True, replace=self.should_replace)
        return desired


def reuse_markers(processor: Any) -> Any:
    """``processor`` with ``ReusedMarkers`` in place of octoDNS's marker step when it is an
    ``OwnershipProcessor``; otherwise unchanged. The same object, its settings kept."""
    cls = type(processor)
    if not isinstance(processor, OwnershipProcessor) or isinstance(processor, ReusedMarkers):
        return processor
    if cls not in _REUSED:
        # (cls, ReusedMarkers): cls's own methods first, then ReusedMarkers before
        # OwnershipProcessor (C3 order), so only octoDNS's marker step is replaced.
        _REUSED[cls] = type(f"Reused{cls.__name__}", (cls, ReusedMarkers), {})
    processor.__class__ = _REUSED[cls]
    return processor


_REUSED: dict[type, type] = {}
