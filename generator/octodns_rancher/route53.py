"""octodns-route53's provider, sending change batches as large as Route53 accepts, and no larger.

Route53 limits one ``ChangeResourceRecordSets`` request by what it holds, not by its number of
changes (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html):

- at most 1,000 ``ResourceRecord`` elements, where each value of an ``UPSERT`` counts twice;
- at most 32,000 characters in all ``Value`` elements, where an ``UPSERT``'s count twice too.

octodns-route53 counts each value once, ignores characters, and closes a batch *below* its
``max_changes``. With its default of 1000 an update touching more than ~500 values is rejected
whole ("Number of records limit of 1000 exceeded"); lowering ``max_changes`` to 500 keeps
updates safe but halves every create batch, and 500 full-length IPv6 values (39 characters)
still break the character limit when updated. This provider keeps everything octodns-route53
does (it builds the same changes, in the same order, with the same API calls) and only decides
where one request ends: each change's record sets stay in one request, and a request takes
changes in plan order for as long as both of Route53's counts stay within the limits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from octodns_route53 import Route53Provider as _UpstreamRoute53Provider

#: Route53's limits per ChangeResourceRecordSets request.
ROUTE53_MAX_VALUES = 1000
ROUTE53_MAX_VALUE_CHARACTERS = 32000
_UNBOUNDED = 2**62

Mod = dict[str, Any]


class BatchTooLarge(Exception):
    """One change alone exceeds what a single Route53 request may hold."""


def mod_weight(mod: Mod) -> tuple[int, int]:
    """(values, characters) of one change as Route53 counts them: an UPSERT's count twice."""
    records = mod["ResourceRecordSet"].get("ResourceRecords") or ()
    factor = 2 if mod["Action"] == "UPSERT" else 1
    return factor * len(records), factor * sum(len(r["Value"]) for r in records)


def request_weight(mods: Iterable[Mod]) -> tuple[int, int]:
    """(values, characters) of several changes together, as Route53 counts them."""
    values = characters = 0
    for mod in mods:
        v, c = mod_weight(mod)
        values += v
        characters += c
    return values, characters


def pack(
    groups: Iterable[Sequence[Mod]],
    max_values: int = ROUTE53_MAX_VALUES,
    max_characters: int = ROUTE53_MAX_VALUE_CHARACTERS,
) -> list[list[Mod]]:
    """Split groups of changes into requests within both limits, keeping order and groups whole.

    A group is the record sets of one octoDNS change (an update can be a DELETE, a CREATE and
    an UPSERT): Route53 applies a request atomically, so a change is never split across two.
    Groups are taken in order and a request is closed only when the next group would not fit,
    which is the fewest requests that keep the plan's order.
    """
    batches: list[list[Mod]] = []
    batch: list[Mod] = []
    values = characters = 0
    for group in groups:
        if not group:
            continue
        g_values, g_characters = request_weight(group)
        if g_values > max_values or g_characters > max_characters:
            rrset = group[0]["ResourceRecordSet"]
            raise BatchTooLarge(
                f"{rrset['Name']} {rrset['Type']}: one change counts {g_values} values and "
                f"{g_characters} characters, more than one Route53 request may hold "
                f"({max_values} values, {max_characters} characters)"
            )
        if batch and (values + g_values > max_values or characters + g_characters > max_characters):
            batches.append(batch)
            batch, values, characters = [], 0, 0
        batch.extend(group)
        values += g_values
        characters += g_characters
    if batch:
        batches.append(batch)
    return batches


class Route53Provider(_UpstreamRoute53Provider):
    """``octodns_route53.Route53Provider`` with requests sized by Route53's own counting.

    ``max_changes`` (default 1000, Route53's limit) and ``max_value_characters`` (default
    32000) are the limits per request, counted the way Route53 counts them: each value of a
    CREATE or DELETE once, of an UPSERT twice. Every other option is octodns-route53's.
    """

    def __init__(
        self,
        id: str,
        *args: Any,
        max_changes: int = ROUTE53_MAX_VALUES,
        max_value_characters: int = ROUTE53_MAX_VALUE_CHARACTERS,
        **kwargs: Any,
    ) -> None:
        for name, value, limit in (
            ("max_changes", max_changes, ROUTE53_MAX_VALUES),
            ("max_value_characters", max_value_characters, ROUTE53_MAX_VALUE_CHARACTERS),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
                raise ValueError(
                    f"{id}: {name} must be a whole number from 1 to {limit}, got {value!r}"
                )
        # Upstream's own loop (which reads self.max_changes) then never closes a batch: every
        # change reaches _really_apply once, in plan order, and is split there by our limits.
        super().__init__(id, *args, max_changes=_UNBOUNDED, **kwargs)
        self.request_max_values = max_changes
        self.request_max_characters = max_value_characters
        self.log = logging.getLogger(f"{self.__class__.__name__}[{id}]")
        self._groups: list[list[Mod]] | None = None

    # Each _mod_* call builds the record sets of one octoDNS change; upstream sorts that list in
    # place and appends it to its batch, so remembering the lists gives the change boundaries.
    def _mod_Create(self, *args: Any, **kwargs: Any) -> list[Mod]:
        return self._remember(super()._mod_Create(*args, **kwargs))

    def _mod_Update(self, *args: Any, **kwargs: Any) -> list[Mod]:
        return self._remember(super()._mod_Update(*args, **kwargs))

    def _mod_Delete(self, *args: Any, **kwargs: Any) -> list[Mod]:
        return self._remember(super()._mod_Delete(*args, **kwargs))

    def _remember(self, mods: list[Mod]) -> list[Mod]:
        if self._groups is not None:
            self._groups.append(mods)
        return mods

    def _apply(self, plan: Any) -> None:
        self._groups = []
        try:
            super()._apply(plan)
        finally:
            self._groups = None

    def _really_apply(self, batch: list[Mod], zone_id: str) -> None:
        groups = self._groups or []
        if sum(len(g) for g in groups) != len(batch):
            # Not reached through _apply as expected: treat each record set as its own change.
            groups = [[mod] for mod in batch]
        requests = pack(groups, self.request_max_values, self.request_max_characters)
        for number, request in enumerate(requests, 1):
            values, characters = request_weight(request)
            self.log.info(
                "_really_apply: request %d of %d: %d record sets, %d values and %d characters "
                "as Route53 counts them",
                number,
                len(requests),
                len(request),
                values,
                characters,
            )
            super()._really_apply(request, zone_id)
