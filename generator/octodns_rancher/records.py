"""The desired DNS records: Rancher's external DNS rules, restricted to ``<environment>.<zone>``.

A pure function of the model and the settings: no I/O, and the same input always gives the
same records in the same order. Everything that is skipped is logged with the object and the
reason, so an operator can tell why a name is missing.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import operator
import re
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from .addresses import parse as parse_address
from .desired import DesiredRecord, Origin
from .errors import ConfigError
from .model import Container, Environment, Host, Service
from .names import check_zone, is_below, name_problem, printable

log = logging.getLogger(__name__)

LABEL_MODE = "io.rancher.service.external_dns"
LABEL_TEMPLATE = "io.rancher.service.external_dns_name_template"
LABEL_HOST_IP = "io.rancher.host.external_dns_ip"
LABEL_HOST_ENABLED = "io.rancher.host.external_dns"

DEFAULT_TEMPLATE = "%{{service_name}}.%{{stack_name}}.%{{environment_name}}"
DEFAULT_TTL = 300
SERVICE_KINDS = frozenset({"service", "loadBalancerService"})
HEALTHY = frozenset({"", "healthy", "updating-healthy"})
MODES = ("auto", "always", "never")

_PLACEHOLDER = re.compile(r"%\{\{\s*([A-Za-z_]+)\s*\}\}")
PLACEHOLDERS = ("service_name", "stack_name", "environment_name")


@dataclass(frozen=True)
class Settings:
    """What the rules need besides the metadata."""

    zone: str
    ttl: int = DEFAULT_TTL
    name_template: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", check_zone(self.zone))
        if not isinstance(self.ttl, int) or not 1 <= self.ttl <= 2147483647:
            raise ConfigError(f"invalid TTL {self.ttl!r}: expected seconds from 1 to 2147483647")
        unknown = template_errors(self.name_template)
        if unknown:
            raise ConfigError(f"invalid name template {self.name_template!r}: {unknown}")


class ServiceRef(Origin, frozen=True, gc=False):
    """The Rancher service behind a record: what the write-back and the reviewer need.

    Its annotation, ``octodns: rancher: {service, stack, uuid}``, is what the write-back reads.
    """

    source: ClassVar[str] = "rancher"

    stack: str
    service: str
    uuid: str

    def annotation(self) -> dict[str, str]:
        return {"service": self.service, "stack": self.stack, "uuid": self.uuid}

    def describe(self) -> str:
        return f"service {self.stack}/{self.service}"

    def comment(self) -> str:
        return f"Rancher service {self.stack}/{self.service} ({self.uuid})"


@functools.lru_cache(maxsize=65536)
def sanitize_label(value: str) -> str:
    """Rancher's rule: lower-case, ``[^a-z0-9-]`` to ``-``, runs collapsed, no edge ``-``.

    Cached: every service of an environment sanitises the same environment and stack names.
    """
    label = re.sub(r"[^a-z0-9-]", "-", value.lower())
    label = re.sub(r"-{2,}", "-", label)
    return label.strip("-")


def environment_label(name: str) -> str:
    label = sanitize_label(name)
    if not label or len(label) > 63:
        raise ConfigError(f"environment name {name!r} does not make a valid DNS label")
    return label


def subtree(environment: str, zone: str) -> str:
    """The only part of the zone we may write: ``<environment>.<zone>`` (and below it)."""
    return f"{environment_label(environment)}.{zone}"


@functools.lru_cache(maxsize=1024)
def template_errors(template: str) -> str:
    """'' when the template only uses Rancher's placeholders, else what is wrong with it."""
    if not template.strip():
        return "it is empty"
    unknown = sorted({p for p in _PLACEHOLDER.findall(template) if p not in PLACEHOLDERS})
    if unknown:
        return f"unknown placeholder(s) {', '.join(unknown)}; use {', '.join(PLACEHOLDERS)}"
    return ""


def render_name(template: str, service: Service, environment: str) -> str:
    """Fill the template; each placeholder value is sanitised to a DNS label first."""
    values = {
        "service_name": sanitize_label(service.name),
        "stack_name": sanitize_label(service.stack_name),
        "environment_name": sanitize_label(environment),
    }
    if not all(values.values()):
        empty = sorted({k for k in _placeholders(template) if not values[k]})
        if empty:
            raise ValueError(f"{', '.join(empty)} sanitises to nothing")
    return _format(template).format_map(values).lower().strip(".")


