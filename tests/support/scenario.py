"""Build rancher-metadata answers (API 2016-07-29 shape) for scenarios of our own.

The objects carry the fields the captured server sends, so they can be served by
``MetadataServer`` or saved as snapshots; uuids are derived from names so that a scenario is
the same every time it is built.
"""

from __future__ import annotations

import uuid
from typing import Any

from octodns_rancher.source import SNAPSHOT_FORMAT

_NS = uuid.UUID("6f1c4a52-6a43-4f0e-9c38-3a4c8f1f0000")


def uid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def host(name: str, agent_ip: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "agent_ip": agent_ip,
        "environment_uuid": uid("env"),
        "hostname": name,
        "labels": labels or {},
        "metadata_kind": "host",
        "name": name,
        "state": "active",
        "uuid": uid("host", name),
    }


def container(
    stack: str,
    service: str,
    index: int,
    host_name: str | None,
    ports: list[str] | None = None,
    state: str = "running",
    health: str | None = "healthy",
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "create_index": index,
        "health_state": health,
        "labels": {
            "io.rancher.stack.name": stack,
            "io.rancher.stack_service.name": f"{stack}/{service}",
        },
        "metadata_kind": "container",
        "name": f"{stack}-{service}-{index}",
        "ports": ports,
        "primary_ip": f"10.42.0.{index % 250 + 1}",
        "service_index": str(index),
        "service_name": service,
        "stack_name": stack,
        "state": state,
        "uuid": uid("container", stack, service, str(index)),
    }
    if host_name is not None:
        c["host_uuid"] = uid("host", host_name)
    return c


def service(
    stack: str,
    name: str,
    containers: list[dict[str, Any]],
    kind: str = "service",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "containers": containers,
        "kind": kind,
        "labels": labels or {},
        "metadata_kind": "service",
        "name": name,
        "stack_name": stack,
        "stack_uuid": uid("stack", stack),
        "state": "active",
        "uuid": uid("service", stack, name),
    }


def self_stack(environment: str = "Default") -> dict[str, Any]:
    return {
        "environment_name": environment,
        "environment_uuid": uid("env"),
        "metadata_kind": "stack",
        "name": "external-dns",
        "services": [],
        "system": False,
        "uuid": uid("stack", "external-dns"),
    }


def tree(
    services: list[dict[str, Any]], hosts: list[dict[str, Any]], environment: str = "Default"
) -> dict[str, Any]:
    """A version tree for ``MetadataServer``."""
    return {"self": {"stack": self_stack(environment)}, "services": services, "hosts": hosts}


def shop(names: list[str], ip: str = "203.0.113.5") -> dict[str, Any]:
    """A Production environment whose services (stack ``shop``) each publish port 80 on one
    host, as the version trees ``MetadataServer`` serves."""
    hosts = [host("h1", ip)]
    services = [
        service("shop", n, [container("shop", n, 1, "h1", ports=["80:80/tcp"])]) for n in names
    ]
    return {"2016-07-29": tree(services, hosts, environment="Production")}


def snapshot(
    services: list[dict[str, Any]], hosts: list[dict[str, Any]], environment: str = "Default"
) -> dict[str, Any]:
    """The same as a snapshot file's JSON."""
    return {
        "format": SNAPSHOT_FORMAT,
        "api_version": "2016-07-29",
        "origin": "scenario",
        "self_stack": self_stack(environment),
        "services": services,
        "hosts": hosts,
    }
