"""Turn desired records into octoDNS zone YAML.

Records go through octoDNS's own validators (so whatever octoDNS would reject fails here,
naming the record) and come out in the layout ``YamlProvider`` writes with octoDNS's natural-order
dumper: same input, byte-identical file, accepted by ``octodns-validate``'s order enforcement.

At 10,000 records, building an octoDNS ``Record`` per record and dumping with the pure-Python
emitter took over 15 s, mostly in parsing every address three times and in PyYAML's representer.
``render_octodns`` therefore validates each distinct address once, builds the record data that
``Record.data`` would give, and writes it with ``zoneyaml.dump_zone``. Tests compare all of it byte
for byte with ``safe_dump(zone_data(build_zone(...)))``.

Before anything is rendered, in every output format, ``check_records`` refuses the whole run if
any record has a name that is not a valid hostname strictly below the run's subtrees
(``<environment>.<zone>`` for Rancher), or an address of a class that is never published
(``addresses``). The record rules already leave such records out with a warning; this is the
last line, for records from any source.

Each record carries ``octodns.<source>`` with the object it was made for (its ``Origin``:
``rancher: {service, stack, uuid}``, ``kubernetes: {kind, namespace, name, uid}``). octoDNS
ignores unknown keys there; reviewers see which object a change comes from, and Rancher's
write-back reads the mapping from the file instead of guessing it back from names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import Any, NamedTuple

from octodns.idna import IdnaError, idna_decode, idna_encode
from octodns.record import Record, ValidationError
from octodns.record.base import ValueMixin, ValuesMixin
from octodns.record.ip import IpValueValidator, _IpValue
from octodns.zone import Zone

from .addresses import parse as parse_address
from .addresses import refusal_of_text
from .desired import DesiredRecord
from .errors import RancherDnsError
from .names import check_zone, is_below, name_problem, printable
from .publish import remember
from .zoneyaml import dump_zone


class UnsafeRecordError(RancherDnsError):
    """A record that must never reach a file: its name or one of its addresses is refused."""


class OutsideSubtreeError(UnsafeRecordError):
    """A record lies outside the run's subtrees (such as ``<environment>.<zone>``), the only
    names it may manage."""


def check_records(
    records: Iterable[DesiredRecord],
    zone: str,
    *,
    subtrees: Sequence[str] | None = None,
) -> None:
    """Refuse the run if any record may not be written, whatever produced it.

    Every name must be a valid hostname (``names``) strictly below one of ``subtrees`` (fully
    qualified: the source's, such as ``<environment>.<zone>``), else below ``zone``; and no
    value an address of a refused class (``addresses``). Values that are no address at all are
    left to octoDNS's validators.
    """
    zone = check_zone(zone)
    if not subtrees:
        subtrees = (zone,)
    refused: dict[str, str | None] = {}  # by value: most records share their addresses
    for r in records:
        fqdn = f"{r.name}.{zone}"
        problem = name_problem(fqdn)
        if problem:
            raise UnsafeRecordError(
                f"record {printable(fqdn)} {r.type} of {_origin(r)}: {problem}; "
                "refusing to write it"
            )
        if not any(is_below(fqdn, allowed) for allowed in subtrees):
            raise OutsideSubtreeError(
                f"record {fqdn} {r.type} of {_origin(r)} lies outside {', '.join(subtrees)}; "
                "refusing to write it"
            )
        for value in r.values:
            if type(value) is not str:
                continue  # octoDNS's validators name it
            try:
                why = refused[value]
            except KeyError:
                why = refused[value] = refusal_of_text(value)
            if why:
                raise UnsafeRecordError(
                    f"record {fqdn} {r.type} of {_origin(r)}: address "
                    f"{printable(value)} is {why}; refusing to write it"
                )


def _origin(r: DesiredRecord) -> str:
    return printable(r.origin.describe())


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
    data: dict[str, Any] = {"type": r.type, "ttl": r.ttl}
    cls = Record.registered_types().get(r.type)
    if cls is not None and not issubclass(cls, ValuesMixin) and len(r.values) == 1:
        data["value"] = r.values[0]  # a single-value type such as CNAME
    else:
        data["values"] = list(r.values)
    data["octodns"] = {r.origin.source: r.origin.annotation()}
    return data


def build_zone(
    records: Iterable[DesiredRecord],
    zone: str | Zone,
    *,
    subtrees: Sequence[str] | None = None,
) -> Zone:
    """An octoDNS ``Zone`` holding ``records``; raises RancherDnsError naming a rejected record.

    ``zone`` is a zone name, or an existing ``Zone`` to add the records to. Every record must
    pass ``check_records`` for ``zone`` and ``subtrees`` first.
    """
    _ensure_validators()
    records = list(records)
    check_records(records, zone.name if isinstance(zone, Zone) else zone, subtrees=subtrees)
    z = zone if isinstance(zone, Zone) else Zone(f"{zone.rstrip('.')}.", [])
    for r in records:
        try:
            z.add_record(Record.new(z, r.name, record_data(r)))
        except ValidationError as e:
            reasons = "; ".join(str(x) for x in e.reasons)
            raise RancherDnsError(
                f"record {r.name}.{z.decoded_name.rstrip('.')} of {r.origin.describe()} "
                f"rejected by octoDNS: {reasons}"
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


def render_octodns(
    records: Iterable[DesiredRecord],
    zone: str,
    *,
    subtrees: Sequence[str] | None = None,
) -> str:
    """The zone file's text: what ``safe_dump(zone_data(build_zone(records, zone)))`` writes.

    Raises UnsafeRecordError unless every record passes ``check_records`` for ``zone`` and
    ``subtrees``.
    """
    records = list(records)
    check_records(records, zone, subtrees=subtrees)
    data = records_data(records, zone)
    if data is None:
        data = zone_data(build_zone(records, zone))
    _check_cnames(data, zone)
    text = dump_zone(data)
    # The guards and the summary read this text back: hand them its content instead.
    remember(text, data)
    return text


def _check_cnames(data: dict[str, Any], zone: str) -> None:
    """Refuse a CNAME beside other records at one name, as octoDNS's zone validator does."""
    for name, value in data.items():
        if isinstance(value, list) and any(v.get("type") == "CNAME" for v in value):
            fqdn = f"{name}.{zone.rstrip('.')}" if name else zone.rstrip(".")
            owners = sorted({_owner(v) for v in value})
            raise RancherDnsError(
                f"record {fqdn}: a CNAME cannot coexist with other records "
                f"({', '.join(owners)}); refusing to write"
            )


def _owner(record: dict[str, Any]) -> str:
    for source, fields in (record.get("octodns") or {}).items():
        return f"{source} {'/'.join(str(v) for v in fields.values())}"
    return "unannotated"


def records_data(records: Iterable[DesiredRecord], zone: str) -> dict[str, Any] | None:
    """``zone_data(build_zone(records, zone))`` without an octoDNS ``Record`` per record.

    Each record is validated by octoDNS's validators for its type, with every distinct value
    checked once (address validators look at one value at a time), and its values are normalised
    and sorted by octoDNS's own value class, as ``Record`` does. None when a record is not of a
    plain multi-value type such as A or AAAA, or the zone has sub-zones: then build the zone.
    """
    entries = validated_entries(records, zone)
    return None if entries is None else entries_data(entries, zone)[0]


class Entry(NamedTuple):
    """One validated record: its key in the zone, its name as the file writes it, its data."""

    record: DesiredRecord
    key: tuple[str, str]  # (encoded name, type)
    decoded: str
    data: dict[str, Any]


def validated_entries(records: Iterable[DesiredRecord], zone: str) -> list[Entry] | None:
    """Each record validated and turned into the data ``Record.data`` gives (see
    ``records_data``); None when a record needs an octoDNS zone built instead."""
    _ensure_validators()
    z = Zone(f"{zone.rstrip('.')}.", [])
    if z.sub_zones:
        return None
    classes = Record.registered_types()
    disabled = z.disabled_record_validators
    # Normalised values by record type, then by the value as the record holds it.
    normalised: dict[str, dict[str, Any]] = {}
    checked: dict[str, dict[str, Any]] = {}  # by type: see _checked_values
    ip_checks: dict[str, dict[str, Any] | None] = {}  # by type: see _ip_checks
    out: list[Entry] = []
    for r in records:
        cls = classes.get(r.type)
        if cls is not None and issubclass(cls, ValueMixin) and len(r.values) == 1:
            name, d = _single_value(r, cls, z, disabled)
            out.append(Entry(r, (name, r.type), _decoded_name(name), d))
            continue
        if cls is None or not issubclass(cls, ValuesMixin) or not r.values:
            return None
        seen = normalised.setdefault(r.type, {})
        name, reasons = _encoded_name(r.name)
        data = record_data(r)
        if r.type not in ip_checks:
            ip_checks[r.type] = _ip_checks(cls, disabled, r.type)
        parsed = _parsed_addresses(r.values, cls) if ip_checks[r.type] is not None else None
        fresh: list[str] = []
        checks = disabled
        if parsed is not None:
            # Every value is an address of the record's family, read by the same ipaddress
            # class octoDNS's address validator uses: only the other validators run.
            seen.update(zip(r.values, parsed, strict=True))
            checks = ip_checks[r.type]
        elif fresh := [v for v in dict.fromkeys(r.values) if v not in seen]:
            data["values"] = fresh
        else:
            # All its values were checked with an earlier record: the record validators need
            # a value, the value validators need not parse it again.
            data["values"] = [r.values[0]]
            checks = checked.get(r.type) or checked.setdefault(
                r.type, _checked_values(disabled, r.type)
            )
        fqdn = f"{name}.{z.name}" if name else z.name
        reasons.extend(str(x) for x in cls.validate(name, fqdn, data, disabled=checks))
        if reasons:
            raise RancherDnsError(
                f"record {r.name}.{z.decoded_name.rstrip('.')} of {r.origin.describe()} "
                f"rejected by octoDNS: {'; '.join(reasons)}"
            )
        for v in fresh:
            seen[v] = cls._value_type.process([v])[0]
        values = sorted([seen[v] for v in r.values])
        # record_data(r) without its values, as Record.data gives it.
        d: dict[str, Any] = {"type": r.type, "ttl": int(r.ttl), "octodns": data["octodns"]}
        if len(values) == 1:
            d["value"] = values[0]
        else:
            d["values"] = values
        out.append(Entry(r, (name, r.type), _decoded_name(name), d))
    return out


def entries_data(
    entries: Iterable[Entry], zone: str
) -> tuple[dict[str, Any] | None, dict[str, tuple[DesiredRecord, ...]]]:
    """The zone file's mapping of validated entries, and the records at each of its names.

    A second record of one name and type is refused, naming it; (None, {}) for a duplicate of
    a single-value type, whose zone octoDNS builds to name it.
    """
    by_key: dict[tuple[str, str], Entry] = {}
    for e in entries:
        if e.key in by_key:
            if len(e.record.values) == 1 and issubclass(
                Record.registered_types()[e.record.type], ValueMixin
            ):
                return None, {}
            r = e.record
            raise RancherDnsError(
                f"record {r.name}.{zone.rstrip('.')} of {r.origin.describe()} "
                f"rejected by octoDNS: duplicate record, type {r.type}"
            )
        by_key[e.key] = e
    out: dict[str, list[dict[str, Any]]] = {}
    owners: dict[str, list[DesiredRecord]] = {}
    for key in sorted(by_key):
        e = by_key[key]
        out.setdefault(e.decoded, []).append(e.data)
        owners.setdefault(e.decoded, []).append(e.record)
    data = {k: v[0] if len(v) == 1 else v for k, v in out.items()}
    return data, {k: tuple(v) for k, v in owners.items()}


def _single_value(
    r: DesiredRecord, cls: Any, z: Zone, disabled: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """(encoded name, record data) of a single-value record (CNAME), validated as ``Record``."""
    name, reasons = _encoded_name(r.name)
    data = record_data(r)
    fqdn = f"{name}.{z.name}" if name else z.name
    reasons.extend(str(x) for x in cls.validate(name, fqdn, data, disabled=disabled))
    if reasons:
        raise RancherDnsError(
            f"record {r.name}.{z.decoded_name.rstrip('.')} of {r.origin.describe()} "
            f"rejected by octoDNS: {'; '.join(reasons)}"
        )
    value = cls._value_type.process(data["value"])
    return name, {"type": r.type, "ttl": int(r.ttl), "octodns": data["octodns"], "value": value}


def _ip_checks(cls: Any, disabled: dict[str, Any], rtype: str) -> dict[str, Any] | None:
    """``disabled`` plus octoDNS's address validators of ``rtype``, for values that
    ``_parsed_addresses`` read; None when ``rtype``'s values are not addresses.

    octoDNS's ``IpValueValidator`` accepts a value when its value class's ``_address_type``
    (``IPv4Address``, ``IPv6Address``) reads it, and the value class normalises it to that
    address's text: ``addresses.parse`` has read every value already, with the same class, for
    ``check_records``. Other value validators, if any are enabled, still run.
    """
    value_type = getattr(cls, "_value_type", None)
    if not (isinstance(value_type, type) and issubclass(value_type, _IpValue)):
        return None
    if value_type._address_type not in (IPv4Address, IPv6Address):
        return None
    registry = Record.validators
    out = {key: set(ids) for key, ids in disabled.items()}
    for key in ("*", rtype):
        ids = {
            vid
            for vid, validator in registry.active_value.get(key, {}).items()
            if type(validator) is IpValueValidator
        } - set(registry.active_record.get(key, {}))
        if ids:
            out[key] = out.get(key, set()) | ids
    return out


def _parsed_addresses(values: Sequence[str], cls: Any) -> list[str] | None:
    """Each value's normalised text, when every one is an address of ``cls``'s family."""
    family = cls._value_type._address_type
    out = []
    for v in values:
        if type(v) is not str:
            return None
        try:
            ip, _ = parse_address(v)
        except ValueError:
            return None
        if type(ip) is not family:
            return None
        # ipaddress reads IPv4 only in its canonical text; IPv6 is normalised.
        out.append(v if family is IPv4Address else str(ip))
    return out


def _checked_values(disabled: dict[str, Any], rtype: str) -> dict[str, Any]:
    """``disabled`` validators plus the value validators of ``rtype``, for values checked before.

    Value validators look at the values alone (``Record.validators.process_values``), so a
    value they passed once passes again. Only ids that name no record validator of the same
    key are added (the two kinds share ``disabled``), and octoDNS runs ids starting with
    ``_`` whatever ``disabled`` says.
    """
    registry = Record.validators
    out = {key: set(ids) for key, ids in disabled.items()}
    for key in ("*", rtype):
        values = set(registry.active_value.get(key, {})) - set(registry.active_record.get(key, {}))
        if values:
            out[key] = out.get(key, set()) | values
    return out


def _encoded_name(name: str) -> tuple[str, list[str]]:
    """A record name as octoDNS's ``Record.new`` encodes it, and the reasons it is invalid.

    ``idna_encode`` lower-cases each label and leaves ASCII labels alone: an ASCII name is
    its lower-case text, without the per-label work (10,000 names a large run).
    """
    reasons: list[str] = []
    if not name:
        encoded = ""
    elif type(name) is str and name.isascii():
        encoded = name.lower()
    else:
        try:
            encoded = idna_encode(str(name))
        except IdnaError as e:
            reasons.append(str(e))
            encoded = str(name)
    if " " in encoded or "\t" in encoded:
        reasons.append("invalid record, whitespace is not allowed")
    return encoded, reasons


def _decoded_name(name: str) -> str:
    """``idna_decode(name)`` of an encoded name: only labels starting ``xn--`` change."""
    if not name:
        return name
    lowered = name.lower()
    return lowered if "xn--" not in lowered else idna_decode(name)
