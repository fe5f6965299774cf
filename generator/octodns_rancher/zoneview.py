"""octoDNS's ``Zone`` whose set of records is built once until the zone changes.

``Zone.records`` builds a new set of every record on each access, hashing each record through
its Python ``__hash__``. One ``Manager.sync`` reads it about a dozen times per zone (planning,
the ownership processor, the plan's safety check, its log line), which at 20,000 record sets
is a third of a ``watch --apply`` cycle's CPU for a one-record change. ``remember_records``
turns a zone that a source or a target fills (the watch's ``MemorySource``, a ``ZoneCache``
target) into this subclass: the same object, the same records, the set built at the first read
after a change and handed out as a copy (callers may change what they get).
"""

from __future__ import annotations

from typing import Any

from octodns.zone import Zone


class RememberedRecordsZone(Zone):
    """A ``Zone`` that remembers ``records`` until ``add_record`` or ``remove_record``."""

    @property
    def records(self) -> set[Any]:
        if self._origin:
            return self._origin.records
        known = self.__dict__.get("_known_records")
        if known is None:
            known = self.__dict__["_known_records"] = Zone.records.fget(self)
        return set(known)  # a copy reuses the stored hashes: no record is hashed again

    def add_record(self, record: Any, replace: bool = False, lenient: bool = False) -> None:
        self.__dict__.pop("_known_records", None)
        return super().add_record(record, replace=replace, lenient=lenient)

    def remove_record(self, record: Any) -> None:
        self.__dict__.pop("_known_records", None)
        return super().remove_record(record)


def remember_records(zone: Any) -> Any:
    """``zone`` as a ``RememberedRecordsZone`` when it is a plain octoDNS ``Zone``."""
    if type(zone) is Zone:
        zone.__class__ = RememberedRecordsZone
    return zone
