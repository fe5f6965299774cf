"""One zone file, several sources: each run owns only the names below its own subtrees.

A Rancher environment and a Kubernetes cluster can publish into the same zone file, each below
its own name (``<environment>.<zone>``, ``<cluster>.<zone>``, or the subtrees a config lists). A
run replaces the entries strictly below its subtrees and keeps every other entry as it was: the
other source's entries are written back as the zone file's writer writes them, so a file this
tool wrote keeps them byte for byte. The guards and the summary compare only the run's own
entries, so another source's records never count as removals or changes of this run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from .errors import RancherDnsError
from .publish import remember, zone_data_of
from .zoneyaml import dump_zone


def relative(subtrees: Iterable[str], zone: str) -> tuple[str, ...]:
    """The subtrees as names relative to ``zone`` (``production.example.com`` → ``production``).

    The zone itself is ``""``: every name but the apex lies below it.
    """
    zone = zone.rstrip(".").lower()
    out = []
    for s in subtrees:
        s = s.rstrip(".").lower()
        out.append("" if s == zone else s[: -len(zone) - 1])
    return tuple(out)


def owns(name: str, rel_subtrees: tuple[str, ...]) -> bool:
    """Whether the zone-relative ``name`` lies strictly below one of the subtrees."""
    name = name.lower()
    return any(name != "" if rel == "" else name.endswith("." + rel) for rel in rel_subtrees)


class SharedZone:
    """A zone file's entries split into this run's own and everyone else's."""

    def __init__(self, old_text: str | None, rel_subtrees: tuple[str, ...], path: object) -> None:
        self.old_text = old_text
        self.rel = rel_subtrees
        try:
            data = zone_data_of(old_text) if old_text else {}
        except yaml.YAMLError as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise RancherDnsError(
                f"{path} is not valid YAML ({reason}); fix or remove it; nothing was written"
            ) from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RancherDnsError(
                f"{path} is not a mapping of names to records; fix or remove it; nothing was written"
            )
        self.ours: dict[str, Any] = {}
        self.others: dict[str, Any] = {}
        for name, value in data.items():
            (self.ours if owns(str(name), self.rel) else self.others)[str(name)] = value

    def foreign(self, other_sources: Iterable[str]) -> list[tuple[str, str]]:
        """(name, owner) of this run's old entries that another source wrote: each record of
        a source carries ``octodns: {<source>: {...}}``. A run's subtrees that overlap another
        source's would replace that source's records with its own."""
        others = set(other_sources)
        found = []
        for name, value in self.ours.items():
            for record in value if isinstance(value, list) else [value]:
                meta = record.get("octodns") if isinstance(record, dict) else None
                owners = sorted(others & set(meta)) if isinstance(meta, dict) else []
                if owners:
                    found.append((name, owners[0]))
                    break
        return found

    def old_own_text(self) -> str | None:
        """The old file restricted to this run's entries (the whole text when nothing else)."""
        if not self.others or self.old_text is None:
            return self.old_text
        if not self.ours:
            return None
        return _text(self.ours)

    def merged(self, own_text: str) -> str:
        """The new file: ``own_text``'s entries with every other entry of the old file."""
        if not self.others:
            return own_text
        own = zone_data_of(own_text) or {}
        return _text({**self.others, **own})


def _text(data: dict[str, Any]) -> str:
    text = dump_zone(data)
    remember(text, data)
    return text