@functools.lru_cache(maxsize=1024)
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(_PLACEHOLDER.findall(template))


@functools.lru_cache(maxsize=1024)
def _format(template: str) -> str:
    """The template as a ``str.format`` pattern (placeholders as fields, braces doubled).

    Filling it is one call per service, where a substitution called back for each placeholder.
    """
    parts = _PLACEHOLDER.split(template)
    parts[::2] = (p.replace("{", "{{").replace("}", "}}") for p in parts[::2])
    parts[1::2] = (f"{{{p}}}" for p in parts[1::2])
    return "".join(parts)


def desired_records(env: Environment, settings: Settings) -> list[DesiredRecord]:
    """Every record the environment should have, sorted by name and type."""
    allowed = subtree(env.name, settings.zone)
    by_key: dict[tuple[str, str], DesiredRecord] = {}
    # A label cannot take the name the operator's template gives another service: services
    # named by the template come first, then those with a name-template label; within each
    # group, (stack, service) order decides (env.services is sorted so).
    ordered = sorted(env.services, key=lambda s: bool(s.labels.get(LABEL_TEMPLATE)))
    known: dict[tuple[str, str], _Address | None] = {}
    for service in ordered:
        for record in _service_records(service, env, settings, allowed, known):
            key = (record.name, record.type)
            other = by_key.get(key)
            if other is not None:
                # The first one in that order keeps the name; the rule is in docs/safety.md.
                log.warning(
                    "service %s: name %s is already taken by service %s/%s; no record",
                    service.ref,
                    record.fqdn(settings.zone),
                    other.origin.stack,
                    other.origin.service,
                )
                continue
            by_key[key] = record
    return [by_key[k] for k in sorted(by_key)]


def _service_records(
    service: Service,
    env: Environment,
    settings: Settings,
    allowed: str,
    known: dict[tuple[str, str], _Address | None],
) -> list[DesiredRecord]:
    if service.kind not in SERVICE_KINDS:
        log.debug(
            "service %s: kind %s is not published",
            service.ref,
            printable(service.kind or "unknown"),
        )
        return []
    mode = service.labels.get(LABEL_MODE, "auto").lower() or "auto"
    if mode not in MODES:
        log.warning(
            "service %s: %s='%s' is not one of %s; using auto",
            service.ref,
            LABEL_MODE,
            printable(mode),
            "/".join(MODES),
        )
        mode = "auto"
    if mode == "never":
        log.debug("service %s: %s=never", service.ref, LABEL_MODE)
        return []
    fqdn = _service_fqdn(service, env, settings, allowed)
    if fqdn is None:
        return []
    ips = _service_ips(service, env, (mode == "auto"), known)
    if not ips:
        log.debug("service %s: no eligible container with a usable IP", service.ref)
        return []
    name = fqdn[: -len(settings.zone) - 1]
    ref = ServiceRef(stack=service.stack_name, service=service.name, uuid=service.uuid)
    records = []
    # Sorted by numeric value once; each version's addresses keep that order.
    ordered = sorted(ips.values(), key=_by_value)
    for rtype, version in (("A", 4), ("AAAA", 6)):
        values = tuple([a.text for a in ordered if a.version == version])
        if values:
            records.append(DesiredRecord(name, rtype, settings.ttl, values, ref))
    return records


def _service_fqdn(
    service: Service, env: Environment, settings: Settings, allowed: str
) -> str | None:
    template = service.labels.get(LABEL_TEMPLATE) or settings.name_template
    problem = template_errors(template)
    if problem:
        log.warning(
            "service %s: name template '%s': %s; no record",
            service.ref,
            printable(template),
            problem,
        )
        return None
    try:
        name = render_name(template, service, env.name)
    except ValueError as e:
        log.warning("service %s: %s; no record", service.ref, e)
        return None
    fqdn = f"{name}.{settings.zone}"
    problem = name_problem(fqdn)
    if problem:
        log.warning("service %s: name %s: %s; no record", service.ref, printable(fqdn), problem)
        return None
    if not is_below(fqdn, allowed):
        log.warning(
            "service %s: name %s lies outside %s, the only names this environment may use; "
            "no record",
            service.ref,
            fqdn,
            allowed,
        )
        return None
    return fqdn


