"""octoDNS processors of our own, for what octoDNS does not ship."""

from __future__ import annotations

import logging

from octodns.processor.base import BaseProcessor
from octodns.processor.ownership import OwnershipException, OwnershipProcessor
from octodns.provider.plan import Plan
from octodns.record import Create, Delete, Record, Update


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
        if not kept:
            return None
        return Plan(plan.existing, plan.desired, kept, plan.exists, meta=plan.meta)


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
    with one error listing the records unless ``allow_takeover`` is set (for one run, e.g. when
    migrating from Rancher's external-dns: ``allow_takeover: env/OCTODNS_ALLOW_TAKEOVER/0``).
    """

    def __init__(self, name: str, allow_takeover: object = False, **kwargs) -> None:
        try:
            allow = _flag(allow_takeover)
        except ValueError as e:
            raise OwnershipException(f"{name}: invalid allow_takeover: {e}") from e
        super().__init__(name, allow_takeover=allow, **kwargs)
        self.log = logging.getLogger(f"{self.__class__.__name__}[{name}]")

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
        present = {}
        for record in plan.existing.records:
            if self._is_ownership(record):
                marked.add(self._decode_ownership_name(record))
            elif not self._is_ownership_name(record):
                present[(record.name, record._type)] = record
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
        if claims and not self.allow_takeover:
            raise OwnershipException(
                f"{self.id}: refusing to take over {len(claims)} record(s) that exist without "
                f"the owner marker {self.txt_value!r}: {_listed(claims.values())}; they were not created "
                "by this environment. Remove them, or set allow_takeover (env "
                "OCTODNS_ALLOW_TAKEOVER=1) for one sync to adopt them"
            )
        applied = {id(c) for c in kept.changes} if kept else set()
        for change in plan.changes:
            if isinstance(change, Delete) and id(change) not in applied:
                self.log.info(
                    "keeping %s %s: it has no owner marker %r, so it is not ours to delete",
                    change.record.fqdn,
                    change.record._type,
                    self.txt_value,
                )
        return kept


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
    ``allow_takeover`` is set for that one sync (as when moving from per-record markers, or
    from Rancher's external DNS).
    """

    def __init__(
        self,
        name: str,
        marker: str,
        txt_value: str,
        txt_ttl: int = 300,
        allow_takeover: object = False,
        **kwargs,
    ) -> None:
        super().__init__(name, **kwargs)
        try:
            self.allow_takeover = _flag(allow_takeover)
        except ValueError as e:
            raise OwnershipException(f"{name}: invalid allow_takeover: {e}") from e
        self.marker = marker
        self.txt_value = txt_value
        self.txt_ttl = txt_ttl
        self.log = logging.getLogger(f"{self.__class__.__name__}[{name}]")

    def process_source_zone(self, desired, sources, lenient=False):
        desired.add_record(
            Record.new(
                desired, self.marker, {"type": "TXT", "ttl": self.txt_ttl, "value": self.txt_value}
            ),
            replace=True,
        )
        return desired

    def process_plan(self, plan, sources, target, lenient=False):
        if not plan:
            return plan
        marker = next(
            (r for r in plan.existing.records if r.name == self.marker and r._type == "TXT"),
            None,
        )
        if marker is not None and list(marker.values) == [self.txt_value]:
            return plan
        hint = "set allow_takeover (env OCTODNS_ALLOW_TAKEOVER=1) for one sync to adopt them"
        if marker is not None:
            if not self.allow_takeover:
                raise OwnershipException(
                    f"{self.id}: refusing to take over {marker.fqdn}: the subtree is claimed by "
                    f"{list(marker.values)}, not {[self.txt_value]}; {hint}"
                )
            self.log.warning("taking over %s from %s", marker.fqdn, list(marker.values))
            return plan
        claims = [
            c.existing
            for c in plan.changes
            if isinstance(c, (Update, Delete)) and c.existing.name != self.marker
        ]
        if claims and not self.allow_takeover:
            raise OwnershipException(
                f"{self.id}: refusing to take over {len(claims)} record(s) of a subtree "
                f"without the owner marker {self.marker} {self.txt_value!r}: {_listed(claims)}; "
                f"they were not created by this environment. Remove them, or {hint}"
            )
        self.log.log(
            logging.WARNING if claims else logging.INFO,
            "claiming the subtree with the marker %s %r%s",
            self.marker,
            self.txt_value,
            f", taking over {len(claims)} record(s)" if claims else "",
        )
        return plan
