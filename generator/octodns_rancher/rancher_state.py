"""Rancher's external DNS state record: which A records the old service owned.

Rancher's external DNS service kept its ownership in one TXT record set per environment, named
``external-dns-<environment uuid>.<root domain>`` (lower-cased) directly under the zone, outside
``<environment>.<zone>``. Its values are the fqdns of the A records it managed, sorted, each with
the root domain's trailing dot; each cycle it treated as its own only the A records listed there.
Providers store the values differently (Route53 and PowerDNS 4 in double quotes, some without
the final dot), so names are compared the way DNS compares them: case-insensitive, with or
without the final dot, quotes stripped.

Moving from that service, both ownership models read this record (``processors``) and the
``migrate`` preview explains it; the functions here are what they share.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from octodns.processor.ownership import OwnershipException
from octodns.record import Delete

from .errors import ConfigError

PREFIX = "external-dns-"
# Rancher's environment uuids are 36-character UUIDs; the label must stay a valid DNS label.
_UUID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?")


def check_environment_uuid(uuid: object) -> str:
    """The uuid in lower case, or a ConfigError naming it."""
    text = uuid.strip().lower() if isinstance(uuid, str) else ""
    if not _UUID.fullmatch(text):
        raise ConfigError(
            f"invalid environment uuid {uuid!r}: expected Rancher's environment uuid "
            "(letters, digits and -, at most 50), as /self/stack's environment_uuid gives it"
        )
    return text


def state_record_name(uuid: str) -> str:
    """The state record's name relative to the zone: ``external-dns-<uuid>``."""
    return PREFIX + check_environment_uuid(uuid)


def dns_name(text: str) -> str:
    """A name as DNS compares it: surrounding quotes and spaces gone, lower case, no final dot."""
    name = text.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].strip()
    return name.lower().removesuffix(".")


def relative_name(fqdn: str, zone: str) -> str | None:
    """``fqdn`` relative to ``zone`` (``""`` for the apex), or None when it lies outside."""
    name, origin = dns_name(fqdn), dns_name(zone)
    if name == origin:
        return ""
    if name.endswith("." + origin):
        return name[: -len(origin) - 1]
    return None


def listed_names(values: Iterable[str], zone: str) -> tuple[set[str], list[str]]:
    """The names a state record lists, relative to ``zone``; and the values outside the zone."""
    inside: set[str] = set()
    outside: list[str] = []
    for value in values:
        name = relative_name(value, zone)
        if name is None or not name:
            outside.append(value)
        else:
            inside.add(name)
    return inside, outside


def in_subtree(name: str, environment: str) -> bool:
    """Whether a name relative to the zone lies strictly below ``<environment>``."""
    return dns_name(name).endswith("." + dns_name(environment))


def find_state_record(records: Iterable, name: str):
    """The TXT record set called ``name`` (relative, any case) among octoDNS records, or None."""
    wanted = dns_name(name)
    return next((r for r in records if r._type == "TXT" and dns_name(r.name) == wanted), None)


class StateRule:
    """What an ownership processor makes of this environment's state record.

    ``name`` is the record's name relative to the zone (``external-dns-<uuid>``, rendered by
    ``init --environment-uuid``); the config's subtree filter lets exactly that name through,
    so the record is in the plan's ``existing`` zone and nothing else outside the subtree is.
    The zone files never hold it, so octoDNS plans its deletion on every sync: the processor
    keeps that deletion only when ``remove`` is set and our markers are in place
    (:meth:`keep_change`), and drops it otherwise.
    """

    def __init__(self, owner: str, name: object = None, remove: bool = False) -> None:
        self.owner = owner
        self.name = ""
        if name not in (None, ""):
            text = name if isinstance(name, str) else ""
            try:
                if not text.lower().startswith(PREFIX):
                    raise ConfigError(f"expected external-dns-<uuid>, got {name!r}")
                self.name = state_record_name(text[len(PREFIX) :])
            except ConfigError as e:
                raise OwnershipException(f"{owner}: invalid rancher_state: {e}") from e
        self.remove = remove
        self.log = logging.getLogger(f"{self.__class__.__name__}[{owner}]")

    def record(self, zone):
        """The state record of this environment in ``zone``, or None."""
        return find_state_record(zone.records, self.name) if self.name else None

    def at_name(self, record) -> bool:
        """Whether ``record`` has the state record's name, whatever its type: the one name
        outside the subtree the sync sees, where nothing but the state record's deletion is
        ever planned."""
        return bool(self.name) and dns_name(record.name) == self.name

    def is_state(self, record) -> bool:
        return record._type == "TXT" and self.at_name(record)

    def listed(self, zone) -> set[str]:
        """Names of ``zone`` whose A record the state record lists (relative names)."""
        records = zone.records  # a new set on every call: read it once
        state = find_state_record(records, self.name) if self.name else None
        if state is None:
            return set()
        names, _ = listed_names(state.values, zone.name)
        return {r.name for r in records if r._type == "A" and r.name in names}

    def refuse_in_desired(self, desired) -> None:
        """The zone files must not hold the state record: it is Rancher's, only ever deleted."""
        if any(self.at_name(r) for r in desired.records):
            raise OwnershipException(
                f"{self.owner}: the zone file holds {self.name}.{desired.name}, Rancher's "
                "state record; it is never published, only removed (remove it from the file)"
            )

    def keep_change(self, change, pending: Iterable[str]) -> bool:
        """Whether the plan keeps ``change`` (the state record's deletion), given the records
        that do not carry our marker yet (``pending``)."""
        fqdn = change.record.fqdn
        if not isinstance(change, Delete):
            return False
        if not self.remove:
            self.log.info(
                "keeping Rancher's state record %s; remove it once the markers are in place "
                "(remove_rancher_state, env OCTODNS_REMOVE_RANCHER_STATE=1)",
                fqdn,
            )
            return False
        waiting = sorted(pending)
        if waiting:
            self.log.warning(
                "keeping Rancher's state record %s until our markers are in place (sync once "
                "more after this one); %d not yet: %s",
                fqdn,
                len(waiting),
                ", ".join(waiting[:5])
                + (f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""),
            )
            return False
        self.log.info("removing Rancher's state record %s: every name it lists is ours", fqdn)
        return True


def uuid_from_metadata(url: str | None = None, metadata_file: str | None = None) -> str:
    """This environment's uuid, from ``/self/stack``'s ``environment_uuid`` (rancher-metadata
    at ``url``, or a snapshot file saved by ``octodns-rancher snapshot``)."""
    from .errors import MetadataError
    from .source import DEFAULT_URL, MetadataClient, load_snapshot

    if metadata_file:
        self_stack, where = load_snapshot(metadata_file).self_stack, str(metadata_file)
    else:
        client = MetadataClient(url or DEFAULT_URL, timeout=10.0)
        self_stack, where = client.get("self/stack"), f"{client.base}/self/stack"
    uuid = self_stack.get("environment_uuid") if isinstance(self_stack, dict) else None
    if not uuid:
        raise MetadataError(f"{where}: no environment_uuid in /self/stack")
    return check_environment_uuid(uuid)
