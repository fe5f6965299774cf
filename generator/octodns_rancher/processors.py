"""octoDNS processors of our own, for what octoDNS does not ship."""

from __future__ import annotations

import logging

from octodns.processor.base import BaseProcessor
from octodns.processor.ownership import OwnershipException, OwnershipProcessor
from octodns.provider.plan import Plan
from octodns.record import Create, Delete, Record, Update

from .rancher_state import StateRule


class UpsertOnlyPolicy(BaseProcessor):
    """Drop deletions from every plan: records are created and updated, never removed.

    external-dns calls this ``--policy=upsert-only``. Use it where records must outlive the
    services behind them (for example during a migration between environments).
    """

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.log = logging.getLogger(f"{self.__class__.__name__}[{name}]")

    def process_plan(self, plan, sources, target, lenient=False):
        if not plan:
            return plan
        kept = [c for c in plan.changes if not isinstance(c, Delete)]
        dropped = len(plan.changes) - len(kept)
        if not dropped:
            return plan
        self.log.info("upsert-only: keeping %d record(s) that a sync would delete", dropped)
        return _replan(plan, kept)


def _flag(value: object) -> bool:
    """A boolean from YAML or from octoDNS's ``env/NAME`` (which gives ints or strings)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "0", "false", "no", "off"):
            return False
        if text in ("1", "true", "yes", "on"):
            return True
        raise ValueError(f"expected true/false or 1/0, got {value!r}")
    return bool(value)


def _option(processor: str, key: str, value: object) -> bool:
    try:
        return _flag(value)
    except ValueError as e:
        raise OwnershipException(f"{processor}: invalid {key}: {e}") from e


def _replan(plan, changes):
    """``plan`` with only ``changes`` (in plan order), its thresholds kept; None when empty."""
    if not changes:
        return None
    if len(changes) == len(plan.changes):
        return plan
    return Plan(
        plan.existing,
        plan.desired,
        changes,
        plan.exists,
        plan.update_pcent_threshold,
        plan.delete_pcent_threshold,
        meta=plan.meta,
    )


def _listed(records) -> str:
    """The first five records as ``fqdn TYPE``, and how many more, for a one-line error."""
    records = list(records)
    names = ", ".join(f"{r.fqdn} {r._type}" for r in records[:5])
    return names + (f" and {len(records) - 5} more" if len(records) > 5 else "")


class RancherOwnership(OwnershipProcessor):
    """octoDNS's ``OwnershipProcessor``, strict about records we did not create.

    Every record we publish gets a TXT marker ``_owner.<type>.<name>`` whose value is this
    environment's owner id (external-dns's ``--txt-owner-id`` registry). The upstream processor
    already leaves unmarked records out of deletions and refuses to overwrite a record marked by
    another owner. It does, however, silently adopt an *unmarked* record that happens to carry a
    name we want, by overwriting it or by adding our marker beside it; after that, removing the
    service would delete a record someone else made. Here that is a takeover too, refused
    with one error listing the records unless ``allow_takeover`` is set (for one run:
    ``allow_takeover: env/OCTODNS_ALLOW_TAKEOVER/0``).

    Moving from Rancher's external DNS (``rancher_state: external-dns-<uuid>``): the A records
    that service's state record lists are ours without a marker, so they are marked, updated and
    deleted with no takeover switch; everything else unmarked stays someone else's.
    ``remove_rancher_state`` lets a sync delete the state record once they all carry our marker.
    """

    def __init__(
        self,
        name: str,
        allow_takeover: object = False,
        rancher_state: str | None = None,
        remove_rancher_state: object = False,
        **kwargs,
    ) -> None:
        allow = _option(name, "allow_takeover", allow_takeover)
        super().__init__(name, allow_takeover=allow, **kwargs)
        remove = _option(name, "remove_rancher_state", remove_rancher_state)
        self.state = StateRule(name, rancher_state, remove)
        self.log = logging.getLogger(f"{self.__class__.__name__}[{name}]")

    def process_source_zone(self, desired, sources, lenient=False):
        self.state.refuse_in_desired(desired)
        return super().process_source_zone(desired, sources, lenient=lenient)

    def process_plan(self, plan, sources, target, lenient=False):
        if not plan:
            return plan
        # Upstream first: it refuses records marked by another owner, naming that owner.
        try:
            kept = super().process_plan(plan, sources, target, lenient=lenient)
        except OwnershipException as e:
            raise OwnershipException(
                f"{e} (with the rendered config: OCTODNS_ALLOW_TAKEOVER=1 for one sync)"
            ) from e
        marked = set()
        foreign = set()
        present = {}
        for record in plan.existing.records:
            if self._is_ownership(record):
                marked.add(self._decode_ownership_name(record))
            elif self._is_ownership_name(record):
                foreign.add(self._decode_ownership_name(record))
            else:
                present[(record.name, record._type)] = record
        # A records Rancher's state record lists are ours without a marker (unless another
        # owner has marked one since): adopted, updated and deleted like marked ones.
        rancher = {n for n in self.state.listed(plan.existing) if (n, "A") not in foreign}
        claims: dict[tuple[str, str], object] = {}
        for change in plan.changes:
            record = change.record
            key = (record.name, record._type)
            if self._is_ownership(record):
                if isinstance(change, Create):
                    key = self._decode_ownership_name(record)
                    if key in present and key not in marked:
                        claims[key] = present[key]
            elif (
                isinstance(change, Update)
                and key not in marked
                and not self._is_ownership_name(record)
            ):
                claims[key] = change.existing
        claims = {k: v for k, v in claims.items() if not (k[1] == "A" and k[0] in rancher)}
        if claims and not self.allow_takeover:
            raise OwnershipException(
                f"{self.id}: refusing to take over {len(claims)} record(s) that exist without "
                f"the owner marker {self.txt_value!r}: {_listed(claims.values())}; they were not created "
                "by this environment. Remove them, or set allow_takeover (env "
                "OCTODNS_ALLOW_TAKEOVER=1) for one sync to adopt them"
            )
        applied = {id(c) for c in kept.changes} if kept else set()
        pending = {f"{n} A" for n in rancher if (n, "A") not in marked}
        for change in plan.changes:
            record = change.record
            if id(change) in applied:
                continue
            if self.state.at_name(record):
                if self.state.is_state(record) and self.state.keep_change(change, pending):
                    applied.add(id(change))
            elif isinstance(change, Delete) and record._type == "A" and record.name in rancher:
                self.log.info(
                    "deleting %s A: listed in Rancher's state record, and no service publishes it",
                    record.fqdn,
                )
                applied.add(id(change))
            elif isinstance(change, Delete):
                self.log.info(
                    "keeping %s %s: it has no owner marker %r, so it is not ours to delete",
                    record.fqdn,
                    record._type,
                    self.txt_value,
                )
        return _replan(plan, [c for c in plan.changes if id(c) in applied])


class SubtreeOwnership(BaseProcessor):
    """One TXT marker claims the whole ``<environment>.<zone>`` subtree for this owner.

    The cheaper of the two ownership models (``init --ownership subtree``), and the one Rancher's
    own external DNS service had: every name below ``<environment>.<zone>`` belongs to this
    environment, so a record there that no service produces is deleted (``--policy sync``).
    Instead of a TXT marker per record (``RancherOwnership``), which doubles the record sets in
    the hosted zone (Route53 allows 10,000 per zone by default) and the values every initial
    sync sends, a single TXT record (``marker``, e.g. ``_owner.production``) holds the owner id.

    What stays guarded: a subtree whose marker names another owner is refused outright, and
    the first sync into a subtree without a marker may only create records; changing or
    deleting what is already there is a takeover, refused with the records named unless
    ``allow_takeover`` is set for that one sync (as when moving from per-record markers).

    Moving from Rancher's external DNS (``rancher_state``): the A records its state record
    lists are no takeover. The other records already in the subtree when it is claimed are
    someone else's: the marker lists them (a value ``keep/<name>/<type>`` beside the owner id)
    and no sync changes or deletes them; a service that wants such a name is a takeover.
    """

    def __init__(
        self,
        name: str,
        marker: str,
        txt_value: str,
        txt_ttl: int = 300,
        allow_takeover: object = False,
        rancher_state: str | None = None,
        remove_rancher_state: object = False,
        **kwargs,
    ) -> None:
        super().__init__(name, **kwargs)
        self.allow_takeover = _option(name, "allow_takeover", allow_takeover)
        remove = _option(name, "remove_rancher_state", remove_rancher_state)
        self.state = StateRule(name, rancher_state, remove)
        self.marker = marker
        self.txt_value = txt_value
        self.txt_ttl = txt_ttl
        self.log = logging.getLogger(f"{self.__class__.__name__}[{name}]")

    def process_source_zone(self, desired, sources, lenient=False):
        self.state.refuse_in_desired(desired)
        desired.add_record(self._marker_record(desired, set()), replace=True)
        return desired

    def process_source_and_target_zones(self, desired, existing, target, lenient=False):
        """Carry the records kept as someone else's into the desired marker."""
        keep = self._keep(desired, existing)
        if keep:
            desired.add_record(self._marker_record(desired, keep), replace=True)
        return desired, existing

    def process_plan(self, plan, sources, target, lenient=False):
        if not plan:
            return plan
        marker = self._find_marker(plan.existing)
        owners, before = _marker_values(marker)
        _, keep = _marker_values(self._find_marker(plan.desired))
        hint = "set allow_takeover (env OCTODNS_ALLOW_TAKEOVER=1) for one sync to adopt them"
        if marker is not None and owners != [self.txt_value]:
            if not self.allow_takeover:
                raise OwnershipException(
                    f"{self.id}: refusing to take over {marker.fqdn}: the subtree is claimed by "
                    f"{owners}, not {[self.txt_value]}; {hint}"
                )
            self.log.warning("taking over %s from %s", marker.fqdn, owners)
        rancher = self.state.listed(plan.existing) if marker is None else set()
        claims = []
        changes = []
        for change in plan.changes:
            record = change.record
            key = (record.name, record._type)
            if self.state.at_name(record):
                waiting = [] if marker else [f"{self.marker} TXT", *(f"{n} A" for n in rancher)]
                if self.state.is_state(record) and self.state.keep_change(change, waiting):
                    changes.append(change)
                continue
            if key in keep and isinstance(change, Delete):
                continue  # someone else's (no service wants it): never deleted
            if record.name == self.marker or isinstance(change, Create):
                changes.append(change)
                continue
            if marker is None:
                if not (record._type == "A" and record.name in rancher):
                    claims.append(change.existing)
            elif key in before:
                claims.append(change.existing)
            changes.append(change)
        if claims and not self.allow_takeover:
            why = "of a subtree without the owner marker" if marker is None else "kept as"
            raise OwnershipException(
                f"{self.id}: refusing to take over {len(claims)} record(s) {why} "
                f"{self.marker} {self.txt_value!r}: {_listed(claims)}; they were not created "
                f"by this environment. Remove them, or {hint}"
            )
        if marker is None:
            self.log.log(
                logging.WARNING if claims else logging.INFO,
                "claiming the subtree with the marker %s %r%s%s",
                self.marker,
                self.txt_value,
                f", taking over {len(claims)} record(s)" if claims else "",
                f", keeping {len(keep)} record(s) as someone else's" if keep else "",
            )
        return _replan(plan, changes)

    def _find_marker(self, zone):
        return next((r for r in zone.records if r.name == self.marker and r._type == "TXT"), None)

    def _marker_record(self, zone, keep: set[tuple[str, str]]):
        values = [self.txt_value, *(f"{KEEP}{name}/{rtype}" for name, rtype in sorted(keep))]
        return Record.new(zone, self.marker, {"type": "TXT", "ttl": self.txt_ttl, "values": values})

    def _keep(self, desired, existing) -> set[tuple[str, str]]:
        """Records of the subtree that are someone else's: those the marker already keeps and
        that still exist, and, when Rancher's state record is there as the subtree is claimed,
        every record it does not list. None of them is wanted by a service."""
        marker = self._find_marker(existing)
        wanted = {(r.name, r._type) for r in desired.records}
        present = {
            (r.name, r._type)
            for r in existing.records
            if r.name != self.marker and not self.state.at_name(r)
        }
        if marker is not None:
            owners, kept = _marker_values(marker)
            return (kept & present) - wanted if owners == [self.txt_value] else set()
        if self.state.record(existing) is None:
            return set()
        rancher = self.state.listed(existing)
        return {k for k in present - wanted if not (k[1] == "A" and k[0] in rancher)}


# A value of the subtree marker that lists a record kept as someone else's.
KEEP = "keep/"


def _marker_values(marker) -> tuple[list[str], set[tuple[str, str]]]:
    """The owner ids of a subtree marker, and the ``(name, type)`` of the records it keeps."""
    if marker is None:
        return [], set()
    owners, keep = [], set()
    for value in marker.values:
        if value.startswith(KEEP) and value.count("/") == 2:
            name, rtype = value[len(KEEP) :].split("/")
            keep.add((name, rtype))
        else:
            owners.append(value)
    return owners, keep
