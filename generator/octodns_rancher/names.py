"""What a DNS name we write may look like: one set of checks for record names and the zone.

Every name in a zone file is a hostname of ASCII labels (RFC 1123: letters, digits and ``-``,
no ``-`` at either end, 1-63 characters, 252 in all: octoDNS counts the final dot in its limit
of 253, so a name of 253 characters would be refused when the zone is rendered, costing the
whole run instead of one record). The patterns here are only ever applied
with ``re.fullmatch``: with ``re.match`` and a ``$`` anchor, ``"x\\n"`` passes, since ``$`` also
matches before a final newline.

A label starting ``xn--`` is an IDNA A-label. octoDNS decodes such labels to show and compare
names, and raises on one that does not decode, so an A-label is accepted only when it decodes
as valid IDNA 2008 (the ``idna`` package) and encodes back to itself; any other is refused
here, naming the label, before it reaches octoDNS.

The same checks run twice: in the record rules, where a bad name costs only that service its
record (with a warning), and on every record just before it is rendered in any output format,
where a bad name ends the run, whatever produced it.
"""

from __future__ import annotations

import functools
import re

import idna

from .errors import ConfigError

# One hostname label, lower case (names are lower-cased before they are checked).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A name all of whose labels _LABEL accepts: the fast path for the usual plain names.
_NAME = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
# A top-level domain: letters, or an A-label; never all digits (RFC 3696 section 2).
_TLD = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?|xn--[a-z0-9-]{1,59}")
MAX_NAME = 252  # octoDNS's 253, less the final dot it counts
MAX_LABEL = 63
_ACE = "xn--"


def printable(text: str, limit: int = 200) -> str:
    """``text`` as it may appear in a log line: control and other unprintable characters
    escaped (``\\n``, ``\\x1b``, ``\\u2028``), cut to ``limit`` characters with ``...``.

    Names from metadata are written into log lines; a raw newline in one would start a line
    of its own that looks like ours.
    """
    if text.isprintable() and len(text) <= limit:
        return text
    out = "".join(c if c.isprintable() else _escape(c) for c in text[: limit + 1])
    return out if len(out) <= limit else out[:limit] + "..."


def _escape(c: str) -> str:
    escaped = repr(c)[1:-1]
    return escaped if escaped != c else f"\\u{ord(c):04x}"


@functools.lru_cache(maxsize=65536)
def label_problem(label: str) -> str:
    """'' when ``label`` is a valid hostname label, else why it is not (for a log line)."""
    if not label:
        return "is not a valid DNS label (it is empty)"
    if len(label) > MAX_LABEL:
        return f"is longer than {MAX_LABEL} characters"
    if not _LABEL.fullmatch(label):
        return "is not a valid DNS label (letters, digits and -, not at either end)"
    if label.startswith(_ACE):
        return _a_label_problem(label)
    return ""


def _a_label_problem(label: str) -> str:
    try:
        decoded = idna.decode(label)
        again = idna.encode(decoded).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as e:
        return f"is not a valid IDNA label ({printable(str(e), 120)})"
    if again != label:
        return f"is not the canonical IDNA form of {decoded!r} ({again})"
    return ""


def name_problem(name: str) -> str:
    """'' when ``name`` (dot-separated, no final dot) is a valid hostname, else why not."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    plain = _NAME.fullmatch(name) is not None
    if plain and _ACE not in name:
        return ""
    for label in name.split("."):
        problem = label_problem(label)
        if problem:
            return f"label '{printable(label)}' {problem}"
    return ""


def is_below(name: str, parent: str) -> bool:
    """Whether ``name`` lies strictly below ``parent`` (both without a final dot)."""
    return name.endswith("." + parent) and len(name) > len(parent) + 1


def target_problem(name: str, checked: bool = False) -> str:
    """'' when ``name`` (lower case A-labels, no final dot) may be a CNAME's target, else why not.

    octoDNS takes only fully qualified names of two labels or more whose top-level label is not
    all digits (``fqdn``'s rules); a name of digits and dots (``127.1``, ``1.2.3.999``) is a
    mistyped address, never a host name anyone can resolve. ``checked``: ``name_problem``
    already passed (the labels and the length), only the shape of a domain is left to check.
    """
    if name.isascii() and all(label.isdigit() for label in name.split(".")):
        return "is neither an IP address nor a host name"
    return _domain_problem(name, "a fully qualified host name", checked)


def zone_problem(zone: str) -> str:
    """'' when ``zone`` (lower case, no final dot) is a valid zone name, else why not."""
    return _domain_problem(zone, "a domain such as example.com")


def _domain_problem(name: str, expected: str, checked: bool = False) -> str:
    """'' when ``name`` is a hostname of two labels or more under a real top-level domain."""
    problem = "" if checked else name_problem(name)
    if problem:
        return problem
    labels = name.split(".")
    if len(labels) < 2:
        return f"has a single label; expected {expected}"
    if not _TLD.fullmatch(labels[-1]):
        return f"has top-level label {labels[-1]!r}, which is not a top-level domain"
    return ""


def check_zone(zone: object) -> str:
    """The zone in the form the files use (lower case, no final dot); ConfigError if invalid."""
    if not isinstance(zone, str):
        raise ConfigError(
            f"invalid zone {zone!r}: expected a domain such as example.com, "
            f"not {type(zone).__name__}"
        )
    name = zone.lower()
    name = name[:-1] if name.endswith(".") else name
    problem = zone_problem(name)
    if problem:
        raise ConfigError(
            f"invalid zone '{printable(zone)}': {problem}; expected a domain such as "
            "example.com (an internationalised name in its xn-- form)"
        )
    return name
