"""Typed decoding of rancher-metadata answers into only the fields the model reads.

A large environment's ``/services`` answer is tens of MB of JSON whose decoded tree (every
container with its labels, IPs and indexes) takes four times that in Python objects, while the
model reads six fields of a container. msgspec decodes the answer straight into the small
structs below and skips every other field, in a fraction of the time and memory.

The structs accept only the shape the model expects: text fields that are strings or
``null``, lists that are lists, objects that are objects. Anything else (a number where a name
should be, a ``containers`` that is not a list, invalid JSON) makes the decode raise
:class:`NotCompact`, and the caller decodes the answer the generic way, where the model names what is
wrong exactly as it always did.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Container(msgspec.Struct, gc=False):
    name: str | None = None
    uuid: str | None = None
    state: str | None = None
    health_state: str | None = None
    host_uuid: str | None = None
    ports: tuple[str, ...] | None = None  # a JSON list, decoded as the model keeps it


class Service(msgspec.Struct, gc=False):
    name: str | None = None
    uuid: str | None = None
    stack_name: str | None = None
    kind: str | None = None
    labels: dict[str, str] | None = None
    containers: list[Container] | None = None
    fqdn: str | None = None


class Host(msgspec.Struct, gc=False):
    uuid: str | None = None
    name: str | None = None
    hostname: str | None = None
    agent_ip: str | None = None
    labels: dict[str, str] | None = None


class Answers(msgspec.Struct, gc=False):
    """``/services`` and ``/hosts`` as the model reads them."""

    services: list[Service] | None
    hosts: list[Host] | None


class SnapshotFile(msgspec.Struct, gc=False):
    """A snapshot file: the answers typed, the rest kept as raw JSON for the generic decoder."""

    format: msgspec.Raw = msgspec.Raw(b"null")
    api_version: msgspec.Raw = msgspec.Raw(b"null")
    self_stack: msgspec.Raw = msgspec.Raw(b"null")
    origin: msgspec.Raw = msgspec.Raw(b"null")
    services: list[Service] | msgspec.UnsetType | None = msgspec.UNSET
    hosts: list[Host] | msgspec.UnsetType | None = msgspec.UNSET


_SERVICES = msgspec.json.Decoder(list[Service] | None)
_HOSTS = msgspec.json.Decoder(list[Host] | None)
_FILE = msgspec.json.Decoder(SnapshotFile)


class NotCompact(Exception):
    """The answer is not in the shape the structs hold: decode it the generic way."""


def services(data: Any) -> list[Service] | None:
    """``/services`` typed (``None`` for ``null``)."""
    return _decode(_SERVICES, data)


def hosts(data: Any) -> list[Host] | None:
    """``/hosts`` typed (``None`` for ``null``)."""
    return _decode(_HOSTS, data)


def snapshot_file(data: Any) -> SnapshotFile:
    """A snapshot file with its answers typed."""
    return _decode(_FILE, data)


def _decode(decoder: msgspec.json.Decoder, data: Any) -> Any:
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as e:
        # ValidationError is a DecodeError; invalid UTF-8 surfaces as a UnicodeDecodeError.
        raise NotCompact(str(e)) from e
