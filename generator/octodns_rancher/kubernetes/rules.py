"""The desired records of a cluster: external-dns's conventions, inside the cluster's subtree.

A pure function of the model and the settings, like Rancher's ``records``: no I/O, the same
input gives the same records in the same order, and everything skipped is logged naming the
object (``Service shop/web``) and the reason.

What is read, as external-dns reads it, so existing manifests work unchanged:

- Services of type LoadBalancer and Ingresses (networking.k8s.io/v1);
- names: an Ingress's ``spec.rules[].host`` and ``spec.tls[].hosts``, and for both kinds the
  ``external-dns.alpha.kubernetes.io/hostname`` annotation (comma-separated); optionally a
  Service without that annotation gets a name from a template;
- targets: ``status.loadBalancer.ingress`` (``ip`` → A/AAAA, ``hostname`` → CNAME), replaced
  by the ``external-dns.alpha.kubernetes.io/target`` annotation when it is set;
- TTL: the ``external-dns.alpha.kubernetes.io/ttl`` annotation (seconds, or a duration such
  as ``1m30s``), else the default;
- an object whose ``external-dns.alpha.kubernetes.io/controller`` annotation names another
  controller than ``dns-controller`` is left to that controller.

What is refused, with a warning naming the object: a name outside the subtrees (by default
strictly below ``<cluster>.<zone>``), a name or target that is not valid, a name with both
address and host name targets, more than one host name target (a CNAME holds one), and a name
another object already holds (the rule is in docs/safety.md).
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from ..desired import DesiredRecord
from ..errors import ConfigError
from . import selectors, validate
from .memo import by_identity
from .model import Cluster, KubeObject, KubeRef

log = logging.getLogger(__name__)

PREFIX = "external-dns.alpha.kubernetes.io/"
HOSTNAME = PREFIX + "hostname"
TARGET = PREFIX + "target"
TTL = PREFIX + "ttl"
CONTROLLER = PREFIX + "controller"
OUR_CONTROLLER = "dns-controller"

DEFAULT_TTL = 300
DEFAULT_SERVICE_TEMPLATE = "%{{service_name}}.%{{namespace}}.%{{cluster_name}}"
TEMPLATE_PLACEHOLDERS = ("service_name", "namespace", "cluster_name")
_PLACEHOLDER = re.compile(r"%\{\{\s*([A-Za-z_]+)\s*\}\}")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)")  # ASCII digits only, as Go's
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
MAX_TTL = 2147483647


@dataclass(frozen=True)
class KubeSettings:
    """What the rules need besides the cluster's objects."""

    zone: str
    cluster: str
    ttl: int = DEFAULT_TTL
    subtrees: tuple[str, ...] = ()  # fully qualified; default (<cluster>.<zone>,)
    namespaces: tuple[str, ...] = ()
    label_selector: str = ""
    annotation_filter: str = ""
    ingress_classes: tuple[str, ...] = ()
    unannotated_services: bool = False
    service_template: str = DEFAULT_SERVICE_TEMPLATE

    def __post_init__(self) -> None:
        zone = _checked(self.zone, "zone")
        if "." not in zone:
            raise ConfigError(f"invalid zone {self.zone!r}: expected a domain such as example.com")
        cluster = _checked(self.cluster, "cluster name")
        if "." in cluster:
            raise ConfigError(f"invalid cluster name {self.cluster!r}: expected one DNS label")
        subtrees = tuple(_checked(s, "subtree") for s in self.subtrees) or (f"{cluster}.{zone}",)
        for s in subtrees:
            if s == zone:
                # A run replaces everything below its subtrees: the whole zone would take the
                # other sources' names and every hand-made record with it.
                raise ConfigError(
                    f"subtree {s} is the whole zone: list subtrees below it "
                    f"(such as {cluster}.{zone}), each owned by this cluster alone"
                )
            if not s.endswith("." + zone):
                raise ConfigError(f"subtree {s} is not inside the zone {zone}")
        if not isinstance(self.ttl, int) or not 1 <= self.ttl <= MAX_TTL:
            raise ConfigError(f"invalid TTL {self.ttl!r}: expected seconds from 1 to {MAX_TTL}")
        unknown = sorted(
            {p for p in _PLACEHOLDER.findall(self.service_template)} - set(TEMPLATE_PLACEHOLDERS)
        )
        if unknown or not self.service_template.strip():
            raise ConfigError(
                f"invalid service template {self.service_template!r}: use "
                f"{', '.join('%{{' + p + '}}' for p in TEMPLATE_PLACEHOLDERS)}"
            )
        object.__setattr__(self, "zone", zone)
        object.__setattr__(self, "cluster", cluster)
        object.__setattr__(self, "subtrees", subtrees)
        # Parsed now so that a typo fails before the cluster is read.
        selectors.parse(self.label_selector, "label selector")
        selectors.parse(self.annotation_filter, "annotation filter")


