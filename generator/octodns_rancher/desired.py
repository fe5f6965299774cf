"""The shared record type every source's rules end in, and the origin each record carries.

Rancher's rules (``records``) and Kubernetes' (``kubernetes.rules``) turn their own objects into
``DesiredRecord``; everything after that stage (render, terraform, guards, publish) sees only
this type. What a stage may know of a record's source is its ``Origin``: the annotation key the
zone file carries (``octodns: {<source>: {...}}``), the annotation's fields, and how messages
name the object. No later stage names a source.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec


class Origin(msgspec.Struct, frozen=True, gc=False):
    """The object a record was made for. Each source subclasses it with its own string fields.

    ``source`` is the annotation key in the zone file; ``annotation()`` its content (which
    octoDNS ignores and the write-back of that source reads), ``describe()`` how warnings and
    errors name the object, ``comment()`` the Terraform resource's comment.
    """

    source: ClassVar[str] = ""

    def annotation(self) -> dict[str, str]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def comment(self) -> str:
        raise NotImplementedError


class DesiredRecord(msgspec.Struct, frozen=True, gc=False):
    """One record set: immutable, compared and hashed by its fields.

    Like the model's Container, a frozen msgspec struct rather than a frozen dataclass: built
    ten times faster (a frozen dataclass sets each field through ``object.__setattr__``), and
    holding only text and numbers, never in a reference cycle, so the collector skips it.
    """

    name: str  # relative to the zone, e.g. "web.shop.production"
    type: str  # "A", "AAAA" or "CNAME"
    ttl: int
    values: tuple[str, ...]
    origin: Origin

    @property
    def service(self) -> Origin:
        """The record's origin, by its older name."""
        return self.origin

    def fqdn(self, zone: str) -> str:
        return f"{self.name}.{zone}"