def _service_ips(
    service: Service,
    env: Environment,
    require_ports: bool,
    known: dict[tuple[str, str], _Address | None],
) -> dict[str, _Address]:
    """The service's usable addresses, by canonical text.

    A container's address depends only on its host and its first port (``container_ip``), and
    most containers share both with others: ``known`` holds, for this run, the address found
    for each (host, first port), or None for a host that does not publish. Containers whose
    address is unusable are not remembered, so each is still logged.
    """
    ips: dict[str, _Address] = {}
    for container in service.containers:
        if container.state != "running" or container.health_state not in HEALTHY:
            continue
        ports = container.ports
        if require_ports and not ports:
            continue
        key = (container.host_uuid, ports[0] if ports else "")
        try:
            ip = known[key]
        except KeyError:
            ip = _container_address(service, container, env)
            if ip is _UNUSABLE:
                continue
            known[key] = ip
        if ip is not None:
            ips[ip.text] = ip
    return ips


# A container whose address cannot be used (logged), unlike a host that does not publish.
_UNUSABLE: Any = object()


def _container_address(service: Service, container: Container, env: Environment) -> Any:
    """The container's usable address, None if its host does not publish, else _UNUSABLE."""
    host = env.hosts.get(container.host_uuid)
    if host is None:
        log.warning(
            "service %s: container %s runs on unknown host '%s'; skipped",
            service.ref,
            printable(container.name),
            printable(container.host_uuid or "(none)"),
        )
        return _UNUSABLE
    if host.labels.get(LABEL_HOST_ENABLED, "").lower() == "false":
        return None
    raw = container_ip(container, host)
    try:
        ip = _address(raw)
    except ValueError:
        log.warning(
            "service %s: container %s on host %s has invalid IP '%s'; skipped",
            service.ref,
            printable(container.name),
            printable(host.name),
            printable(raw),
        )
        return _UNUSABLE
    if ip.scoped:
        # fe80::1%eth0 names an interface of one machine; an AAAA record cannot hold it.
        log.warning(
            "service %s: container %s on host %s has scoped IP '%s'; skipped",
            service.ref,
            printable(container.name),
            printable(host.name),
            printable(raw),
        )
        return _UNUSABLE
    if ip.refused:
        # The classes and the reasons are in addresses.py and docs/safety.md.
        log.warning(
            "service %s: container %s on host %s has IP %s (from %s), %s; skipped",
            service.ref,
            printable(container.name),
            printable(host.name),
            ip.text,
            _origin(container, host),
            ip.refused,
        )
        return _UNUSABLE
    return ip


def _origin(container: Container, host: Host) -> str:
    """Where container_ip found the container's address, for a log line."""
    if host.labels.get(LABEL_HOST_IP, ""):
        return f"host label {LABEL_HOST_IP}"
    if container.ports and port_bind_ip(container.ports[0]) not in ("", "0.0.0.0", "::"):
        return "its first port's bind IP"
    return "the host's agent IP"


class _Address(NamedTuple):
    """What the rules need of a parsed address."""

    text: str  # canonical, as str(ipaddress) writes it
    version: int
    value: int
    refused: str  # why it may not be published (addresses.refusal), or ''
    scoped: bool  # an IPv6 address with a zone (fe80::1%eth0)


@functools.lru_cache(maxsize=65536)
def _address(raw: str) -> _Address:
    """Parse an address once per distinct text: containers share their hosts' addresses.

    Raises ValueError like ``ipaddress.ip_address``.
    """
    ip, refused = parse_address(raw)
    scoped = isinstance(ip, ipaddress.IPv6Address) and bool(ip.scope_id)
    return _Address(str(ip), ip.version, int(ip), refused, scoped)


_by_value = operator.attrgetter("value")


def container_ip(container: Container, host: Host) -> str:
    """Host label override, else the first published port's bind IP, else the agent IP."""
    override = host.labels.get(LABEL_HOST_IP, "")
    if override:
        return override
    if container.ports:
        bind = port_bind_ip(container.ports[0])
        if bind and bind not in ("0.0.0.0", "::"):
            return bind
    return host.agent_ip


@functools.lru_cache(maxsize=65536)
def port_bind_ip(spec: str) -> str:
    """The bind IP of ``[ip:]public:private/proto``; '' when there is none.

    Split from the right: API 2015-12-19 writes IPv6 host IPs unbracketed
    (``2001:db8::10:80:80/tcp``), and ``%!s(<nil>)`` when Rancher sent no host IP.
    """
    parts = spec.rsplit(":", 2)
    if len(parts) < 3:
        return ""
    ip = parts[0].strip("[]")
    return "" if ip.startswith("%!") else ip
