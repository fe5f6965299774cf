"""Turn desired records into octoDNS zone YAML.

Records go through octoDNS's own ``Zone`` and ``Record`` (so whatever octoDNS would reject
fails here, naming the record) and are dumped with octoDNS's own sorting YAML dumper in the
layout ``YamlProvider`` writes: same input, byte-identical file, accepted by
``octodns-validate``'s order enforcement.

Each record carries ``octodns.rancher`` with the service it was made for. octoDNS ignores
unknown keys there; reviewers see which service a change comes from, and the write-back stage
reads the mapping from the file instead of guessing it back from names.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from octodns.record import Record, ValidationError
from octodns.yaml import safe_dump
from octodns.zone import Zone

from .errors import RancherDnsError
from .records import DesiredRecord

ANNOTATION = "rancher"


def _ensure_validators() -> None:
    """Validate as ``octodns-sync`` does by default (its ``legacy`` set), unless already set up.

    octoDNS enables validators from its manager config; outside a manager (the CLI here), it
    would fall back to the same set with a warning on every run.
    """
    if not Record.validators.configured:
        Record.enable_validators(("legacy",))
    if not Zone.validators.configured:
        Zone.enable_zone_validators(("legacy",))


def record_data(r: DesiredRecord) -> dict[str, Any]:
    """The octoDNS record data of a desired record, with its service annotation."""
    return {
        "type": r.type,
        "ttl": r.ttl,
        "values": list(r.values),
        "octodns": {
            ANNOTATION: {
                "service": r.service.service,
                "stack": r.service.stack,
                "uuid": r.service.uuid,
            }
        },
    }


def build_zone(records: Iterable[DesiredRecord], zone: str | Zone) -> Zone:
    """An octoDNS ``Zone`` holding ``records``; raises RancherDnsError naming a rejected record.

    ``zone`` is a zone name, or an existing ``Zone`` to add the records to.
    """
    _ensure_validators()
    z = zone if isinstance(zone, Zone) else Zone(f"{zone.rstrip('.')}.", [])
    for r in records:
        try:
            z.add_record(Record.new(z, r.name, record_data(r)))
        except ValidationError as e:
            reasons = "; ".join(str(x) for x in e.reasons)
            raise RancherDnsError(
                f"record {r.name}.{z.decoded_name.rstrip('.')} of service "
                f"{r.service.stack}/{r.service.service} rejected by octoDNS: {reasons}"
            ) from e
    return z


def zone_data(zone: Zone) -> dict[str, Any]:
    """The mapping ``YamlProvider`` would write for ``zone``: name → record or list of records."""
    data: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(zone.records):
        d = record.data
        d["type"] = record._type
        data.setdefault(record.decoded_name, []).append(d)
    return {k: v[0] if len(v) == 1 else v for k, v in data.items()}


def render_octodns(records: Iterable[DesiredRecord], zone: str) -> str:
    """The zone file's text."""
    buf = io.StringIO()
    safe_dump(zone_data(build_zone(records, zone)), buf, allow_unicode=True)
    return buf.getvalue()