def _checked(value: str, what: str) -> str:
    try:
        return validate.hostname(str(value).lower())
    except validate.Invalid as e:
        raise ConfigError(f"invalid {what} {value!r}: it {e}") from None


class _Claim(NamedTuple):
    """One object's wish for one name: the records it would have there."""

    rank: tuple[int, str, int, str, str]
    name: str  # relative to the zone
    fqdn: str
    records: tuple[DesiredRecord, ...]
    ref: KubeRef


def desired_records(
    cluster: Cluster, settings: KubeSettings, memo: dict[int, Any] | None = None
) -> list[DesiredRecord]:
    """Every record the cluster should have, sorted by name and type.

    ``memo``: kept by a long-running caller between calls with the same settings; an object
    that is the very one (``is``) it was the last time keeps its claims.
    """
    suffixes = tuple("." + s for s in settings.subtrees)
    per_object = by_identity(
        memo,
        _selected(cluster, settings),
        lambda obj, _: _claims(obj, cluster.name, settings, suffixes),
    )
    claims = [claim for mine in per_object for claim in mine]
    # One object per name, the first in rank order; the rule is in docs/safety.md.
    owners: dict[str, _Claim] = {}
    for claim in sorted(claims, key=itemgetter(0)):
        other = owners.get(claim.name)
        if other is None:
            owners[claim.name] = claim
        elif other.ref != claim.ref:
            log.warning(
                "%s: name %s is already taken by %s; no record",
                claim.ref.describe(),
                claim.fqdn,
                other.ref.describe(),
            )
    records = [r for claim in owners.values() for r in claim.records]
    return sorted(records, key=_record_key)


def _record_key(r: DesiredRecord) -> tuple[str, str]:
    return (r.name, r.type)


def _selected(cluster: Cluster, settings: KubeSettings) -> Iterable[KubeObject]:
    labels = selectors.parse(settings.label_selector, "label selector")
    annotations = selectors.parse(settings.annotation_filter, "annotation filter")
    namespaces = set(settings.namespaces)
    classes = set(settings.ingress_classes)
    for obj in (*cluster.services, *cluster.ingresses):
        if namespaces and obj.ref.namespace not in namespaces:
            continue
        if not labels(obj.labels) or not annotations(obj.annotations):
            log.debug(
                "%s: not selected by the label selector or annotation filter", obj.ref.describe()
            )
            continue
        controller = obj.annotations.get(CONTROLLER)
        if controller is not None and controller != OUR_CONTROLLER:
            log.debug(
                "%s: %s=%s; left to that controller", obj.ref.describe(), CONTROLLER, controller
            )
            continue
        if obj.ref.kind == "Service" and obj.service_type != "LoadBalancer":
            continue
        if obj.ref.kind == "Ingress" and classes and obj.ingress_class not in classes:
            log.debug("%s: ingress class %r is not selected", obj.ref.describe(), obj.ingress_class)
            continue
        yield obj


def _claims(
    obj: KubeObject, cluster: str, settings: KubeSettings, suffixes: tuple[str, ...]
) -> list[_Claim]:
    names = _names(obj, cluster, settings)
    if not names:
        return []
    records = _targets(obj)
    if records is None:
        return []
    ttl = _ttl(obj, settings.ttl)
    claims = []
    ref = obj.ref
    kind_order = 0 if ref.kind == "Service" else 1
    cut = len(settings.zone) + 1
    for raw, from_template in names:
        try:
            fqdn = validate.hostname(raw)
        except validate.Invalid as e:
            log.warning("%s: name %s %s; no record", ref.describe(), validate.display(raw), e)
            continue
        if not fqdn.endswith(suffixes):
            log.warning(
                "%s: name %s lies outside %s, the only names this cluster may use; no record",
                ref.describe(),
                fqdn,
                ", ".join(settings.subtrees),
            )
            continue
        if records[0][0] == "CNAME" and records[0][1][0] == fqdn + ".":
            log.warning("%s: name %s would point at itself; no record", ref.describe(), fqdn)
            continue
        name = fqdn[:-cut]
        rank = (int(not from_template), obj.created, kind_order, ref.namespace, ref.name)
        recs = tuple([DesiredRecord(name, rtype, ttl, values, ref) for rtype, values in records])
        claims.append(_Claim(rank, name, fqdn, recs, ref))
    return claims


