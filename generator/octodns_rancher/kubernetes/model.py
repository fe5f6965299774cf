"""Services and Ingresses as plain, typed data, read defensively from the API's JSON.

The API server validates what it stores, but this stage does not trust it: a proxy, a buggy
admission webhook or a lying server can send anything. A field of the wrong type makes its
object unreadable: it is skipped with a warning naming it (kind, namespace, name), and the
rest of the cluster is still published. A list that is not a list fails the run: it cannot be
trusted to be complete.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import msgspec

from ..desired import Origin
from ..errors import MetadataError
from .memo import by_identity

log = logging.getLogger(__name__)

# Longer names or values than the API itself allows are not read (names: 253, labels: 63+253,
# annotations: 256 KiB in all).
_MAX_NAME = 253
_MAX_ANNOTATIONS = 256 * 1024
_MAX_LABEL_KEY = 253 + 1 + 63  # prefix/name
_MAX_LABEL_VALUE = 63
# metadata.name and metadata.namespace: lower-case ASCII letters, digits, '-' and '.'.
_PLAIN_NAME = re.compile(rf"[a-z0-9.-]{{1,{_MAX_NAME}}}")
# metadata.creationTimestamp: RFC 3339, as the API server writes it (2024-01-31T12:00:00Z).
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)
# The API server's own form: whole seconds, in UTC.
_SERVER_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
# The creation time of an object without a valid one: after every real time, so that such an
# object never takes a name another object holds (docs/safety.md).
UNKNOWN_TIME = "~"


class ClusterError(MetadataError):
    """The cluster was unreachable or its answer cannot be read as a whole: the run must not
    be trusted. A MetadataError: the watch loop's health and metrics treat the API server as
    they treat rancher-metadata (the source's server)."""


class KubeRef(Origin, frozen=True, gc=False):
    """The Service or Ingress behind a record; written as ``octodns: kubernetes: {...}``."""

    source: ClassVar[str] = "kubernetes"

    kind: str
    namespace: str
    name: str
    uid: str

    def annotation(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "namespace": self.namespace, "uid": self.uid}

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    def comment(self) -> str:
        return f"Kubernetes {self.kind} {self.namespace}/{self.name} ({self.uid})"


class LoadBalancerIngress(msgspec.Struct, frozen=True, gc=False):
    """One entry of ``status.loadBalancer.ingress``: an address or a host name."""

    ip: str = ""
    hostname: str = ""


class KubeObject(msgspec.Struct, frozen=True, gc=False):
    """A Service or an Ingress: what the rules read of either."""

    ref: KubeRef
    created: str  # metadata.creationTimestamp in UTC, sortable text (``creation_time``)
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    service_type: str = ""  # Services: spec.type
    ingress_class: str = ""  # Ingresses: spec.ingressClassName or the legacy annotation
    hosts: tuple[str, ...] = ()  # Ingresses: spec.rules[].host, then spec.tls[].hosts[]
    load_balancer: tuple[LoadBalancerIngress, ...] = ()


class Cluster(msgspec.Struct, frozen=True, gc=False):
    name: str
    services: tuple[KubeObject, ...]
    ingresses: tuple[KubeObject, ...]


LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class _Unreadable(Exception):
    """An object field of the wrong type: the object is skipped."""


def build(name: str, services: Any, ingresses: Any, memo: dict[str, Any] | None = None) -> Cluster:
    """A Cluster from the ``items`` of a ServiceList and an IngressList.

    ``memo``: kept by a long-running caller between builds; an item that is the very object
    (``is``) it was the last time is not read again (the watch keeps each object's dict until
    an event replaces it).
    """
    return Cluster(
        name=name,
        services=_objects("Service", services, memo),
        ingresses=_objects("Ingress", ingresses, memo),
    )


def _objects(kind: str, items: Any, memo: dict[str, Any] | None) -> tuple[KubeObject, ...]:
    if not isinstance(items, list):
        raise ClusterError(f"the {kind} list's items are {type(items).__name__}, not a list")
    kept = memo.setdefault(kind, {}) if memo is not None else None
    objects = by_identity(kept, items, lambda raw, i: read_object(kind, raw, i))
    out = [obj for obj in objects if obj is not None]
    out.sort(key=_by_name)
    return tuple(out)


def _by_name(o: KubeObject) -> tuple[str, str]:
    return (o.ref.namespace, o.ref.name)


def read_object(kind: str, raw: Any, index: int = 0) -> KubeObject | None:
    """One object, or None (with a warning naming it) when it cannot be read."""
    if not isinstance(raw, dict):
        log.warning("%s #%d of the list is %s, not an object; skipped", kind, index, _type(raw))
        return None
    meta = raw.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    namespace, name = meta.get("namespace"), meta.get("name")
    who = f"{kind} {display(namespace)}/{display(name)}"
    try:
        if not _plain_name(namespace) or not _plain_name(name):
            raise _Unreadable("metadata.namespace and metadata.name must be DNS labels")
        spec = _mapping(raw.get("spec"), "spec")
        status = _mapping(raw.get("status"), "status")
        annotations = _strings(meta.get("annotations"), "metadata.annotations")
        if sum(len(k) + len(v) for k, v in annotations.items()) > _MAX_ANNOTATIONS:
            raise _Unreadable("metadata.annotations are larger than the API allows")
        ref = KubeRef(kind=kind, namespace=namespace, name=name, uid=_text(meta.get("uid"), "uid"))
        common: dict[str, Any] = {
            "ref": ref,
            "created": creation_time(
                _text(meta.get("creationTimestamp"), "metadata.creationTimestamp")
            ),
            "labels": _labels(meta.get("labels")),
            "annotations": annotations,
            "load_balancer": _load_balancer(status),
        }
        if kind == "Service":
            return KubeObject(service_type=_text(spec.get("type"), "spec.type"), **common)
        cls = _text(spec.get("ingressClassName"), "spec.ingressClassName")
        return KubeObject(
            ingress_class=cls or annotations.get(LEGACY_CLASS_ANNOTATION, ""),
            hosts=_ingress_hosts(spec),
            **common,
        )
    except _Unreadable as e:
        log.warning("%s: %s; skipped", who, e)
        return None


@functools.lru_cache(maxsize=4096)
def creation_time(text: str) -> str:
    """An RFC 3339 time as UTC text that sorts as the times do; ``UNKNOWN_TIME`` when ``text``
    is empty or not such a time.

    Compared as text, ``00:00:00.5Z`` would come before ``00:00:00Z`` and ``2019`` before
    every full time: an object with a made-up timestamp could take a name in use. The fields
    are read from the match (``datetime.fromisoformat`` takes ``Z`` only from Python 3.11),
    and the API server's own form, whole seconds in UTC, needs no time zone arithmetic: it is
    the common case, once per object, and most objects have times of their own.
    """
    if len(text) == 20 and _SERVER_TIME.fullmatch(text):
        try:
            datetime.fromisoformat(text[:19])  # a real date and time (no month 13)
        except ValueError:
            return UNKNOWN_TIME
        return f"{text[:19]}.000000+00:00"
    m = _RFC3339.fullmatch(text)
    if m is None:
        return UNKNOWN_TIME
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    try:
        when = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
        if zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            when -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    except (ValueError, OverflowError):
        return UNKNOWN_TIME
    return when.replace(tzinfo=timezone.utc).isoformat(timespec="microseconds")


def _labels(value: Any) -> dict[str, str]:
    labels = _strings(value, "metadata.labels")
    for k, v in labels.items():
        if len(k) > _MAX_LABEL_KEY or len(v) > _MAX_LABEL_VALUE:
            raise _Unreadable(f"metadata.labels[{display(k)}] is longer than the API allows")
    return labels


def display(value: Any) -> str:
    """A value as logs may show it: printable text as is, anything else as its repr, cut short."""
    if isinstance(value, str) and value.isprintable() and len(value) <= _MAX_NAME:
        return value or "(none)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_PLAIN_NAME.fullmatch(value))


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Unreadable(f"{where} is {_type(value)}, not an object")
    return value


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Unreadable(f"{where} is {_type(value)}, not a string")
    return value


def _strings(value: Any, where: str) -> dict[str, str]:
    mapping = _mapping(value, where)
    for k, v in mapping.items():
        if not isinstance(v, str):
            raise _Unreadable(f"{where}[{display(k)}] is {_type(v)}, not a string")
    return mapping


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Unreadable(f"{where} is {_type(value)}, not a list")
    return value


def _load_balancer(status: dict[str, Any]) -> tuple[LoadBalancerIngress, ...]:
    lb = _mapping(status.get("loadBalancer"), "status.loadBalancer")
    out = []
    for i, item in enumerate(_list(lb.get("ingress"), "status.loadBalancer.ingress")):
        where = f"status.loadBalancer.ingress[{i}]"
        item = _mapping(item, where)
        out.append(
            LoadBalancerIngress(
                ip=_text(item.get("ip"), where + ".ip"),
                hostname=_text(item.get("hostname"), where + ".hostname"),
            )
        )
    return tuple(out)


def _ingress_hosts(spec: dict[str, Any]) -> tuple[str, ...]:
    hosts = []
    for i, rule in enumerate(_list(spec.get("rules"), "spec.rules")):
        host = _text(_mapping(rule, f"spec.rules[{i}]").get("host"), f"spec.rules[{i}].host")
        if host:
            hosts.append(host)
    for i, tls in enumerate(_list(spec.get("tls"), "spec.tls")):
        where = f"spec.tls[{i}].hosts"
        for j, host in enumerate(_list(_mapping(tls, f"spec.tls[{i}]").get("hosts"), where)):
            host = _text(host, f"{where}[{j}]")
            if host:
                hosts.append(host)
    return tuple(dict.fromkeys(hosts))
