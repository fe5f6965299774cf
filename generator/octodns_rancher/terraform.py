"""Turn desired records into Terraform: ``aws_route53_record`` resources in JSON syntax.

The same desired state as the octoDNS zone file, for teams that manage Route53 with Terraform.
The records first go through octoDNS's own ``Zone`` and ``Record`` (``render.build_zone``), so
both outputs accept and reject exactly the same records, and the values come out in octoDNS's
order.

The file (``zones/<zone>.tf.json``) holds:

- one ``variable`` for the hosted zone id, ``zone_id_<zone>`` (dots as ``_``), so the file
  carries no account-specific id and several zones' files can sit in one module;
- one ``aws_route53_record`` per name and type with ``zone_id = "${var.zone_id_<zone>}"``,
  ``name`` (the fully qualified name), ``type``, ``ttl`` and ``records``, and a ``//`` comment
  (Terraform's JSON comment property) naming the object the record was made for (the Rancher
  service, the Kubernetes Service or Ingress), as the octoDNS file's annotation does.

Resource names are derived from the record's name and type alone, never from its values or
from the other records, so a change of IPs or TTL is an in-place update of the same address
and only a renamed service gets a new address (destroy + create). The rule, ``resource_name``:

- the usual case, every label of the name made of ``[a-z0-9-]``: the labels joined with ``_``,
  then ``_`` and the type: ``web.shop.production.example.com`` A →
  ``web_shop_production_example_com_A``. Labels never contain ``_`` and types are upper case,
  so this is one-to-one: two different names or types never share an address;
- any other name (upper case, ``_``, ``*``): the same readable form with other characters as
  ``-``, then ``__`` and the first 10 hex digits of the name's SHA-256, then ``_`` and the
  type. The plain form never contains ``__``, so the two forms cannot meet;
- a leading ``_`` when the result would start with a digit or ``-`` (Terraform identifiers
  start with a letter or ``_``).

No ``terraform { required_providers }`` block: the file is a module's worth of resources, and
the provider's version and configuration (region, credentials, ``assume_role``) belong to the
root module that uses it; Terraform resolves ``aws_*`` to ``hashicorp/aws`` without one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

from octodns.idna import idna_encode
from octodns.record import Record
from octodns.yaml import safe_dump
from octodns.zone import Zone

from .desired import DesiredRecord, Origin
from .errors import RancherDnsError
from .names import name_problem, printable
from .render import OutsideSubtreeError, build_zone, check_records, zone_data

log = logging.getLogger(__name__)

RESOURCE_TYPE = "aws_route53_record"
VARIABLE_PREFIX = "zone_id_"
# Applied with fullmatch: "$" would also match before a final newline.
_PLAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_TYPE = re.compile(r"[A-Z][A-Z0-9]*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HASH_DIGITS = 10


__all__ = [
    "OutsideSubtreeError",
    "as_octodns_text",
    "is_identifier",
    "render_terraform",
    "resource_name",
    "terraform_data",
    "terraform_entries",
    "variable_name",
]


def variable_name(zone: str) -> str:
    """The hosted zone id variable of ``zone``: ``zone_id_example_com``."""
    labels = _zone(zone).split(".")
    if not all(_PLAIN_LABEL.fullmatch(label) for label in labels):
        raise RancherDnsError(f"zone {zone!r} does not make a Terraform variable name")
    return VARIABLE_PREFIX + "_".join(labels)


def resource_name(fqdn: str, rtype: str) -> str:
    """The resource's name in ``aws_route53_record.<name>``; see the module docstring."""
    if not _TYPE.fullmatch(rtype):
        raise RancherDnsError(f"record {fqdn} has type {rtype!r}, not a DNS record type")
    labels = fqdn.rstrip(".").split(".")
    if all(_PLAIN_LABEL.fullmatch(label) for label in labels):
        stem = "_".join(labels)
    else:
        readable = "_".join(re.sub(r"[^a-z0-9-]", "-", label) for label in labels)
        digest = hashlib.sha256(fqdn.rstrip(".").encode("utf-8")).hexdigest()[:_HASH_DIGITS]
        stem = f"{readable}__{digest}"
    ident = f"{stem}_{rtype}"
    return ident if ident[0].isalpha() else f"_{ident}"


_EDIT_HINT = "Edit the source's objects, not this file."


def terraform_data(
    records: Iterable[DesiredRecord],
    zone: str,
    *,
    subtrees: Sequence[str] | None = None,
    edit_hint: str = _EDIT_HINT,
) -> dict[str, Any]:
    """The mapping the ``.tf.json`` file holds; raises if a record is outside the subtrees,
    or has an invalid name or a refused address (``render.check_records``).

    ``subtrees``: fully qualified (the source's, such as ``<environment>.<zone>``); the whole
    zone when not given. ``edit_hint``: what the file's comment tells its readers to edit.
    """
    zone = _zone(zone)
    records = list(records)
    if not subtrees:
        subtrees = [zone]
    check_records(records, zone, subtrees=subtrees)
    var = variable_name(zone)
    resources: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    origins = {(idna_encode(r.name) if r.name else "", r.type): r.origin for r in records}
    for record in build_zone(records, zone).records:
        fqdn = record.fqdn.rstrip(".")
        name = resource_name(fqdn, record._type)
        if name in owners:
            # Cannot happen with the rule above short of a hash collision; never emit two.
            raise RancherDnsError(
                f"records {owners[name]} and {fqdn} {record._type} map to the same "
                f"resource {RESOURCE_TYPE}.{name}"
            )
        owners[name] = f"{fqdn} {record._type}"
        resources[name] = _resource(record, fqdn, var, origins.get((record.name, record._type)))
    where = ", ".join(subtrees)
    data: dict[str, Any] = {
        "//": f"Generated by octodns-rancher: the records under {where}. {edit_hint}",
        "variable": {
            var: {
                "description": f"Route53 hosted zone id of {zone}",
                "type": "string",
            }
        },
    }
    if resources:
        data["resource"] = {RESOURCE_TYPE: resources}
    return data


