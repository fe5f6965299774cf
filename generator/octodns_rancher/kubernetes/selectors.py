"""Kubernetes label selectors, for the label filter and external-dns's annotation filter.

The syntax of ``kubectl -l`` (and of external-dns's ``--label-filter`` and
``--annotation-filter``): requirements separated by commas, each ``key``, ``!key``,
``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)`` or ``key notin (a,b)``; all must
hold. Parsed once when the settings are made, so a typo fails the run before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ..errors import ConfigError

Selector = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^()]*)\)\s*$")
_EQ = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def parse(text: str, what: str = "selector") -> Selector:
    """A predicate on a mapping of labels (or annotations); '' selects everything."""
    if not text or not text.strip():
        return lambda _: True
    checks = [_requirement(part, what, text) for part in _split(text)]
    return lambda labels: all(check(labels) for check in checks)


def _split(text: str) -> list[str]:
    """Split at commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _requirement(part: str, what: str, whole: str) -> Selector:
    m = _SET.match(part)
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: labels.get(key) not in values
    m = _EQ.match(part)
    if m:
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    m = _EXISTS.match(part)
    if m:
        negate, key = m.group(1) == "!", m.group(2)
        return lambda labels: (key in labels) != negate
    raise ConfigError(f"invalid {what} {whole!r}: cannot read {part.strip()!r}")
