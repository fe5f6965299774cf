"""The environment as plain, typed data: hosts, services and their containers.

rancher-metadata passes on whatever Rancher sent: a field may be missing, ``null`` or empty, and
lists come in random order. This stage turns that into frozen dataclasses, sorted, with missing,
``null`` and empty treated alike, so the record rules never have to guess. What cannot be read at
all (a service without a name, a list that is not a list) is an error naming the object: a run
built on half-read metadata must not be trusted. A container's ports are the one exception: an
entry that is not a port string, or a ``ports`` value that is not a list, is ignored with a
warning naming the container (only the service it belongs to can lose a record by it).
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from . import compact
from .errors import MetadataError
from .names import printable
from .source import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Host:
    uuid: str
    name: str
    agent_ip: str
    labels: Mapping[str, str] = field(default_factory=dict)


class Container(msgspec.Struct, frozen=True, gc=False):
    """One container, as immutable as the other types here.

    A msgspec struct rather than a frozen dataclass: there is one per container (100,000 in a
    large environment), and a frozen dataclass sets each field through ``object.__setattr__``,
    which made building them 0.1 s of such a run; a struct is built ten times faster. Its
    fields hold only text, so it never takes part in a reference cycle (``gc=False``).
    """

    name: str
    uuid: str
    state: str
    health_state: str
    host_uuid: str
    ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    name: str
    uuid: str
    stack_name: str
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)
    containers: tuple[Container, ...] = ()
    fqdn: str = ""

    @property
    def ref(self) -> str:
        """How logs and errors name the service: ``stack/service``, control characters escaped
        (a name holding a newline must not start a log line of its own)."""
        return printable(f"{self.stack_name}/{self.name}")


@dataclass(frozen=True)
class Environment:
    name: str
    uuid: str
    hosts: Mapping[str, Host]
    services: tuple[Service, ...]


def build(snapshot: Snapshot, environment: str | None = None) -> Environment:
    """Turn raw metadata into an :class:`Environment`.

    ``environment`` overrides the name read from ``/self/stack``; one of them must exist.
    """
    env_name, env_uuid = _environment(snapshot.self_stack, environment)
    answers = snapshot.compact
    if answers is not None:
        try:
            hosts = _compact_hosts(answers.hosts)
            services = _compact_services(answers.services)
            return Environment(name=env_name, uuid=env_uuid, hosts=hosts, services=services)
        except _Unreadable:
            pass  # the generic reader below names what cannot be read
    hosts = _hosts(snapshot.hosts)
    services = _services(snapshot.services)
    return Environment(name=env_name, uuid=env_uuid, hosts=hosts, services=services)


class _Unreadable(Exception):
    """The compact answers hold something the model refuses; the generic reader names it."""


def _compact_hosts(items: list[compact.Host] | None) -> dict[str, Host]:
    """:func:`_hosts` for typed answers: the same result, fields already known to be text."""
    hosts: dict[str, Host] = {}
    for h in items or ():
        uuid = _text(h.uuid)
        if not uuid:
            raise _Unreadable
        hosts[uuid] = Host(
            uuid=uuid,
            name=_text(h.name) or _text(h.hostname) or uuid,
            agent_ip=_text(h.agent_ip),
            labels=_compact_labels(h.labels),
        )
    return dict(sorted(hosts.items()))


def _compact_services(items: list[compact.Service] | None) -> tuple[Service, ...]:
    """:func:`_services` for typed answers: the same result, fields already known to be text."""
    services = []
    for s in items or ():
        name = _text(s.name)
        stack = _text(s.stack_name)
        if not name or not stack:
            raise _Unreadable
        ref = f"{stack}/{name}"
        containers = []
        # Once per container: the fields are str or None, read inline ("x or ''" is _text).
        for j, c in enumerate(s.containers or ()):
            # Decoded as a tuple: kept as it is unless it holds an empty port.
            ports = c.ports or ()
            if not all(ports):
                ports = tuple([p for p in ports if p])
            containers.append(
                Container(
                    (c.name or "").strip() or _container_where(ref, j),
                    (c.uuid or "").strip(),
                    (c.state or "").strip(),
                    (c.health_state or "").strip(),
                    (c.host_uuid or "").strip(),
                    ports,
                )
            )
        containers.sort(key=_container_key)
        services.append(
            Service(
                name=name,
                uuid=_text(s.uuid),
                stack_name=stack,
                kind=_text(s.kind),
                labels=_compact_labels(s.labels),
                containers=tuple(containers),
                fqdn=_text(s.fqdn),
            )
        )
    services.sort(key=lambda s: (s.stack_name, s.name, s.uuid))
    return tuple(services)


_container_key = operator.attrgetter("name", "uuid")


def _compact_labels(value: dict[str, str] | None) -> dict[str, str]:
    return {k: v.strip() for k, v in sorted(value.items())} if value else {}


def _environment(self_stack: Any, override: str | None) -> tuple[str, str]:
    uuid = ""
    if isinstance(self_stack, dict):
        uuid = _text(self_stack.get("environment_uuid"))
    if override:
        return override, uuid
    if not isinstance(self_stack, dict):
        raise MetadataError(
            "cannot tell the environment: /self/stack was not read "
            "(give --environment, or run inside the Rancher environment)"
        )
    name = _text(self_stack.get("environment_name"))
    if not name:
        raise MetadataError("/self/stack has no environment_name (give --environment)")
    return name, uuid


def _hosts(raw: Any) -> dict[str, Host]:
    items = _list(raw, "/hosts")
    hosts: dict[str, Host] = {}
    for i, item in enumerate(items):
        where = f"/hosts[{i}]"
        obj = _obj(item, where)
        uuid = _text(obj.get("uuid"))
        if not uuid:
            raise MetadataError(f"host {where} ({_text(obj.get('name')) or 'unnamed'}) has no uuid")
        hosts[uuid] = Host(
            uuid=uuid,
            name=_text(obj.get("name")) or _text(obj.get("hostname")) or uuid,
            agent_ip=_text(obj.get("agent_ip")),
            labels=_labels(obj.get("labels"), f"host {uuid}"),
        )
    return dict(sorted(hosts.items()))


def _services(raw: Any) -> tuple[Service, ...]:
    items = _list(raw, "/services")
    services = []
    for i, item in enumerate(items):
        obj = _obj(item, f"/services[{i}]")
        name = _text(obj.get("name"))
        stack = _text(obj.get("stack_name"))
        if not name or not stack:
            ident = _text(obj.get("uuid")) or f"/services[{i}]"
            raise MetadataError(f"service {ident} has no name or stack_name")
        ref = f"{stack}/{name}"
        containers = tuple(
            sorted(
                (
                    _container(c, ref, j)
                    for j, c in enumerate(_list(obj.get("containers"), f"service {ref} containers"))
                ),
                key=_container_key,
            )
        )
        services.append(
            Service(
                name=name,
                uuid=_text(obj.get("uuid")),
                stack_name=stack,
                kind=_text(obj.get("kind")),
                labels=_labels(obj.get("labels"), f"service {ref}"),
                containers=containers,
                fqdn=_text(obj.get("fqdn")),
            )
        )
    services.sort(key=lambda s: (s.stack_name, s.name, s.uuid))
    return tuple(services)


def _container(raw: Any, ref: str, index: int) -> Container:
    # Called once per container (100,000 in a large environment): the common case is kept
    # to plain lookups, and the "where" text is only made when it is needed.
    obj = raw if type(raw) is dict else _obj(raw, _container_where(ref, index))
    get = obj.get
    name = _text(get("name")) or _container_where(ref, index)
    ports_raw = get("ports")
    if ports_raw is None:
        ports: tuple[str, ...] = ()
    elif type(ports_raw) is list and all(type(p) is str for p in ports_raw):
        ports = tuple([p for p in ports_raw if p])
    else:
        ports = _odd_ports(ports_raw, ref, name)
    return Container(
        name=name,
        uuid=_text(get("uuid")),
        state=_text(get("state")),
        health_state=_text(get("health_state")),
        host_uuid=_text(get("host_uuid")),
        ports=ports,
    )


def _odd_ports(value: Any, ref: str, container: str) -> tuple[str, ...]:
    """The port strings of a ``ports`` value that is not a list of strings, with a warning.

    One rule for every shape: only strings in a list are ports. Other entries (numbers,
    ``null``, objects) are ignored, and so is a value that is not a list at all, even one
    string: rancher-metadata always sends a list, and nothing is guessed from another shape.
    """
    where = f"service {printable(ref)}: container {printable(container)}"
    if not isinstance(value, list):
        log.warning(
            "%s: ports is %s, not a list of port strings; ignored", where, type(value).__name__
        )
        return ()
    odd = [p for p in value if type(p) is not str]
    shown = ", ".join(printable(json.dumps(p, default=repr), 40) for p in odd[:3])
    more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
    log.warning("%s: ports entries that are not port strings ignored: %s%s", where, shown, more)
    return tuple([p for p in value if type(p) is str and p])


def _container_where(ref: str, index: int) -> str:
    return f"service {ref} container [{index}]"


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MetadataError(f"{where} is not a list (got {type(value).__name__})")
    return value


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MetadataError(f"{where} is not an object (got {type(value).__name__})")
    return value


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MetadataError(f"{where} labels are not a map (got {type(value).__name__})")
    return {str(k): _text(v) for k, v in sorted(value.items())}


def _text(value: Any) -> str:
    """Missing, null and empty all read as ''; anything else as its trimmed text."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    return str(value).strip()
