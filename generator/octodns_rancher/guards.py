"""Safety rails: checks that stop a run before it writes a zone file that would wipe DNS.

A DNS generator's worst failure is silent: a metadata server that restarted answers with empty
lists, and every record is deleted. Two guards compare the new zone file with the one on disk
and refuse (raise, so nothing is written and the CLI exits 2) unless the operator says so:

- the *empty* guard: metadata with no services or no hosts (or no records at all) would empty
  a zone file that has records → refuse unless ``--allow-empty``;
- the *removal* guard: one run would remove more than ``delete_pcent_threshold`` of our
  records (octoDNS's own ``Plan.MAX_SAFE_DELETE_PCENT``, 30 %, once there are at least
  ``Plan.MIN_EXISTING_RECORDS``, 10) or more than ``max_deletes`` records → refuse unless
  ``--force``.

Records are counted as octoDNS counts them, one per (name, type), so a threshold means the same
here as in ``octodns-sync``, which applies it again when the reviewed file is pushed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from octodns.provider.plan import Plan

from .errors import ConfigError, RancherDnsError
from .names import printable
from .publish import zone_entries

log = logging.getLogger(__name__)

# octoDNS's defaults, read from octoDNS itself so the two never drift apart.
DEFAULT_DELETE_PCENT_THRESHOLD: float = Plan.MAX_SAFE_DELETE_PCENT
MIN_EXISTING_RECORDS: int = Plan.MIN_EXISTING_RECORDS
# octoDNS has no absolute limit; ours caps the blast radius of large zones, where 30 % is a lot.
DEFAULT_MAX_DELETES = 25


class EmptyMetadataError(RancherDnsError):
    """Metadata with no services or no hosts would wipe a zone that has records."""


class TooManyRemovalsError(RancherDnsError):
    """One run would remove more of our records than the thresholds allow."""


@dataclass(frozen=True)
class Thresholds:
    """How much one run may remove without ``--force``.

    ``delete_pcent_threshold`` is a fraction (0.3 = 30 %), as in octoDNS's provider option of
    the same name; ``max_deletes`` is a count, 0 for no count limit.
    """

    delete_pcent_threshold: float = DEFAULT_DELETE_PCENT_THRESHOLD
    max_deletes: int = DEFAULT_MAX_DELETES

    def __post_init__(self) -> None:
        pcent = self.delete_pcent_threshold
        if isinstance(pcent, bool) or not isinstance(pcent, (int, float)) or not 0 <= pcent <= 1:
            raise ConfigError(
                f"invalid delete_pcent_threshold {pcent!r}: expected a fraction from 0 to 1 "
                "(0.3 = 30 %)"
            )
        count = self.max_deletes
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(
                f"invalid max_deletes {count!r}: expected a whole number ≥ 0 (0 = no limit)"
            )


def check(
    empty: str,
    records: Sequence[object],
    old_text: str | None,
    new_text: str,
    path: Path,
    *,
    allow_empty: bool = False,
    force: bool = False,
    thresholds: Thresholds | None = None,
    server: str = "the source",
) -> None:
    """Run every guard; raise the first that trips. Call before writing anything.

    ``empty`` says what the source gave when it gave nothing to publish, for the empty guard's
    message (``metadata gave no hosts``); ``server`` names where its data came from.
    """
    guard_empty(empty, records, old_text, path, allow_empty)
    if allow_empty and not records:
        # Emptying the zone was asked for explicitly; asking again with --force adds nothing.
        return
    guard_removals(old_text, new_text, path, force, thresholds or Thresholds(), server)


def guard_empty(
    empty: str,
    records: Sequence[object],
    old_text: str | None,
    path: Path,
    allow_empty: bool,
) -> None:
    """Refuse to turn a zone with records into an empty one because the source came back empty.

    A metadata server that restarted or lost its data can answer with empty lists; read as
    "no services", that would delete every record. An operator who really wants an empty zone
    says so with --allow-empty.
    """
    if allow_empty or records:
        return
    existing = len(zone_entries(old_text))
    if not existing:
        return
    raise EmptyMetadataError(
        f"{empty} but {path} has {existing} name(s); refusing to empty it "
        "(pass --allow-empty if this is intended)"
    )


def guard_removals(
    old_text: str | None,
    new_text: str,
    path: Path,
    force: bool,
    thresholds: Thresholds,
    server: str = "the source",
) -> None:
    """Refuse a run that removes too many records at once, as ``octodns-sync`` would.

    ``server``: what the operator should look at first (the source's server, as ``Desired``
    names it), for the message.

    The percentage rule is octoDNS's ``Plan.raise_if_unsafe`` for deletes: only with at least
    ``MIN_EXISTING_RECORDS`` existing records, tripping when removed/existing is strictly
    greater than the threshold. The count rule trips when more than ``max_deletes`` go.
    """
    old, new = record_keys(old_text), record_keys(new_text)
    removed = sorted(old - new)
    if not removed:
        return
    existing = len(old)
    pcent = len(removed) / existing
    reasons = []
    limit = thresholds.delete_pcent_threshold
    if existing >= MIN_EXISTING_RECORDS and pcent > limit:
        reasons.append(f"more than the {limit * 100:.0f} % allowed (delete_pcent_threshold)")
    if thresholds.max_deletes and len(removed) > thresholds.max_deletes:
        reasons.append(f"more than the {thresholds.max_deletes} allowed (max_deletes)")
    if not reasons:
        return
    names = ", ".join(printable(f"{name} {rtype}") for name, rtype in removed[:5])
    more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
    message = (
        f"{path}: this run would remove {len(removed)} of {existing} record(s) "
        f"({pcent * 100:.1f} %), {' and '.join(reasons)}: {names}{more}"
    )
    if force:
        log.warning("%s; writing anyway because of --force", message)
        return
    raise TooManyRemovalsError(
        f"{message}; refusing to write (check {server}; pass --force if this is intended)"
    )


def record_keys(text: str | None) -> set[tuple[str, str]]:
    """The (name, type) pairs of a zone file's text: how octoDNS counts records."""
    keys = set()
    for name, items in zone_entries(text).items():
        for item in items:
            rtype = item.get("type", "") if isinstance(item, dict) else ""
            keys.add((name, str(rtype)))
    return keys