def _names(obj: KubeObject, cluster: str, settings: KubeSettings) -> list[tuple[str, bool]]:
    """The object's names, each with whether it came from the template."""
    annotated = [h.strip() for h in obj.annotations.get(HOSTNAME, "").split(",") if h.strip()]
    names = [(h, False) for h in (*obj.hosts, *annotated)]
    if obj.ref.kind == "Service" and not names and settings.unannotated_services:
        name = _from_template(obj, cluster, settings)
        if name:
            names.append((name, True))
    return list(dict.fromkeys(names))


def _from_template(obj: KubeObject, cluster: str, settings: KubeSettings) -> str | None:
    values = {
        "service_name": _sanitize(obj.ref.name),
        "namespace": _sanitize(obj.ref.namespace),
        "cluster_name": _sanitize(cluster),
    }
    used = {p for p in _PLACEHOLDER.findall(settings.service_template)}
    empty = sorted(p for p in used if not values[p])
    if empty:
        log.warning("%s: %s sanitises to nothing; no record", obj.ref.describe(), ", ".join(empty))
        return None
    name = _PLACEHOLDER.sub(lambda m: values[m.group(1)], settings.service_template)
    return f"{name.lower().strip('.')}.{settings.zone}"


def _sanitize(value: str) -> str:
    label = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower()))
    return label.strip("-")


def _targets(obj: KubeObject) -> list[tuple[str, tuple[str, ...]]] | None:
    """[(type, values)] of the object's targets, or None (logged) when they cannot be used."""
    annotated = obj.annotations.get(TARGET)
    if annotated is not None:
        raw = [t.strip() for t in annotated.split(",") if t.strip()]
    else:
        raw = [lb.ip or lb.hostname for lb in obj.load_balancer if lb.ip or lb.hostname]
    if not raw:
        log.debug("%s: no load balancer address yet", obj.ref.describe())
        return None
    if len(raw) == 1:  # the common case: one address or one host name
        try:
            rtype, value = validate.target(raw[0])
        except validate.Invalid as e:
            log.warning("%s: %s; no record", obj.ref.describe(), e)
            return None
        return [(rtype, (value,))]
    who = obj.ref.describe()
    by_type: dict[str, dict[str, None]] = {}
    for text in raw:
        try:
            rtype, value = validate.target(text)
        except validate.Invalid as e:
            log.warning("%s: %s; no record", who, e)
            return None
        by_type.setdefault(rtype, {})[value] = None
    if "CNAME" in by_type and len(by_type) > 1:
        log.warning(
            "%s: targets mix addresses and host names (%s); a CNAME cannot sit beside other "
            "records; no record",
            who,
            validate.display(", ".join(raw)),
        )
        return None
    if len(by_type.get("CNAME", ())) > 1:
        log.warning(
            "%s: %d host name targets (%s); a CNAME holds one; no record",
            who,
            len(by_type["CNAME"]),
            validate.display(", ".join(by_type["CNAME"])),
        )
        return None
    out = []
    for rtype in ("A", "AAAA", "CNAME"):
        if rtype in by_type:
            values = sorted(by_type[rtype], key=_value_key)
            out.append((rtype, tuple(values)))
    return out


def _value_key(value: str) -> bytes:
    """Addresses in numeric order (values of one record are all of one family)."""
    family = socket.AF_INET6 if ":" in value else socket.AF_INET
    try:
        return socket.inet_pton(family, value)
    except OSError:
        return value.encode()


def _ttl(obj: KubeObject, default: int) -> int:
    raw = obj.annotations.get(TTL)
    if raw is None:
        return default
    seconds = parse_ttl(raw)
    if seconds is None:
        log.warning(
            "%s: %s=%s is not a TTL from 1 to %d seconds; using %d",
            obj.ref.describe(),
            TTL,
            validate.display(raw),
            MAX_TTL,
            default,
        )
        return default
    return seconds


def parse_ttl(raw: str) -> int | None:
    """Seconds of ``60`` or of a Go duration such as ``1m30s``; None when invalid or out of range."""
    text = raw.strip()
    if len(text) > 32:
        return None
    if text.isdigit() and text.isascii():
        seconds = int(text)
    else:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        seconds = int(sum(float(n) * _UNIT[u] for n, u in parts))
    return seconds if 1 <= seconds <= MAX_TTL else None
