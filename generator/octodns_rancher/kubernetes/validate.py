"""Is this text a host name we may publish, or a target we may point one at?

Every check on names and targets that come from the cluster is here, in one place: annotations
are free text, so these are the gate between what a user typed and what reaches DNS. Host names
are checked label by label (no ``str.match`` that a trailing newline slips through); IDNA
labels must round-trip through the ``idna`` package (IDNA 2008), so a bogus ``xn--`` label is
refused rather than published (the label rule is ``names.label_problem``, shared with every
source); addresses are refused by the classes ``addresses`` names for every source.
"""

from __future__ import annotations

import ipaddress
import re

import idna

from ..addresses import parse as parse_address
from ..names import MAX_NAME, label_problem, printable, target_problem

# A whole name of plain labels, none with "--" (so no IDNA label to check): the common case,
# answered by one match. fullmatch: a trailing newline does not slip through.
_PLAIN_NAME = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)


class Invalid(ValueError):
    """Why a name or a target was refused (the message is the reason)."""


def hostname(raw: str) -> str:
    """The host name in lower-case ASCII (A-labels), without a final dot; raises Invalid."""
    if not isinstance(raw, str):
        raise Invalid("is not text")
    plain = raw[:-1] if raw.endswith(".") else raw
    if len(plain) <= MAX_NAME and "--" not in plain and _PLAIN_NAME.fullmatch(plain):
        return plain
    if not raw.isprintable() or any(c.isspace() for c in raw):
        raise Invalid("contains control or space characters")
    if len(raw) > 4 * MAX_NAME:
        raise Invalid(f"is longer than {MAX_NAME} characters")
    name = raw[:-1] if raw.endswith(".") else raw
    if not name:
        raise Invalid("is empty")
    labels = []
    for label in name.split("."):
        labels.append(_label(label))
    text = ".".join(labels)
    if len(text) > MAX_NAME:
        raise Invalid(f"is longer than {MAX_NAME} characters")
    return text


def _label(label: str) -> str:
    if label == "*":
        raise Invalid("is a wildcard, which is never published")
    if not label.isascii():
        try:
            label = idna.encode(label, uts46=True, transitional=False).decode("ascii")
        except idna.IDNAError as e:
            raise Invalid(f"label {label!r} is not a valid internationalised name ({e})") from None
    label = label.lower()
    if label[2:4] == "--" and not label.startswith("xn--"):
        raise Invalid(f"label {label!r} has '--' in the third and fourth places")
    problem = label_problem(label)  # the one label rule of every source
    if problem:
        raise Invalid(f"label {printable(label)} {problem}")
    return label


def address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``raw`` holds, None when it is not an address; raises Invalid when it is an
    address that must not be published: the classes ``addresses`` refuses for every source."""
    if not isinstance(raw, str) or not raw or not raw.isascii():
        return None
    try:
        ip, why = parse_address(raw)
    except ValueError:
        return None
    if why:
        raise Invalid(f"address {raw} is {why}")
    return ip


def target(raw: str) -> tuple[str, str]:
    """(record type, value) of one target: an address → A/AAAA, a host name → CNAME."""
    raw = raw.strip() if isinstance(raw, str) else raw
    ip = address(raw)
    if ip is not None:
        # ipaddress reads IPv4 only in its one canonical form (no leading zeros, no other
        # bases): the text is already what str(ip) would give.
        return ("A", raw) if ip.version == 4 else ("AAAA", str(ip))
    try:
        name = hostname(raw)
    except Invalid as e:
        raise Invalid(f"target {display(raw)} {e}") from None
    problem = target_problem(name, checked=True)  # hostname() checked every label
    if problem:
        raise Invalid(f"target {display(raw)} {problem}")
    return "CNAME", name + "."


def display(raw: object) -> str:
    text = repr(raw) if not (isinstance(raw, str) and raw.isprintable()) else raw
    return text if len(text) <= 80 else text[:77] + "..."
