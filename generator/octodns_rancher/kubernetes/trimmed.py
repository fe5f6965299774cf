"""Decode Service and Ingress lists keeping only the fields the model reads.

A list of 10,000 Services is about 17 MB of JSON, most of it ``metadata.managedFields``,
``spec.ports``, Ingress backends and the last-applied-configuration annotation's neighbours;
decoded whole it is hundreds of thousands of Python objects that ``model.read_object`` never
looks at. msgspec decodes each item into the structs below and skips every other field without
building it, and ``to_builtins`` turns what is left into the plain dicts ``read_object`` reads,
so every check and every warning stays the model's.

The structs fix only the shape of the path to each field: ``metadata``, ``spec``, ``status``,
``status.loadBalancer`` and each ``spec.rules[]`` entry must be objects (or ``null``), and
``spec.rules`` a list. The fields the model checks are ``Any`` here and checked there. An item
that breaks the shape is decoded whole, on its own, and the model names what is wrong with it
exactly as it does for a whole decode; one such item does not slow down the rest of the list.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson


class _Metadata(msgspec.Struct, omit_defaults=True, gc=False):
    name: Any = None
    namespace: Any = None
    uid: Any = None
    resourceVersion: Any = None
    creationTimestamp: Any = None
    labels: Any = None
    annotations: Any = None


class _Rule(msgspec.Struct, omit_defaults=True, gc=False):
    host: Any = None


class _Spec(msgspec.Struct, omit_defaults=True, gc=False):
    type: Any = None  # Services
    ingressClassName: Any = None  # Ingresses, and the two below
    rules: list[_Rule | None] | None = None
    tls: Any = None


class _LoadBalancer(msgspec.Struct, omit_defaults=True, gc=False):
    ingress: Any = None


class _Status(msgspec.Struct, omit_defaults=True, gc=False):
    loadBalancer: _LoadBalancer | None = None


class _Object(msgspec.Struct, omit_defaults=True, gc=False):
    metadata: _Metadata | None = None
    spec: _Spec | None = None
    status: _Status | None = None


class List(msgspec.Struct, gc=False):
    """A ServiceList or IngressList with its items still raw (``items`` decodes them)."""

    items: msgspec.Raw = msgspec.Raw(b"null")  # not a list: ``items`` raises
    metadata: dict[str, Any] | None = None


class SnapshotFile(msgspec.Struct, gc=False):
    """A snapshot file (``snapshot.py``) with its two lists' items still raw."""

    format: Any = None
    services: List | None = None
    ingresses: List | None = None


class _Event(msgspec.Struct, gc=False):
    """A watch event with its object still raw (``event`` decodes it)."""

    type: Any = None
    object: msgspec.Raw = msgspec.Raw(b"null")


_EVENT = msgspec.json.Decoder(_Event)
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
_ITEM = msgspec.json.Decoder(_Object)
_LIST = msgspec.json.Decoder(list[_Object])
_PAGE = msgspec.json.Decoder(List)
_FILE = msgspec.json.Decoder(SnapshotFile)


def page(data: bytes) -> List:
    """One answer of a list request; raises ``msgspec.DecodeError`` when it is not a JSON
    object whose ``metadata`` is an object (the caller decodes it the generic way then)."""
    return _PAGE.decode(data)


def snapshot_file(data: bytes) -> SnapshotFile:
    """A snapshot file; raises ``msgspec.DecodeError`` as ``page`` does."""
    return _FILE.decode(data)


def event(line: bytes) -> dict[str, Any]:
    """One watch event as ``{"type": ..., "object": ...}``, an object of a change trimmed as
    list items are (``items``); an ERROR event's Status and anything unexpected whole. Raises
    ``msgspec.DecodeError`` when the line is not a JSON object (the caller names it)."""
    decoded = _EVENT.decode(line)
    raw = decoded.object
    if decoded.type in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
        return {"type": decoded.type, "object": _item(raw)}
    return {"type": decoded.type, "object": orjson.loads(bytes(raw))}


def items(data: bytes | msgspec.Raw) -> list[Any]:
    """The items of a JSON array of objects, each trimmed to what the model reads.

    Raises ``msgspec.DecodeError`` when ``data`` is not a JSON array; an item that is not an
    object of the expected shape comes back decoded whole (or as whatever JSON value it is),
    and so does one nested too deep for msgspec (``RecursionError``, even in a field skipped:
    msgspec stops near Python's recursion limit, about 1,000 levels; orjson goes to 1,024).
    Deeper still, orjson's ``JSONDecodeError`` (a ``ValueError``) is the caller's to name.
    """
    try:
        return msgspec.to_builtins(_LIST.decode(data))
    except (msgspec.ValidationError, RecursionError):
        pass  # one item or more of another shape: decode item by item
    return [_item(raw) for raw in _ITEMS.decode(data)]


def _item(raw: msgspec.Raw) -> Any:
    """One object trimmed; decoded whole when it is not of the expected shape or nests too
    deep for msgspec (see ``items``)."""
    try:
        return msgspec.to_builtins(_ITEM.decode(raw))
    except (msgspec.ValidationError, RecursionError):
        return orjson.loads(bytes(raw))
