"""A target's view of a zone kept between syncs, checked where it matters, re-read when needed.

``octodns-sync`` lists the whole zone at the provider before every plan: 67
``ListResourceRecordSets`` pages for 20,000 record sets on Route53 (14 s of an account's 5
requests per second), and 20,000 octoDNS records built from the answer, for a change of one
record. ``watch --apply`` keeps one provider between cycles and, with ``cached``, the records it
last read from it, updated from every change it applied. Planning then reads no more from the
provider than the records a plan touches:

- before a plan is applied, the record sets it changes are read back one by one (``read_back``;
  one small request each on Route53 and PowerDNS) and compared with the cached view; if any
  differs (a record changed, created or deleted by hand since), nothing is applied and
  ``StaleView`` is raised so that the caller reads the whole zone and plans again;
- a failed or rejected change, any error, ``forget()`` (at every resync interval and at start)
  drop the view, and the next plan lists the whole zone, as ``octodns-sync`` does.

A plan touching more record sets than a full listing takes requests for is checked by reading
the whole zone instead. Providers without a ``read_back`` here (or ``None`` from it) always list
the whole zone: caching without a way to check would apply changes planned on an old view.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from octodns.record import Delete, Record

from .zoneview import remember_records

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (record name relative to the zone, type)


class StaleView(Exception):
    """A record the plan changes is not at the provider as the cached view says."""


class ZoneCache:
    """Mixin for an octoDNS provider: remember the zone read from it, check before applying."""

    #: Record sets one listing request returns (Route53 gives 300 per page).
    PAGE_SIZE = 300

    def cache_state(self) -> dict[str, Any]:
        state = self.__dict__.get("_zone_cache")
        if state is None:
            state = self.__dict__["_zone_cache"] = {"zones": {}, "full_reads": 0, "checks": 0}
        return state

    def forget(self) -> None:
        """Drop every cached zone: the next plan reads the whole zone from the provider."""
        self.cache_state()["zones"].clear()

    def populate(self, zone: Any, target: bool = False, lenient: bool = False) -> bool:
        state = self.cache_state()
        if not target:
            return super().populate(zone, target=target, lenient=lenient)  # type: ignore[misc]
        remember_records(zone)
        cached = state["zones"].get(zone.name)
        if cached is None:
            exists = super().populate(zone, target=True, lenient=lenient)  # type: ignore[misc]
            state["full_reads"] += 1
            state["zones"][zone.name] = {
                "exists": exists,
                "records": {(r.name, r._type): r for r in zone.records},
                "fresh": True,
            }
            return exists
        cached["fresh"] = False
        for record in cached["records"].values():
            zone.add_record(record, lenient=True)
        return cached["exists"]

    def apply(self, plan: Any) -> int:
        state = self.cache_state()
        cached = state["zones"].get(plan.desired.name)
        try:
            if cached is not None and not cached["fresh"] and plan.exists:
                self._check(plan, cached["records"])
            applied = super().apply(plan)  # type: ignore[misc]
        except BaseException:
            self.forget()
            raise
        if cached is not None:
            records = cached["records"]
            for change in plan.changes:
                key = (change.record.name, change.record._type)
                if isinstance(change, Delete):
                    records.pop(key, None)
                else:
                    records[key] = change.new
            cached["exists"] = True
        return applied

    def _check(self, plan: Any, records: dict[Key, Record]) -> None:
        keys = list(dict.fromkeys((c.record.name, c.record._type) for c in plan.changes))
        pages = math.ceil(max(len(records), 1) / self.PAGE_SIZE)
        current = self.read_back(plan.desired, keys) if len(keys) < pages + 1 else None
        state = self.cache_state()
        state["checks"] += 1
        if current is None:
            raise StaleView(
                f"{plan.desired.name}: {len(keys)} record sets to change; reading the whole zone"
            )
        stale = [k for k in keys if current.get(k) != self.encode(records.get(k))]
        if stale:
            names = ", ".join(f"{n or '@'} {t}" for n, t in stale[:5])
            raise StaleView(
                f"{plan.desired.name}: {len(stale)} record set(s) changed at the provider since "
                f"they were read ({names}); reading the whole zone and planning again"
            )

    # -- provider-specific ------------------------------------------------------------------

    def read_back(self, zone: Any, keys: Iterable[Key]) -> dict[Key, Any] | None:
        """The provider's current record sets for ``keys``, as ``encode`` gives them (absent
        ones left out); None if this provider cannot read single record sets."""
        return None

    def encode(self, record: Record | None) -> Any:
        """A record as ``read_back`` gives it; None for no record."""
        return None


def cached(provider: Any) -> Any:
    """``provider`` turned into its ``ZoneCache`` subclass (same object, same settings).

    The provider keeps its configuration and connections; only its class changes, to one
    that adds the cache around octoDNS's ``populate`` and ``apply``. Providers without a way
    to read single record sets are returned unchanged.
    """
    from .zonecache_providers import mixin_for

    mixin = mixin_for(provider)
    if mixin is None or isinstance(provider, ZoneCache):
        return provider
    cls = type(provider)
    provider.__class__ = _subclass(mixin, cls)
    return provider


_SUBCLASSES: dict[tuple[type, type], type] = {}


def _subclass(mixin: type, cls: type) -> type:
    key = (mixin, cls)
    if key not in _SUBCLASSES:
        _SUBCLASSES[key] = type(f"Cached{cls.__name__}", (mixin, cls), {})
    return _SUBCLASSES[key]