def render_terraform(
    records: Iterable[DesiredRecord],
    zone: str,
    *,
    subtrees: Sequence[str] | None = None,
    edit_hint: str = _EDIT_HINT,
) -> str:
    """The ``.tf.json`` file's text: sorted keys, two-space indent, a final newline."""
    data = terraform_data(records, zone, subtrees=subtrees, edit_hint=edit_hint)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def terraform_entries(text: str | None) -> dict[str, list[dict[str, Any]]]:
    """Record name → its (type, ttl, records) of a ``.tf.json`` text; {} for none.

    Only for comparing two files (the summary, the empty guard), not for validating them.
    """
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    resources = data.get("resource", {}).get(RESOURCE_TYPE, {}) if isinstance(data, dict) else {}
    out: dict[str, list[dict[str, Any]]] = {}
    for body in resources.values() if isinstance(resources, dict) else ():
        if isinstance(body, dict) and "name" in body:
            entry = {k: body.get(k) for k in ("type", "ttl", "records")}
            out.setdefault(str(body["name"]), []).append(entry)
    return {k: sorted(v, key=lambda e: str(e["type"])) for k, v in out.items()}


def as_octodns_text(text: str | None, zone: str) -> str | None:
    """A ``.tf.json`` text's records as octoDNS zone YAML, in the octoDNS file's layout.

    The summary and the guards read zone YAML; with this they compare an old Terraform file
    with the new desired state exactly as they compare an old octoDNS file. Records outside
    ``zone`` are left out; nothing is validated (an old file is read, not trusted).
    """
    if text is None:
        return None
    entries = terraform_entries(text)
    zone = _zone(zone)
    z = Zone(f"{zone}.", [])
    for fqdn, items in entries.items():
        name = fqdn.rstrip(".").lower()
        if name != zone and not name.endswith("." + zone):
            continue
        rel = name[: -len(zone) - 1] if name != zone else ""
        problem = name_problem(name)
        if problem:
            # octoDNS would log the name as it is; it holds what no name we write may hold.
            log.warning("old record %s: %s; ignored", printable(fqdn), problem)
            continue
        for item in items:
            ttl = item.get("ttl")
            data = {
                "type": item.get("type"),
                "ttl": ttl if isinstance(ttl, int) else 0,
                "values": list(item.get("records") or []),
            }
            try:
                z.add_record(Record.new(z, rel, data, lenient=True), lenient=True, replace=True)
            except Exception as e:  # octoDNS raises a bare Exception for an unknown type
                log.warning(
                    "old record %s %s not understood (%s); ignored",
                    printable(fqdn),
                    printable(str(data["type"])),
                    printable(str(e)),
                )
    buf = io.StringIO()
    safe_dump(zone_data(z), buf, allow_unicode=True)
    return buf.getvalue()


def is_identifier(name: str) -> bool:
    """Whether ``name`` is a valid Terraform identifier (letters, digits, ``_``, ``-``)."""
    return bool(_IDENTIFIER.fullmatch(name))


def _resource(record: Any, fqdn: str, var: str, origin: Origin | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": fqdn,
        "records": [str(v) for v in getattr(record, "values", None) or [record.value]],
        "ttl": record.ttl,
        "type": record._type,
        "zone_id": f"${{var.{var}}}",
    }
    if origin is not None:
        body["//"] = origin.comment()
    return body


def _zone(zone: str) -> str:
    return zone.rstrip(".").lower()


def keep_others(new_text: str, old_text: str | None, subtrees: Sequence[str]) -> str:
    """``new_text`` plus the resources of ``old_text`` whose names lie outside ``subtrees``.

    Several sources share one zone's file, each owning its subtrees: a run replaces its own
    resources and keeps the others' as they were. An old file that cannot be read keeps nothing.
    """
    if not old_text:
        return new_text
    try:
        old = json.loads(old_text)
    except ValueError:
        return new_text
    olds = old.get("resource", {}).get(RESOURCE_TYPE, {}) if isinstance(old, dict) else {}
    if not isinstance(olds, dict):
        return new_text
    suffixes = tuple("." + s.rstrip(".").lower() for s in subtrees)
    others = {
        k: v
        for k, v in olds.items()
        if isinstance(v, dict) and not str(v.get("name", "")).rstrip(".").lower().endswith(suffixes)
    }
    if not others:
        return new_text
    data = json.loads(new_text)
    mine = data.get("resource", {}).get(RESOURCE_TYPE, {})
    data["resource"] = {RESOURCE_TYPE: {**others, **mine}}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
