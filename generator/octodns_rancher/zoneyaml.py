"""The zone file's YAML text: written as octoDNS's dumper writes it, and read back.

``dump_zone`` gives the bytes of ``octodns.yaml.safe_dump(data, allow_unicode=True)``, which
``YamlProvider`` writes and ``octodns-validate``'s order enforcement accepts: a block writer for
the plain scalars DNS names and addresses are, libyaml's emitter with octoDNS's representers for
anything else, and octoDNS's own pure-Python dumper for keys of 128 characters or more (where
libyaml and PyYAML differ). Tests compare every path byte for byte with octoDNS's dumper.

``read_blocks`` is the block writer's inverse, for top-level entries of a zone file it wrote:
what it reads is only kept if the writer writes it back as the same text.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Iterable
from typing import Any

import yaml

_DIGITS = re.compile(r"([0-9]+)")
_STR_TAG = "tag:yaml.org,2002:str"
# What the block emitter writes itself: scalars PyYAML would write plain, unquoted, on one line.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*\Z")


def dump_zone(data: dict[str, Any]) -> str:
    """``octodns.yaml.safe_dump(data, allow_unicode=True)``'s text, written faster."""
    text = _BlockWriter().document(data)
    if text is not None:
        return text
    if _LibyamlZoneDumper is not None and not _long_keys(data):
        return yaml.dump(data, Dumper=_LibyamlZoneDumper, allow_unicode=True, **_DUMP_OPTIONS)
    buf = io.StringIO()
    yaml.dump(data, buf, Dumper=_py_zone_dumper(), allow_unicode=True, **_DUMP_OPTIONS)
    return buf.getvalue()


# octoDNS's dumper module brings natsort (15 ms of start-up): imported when first needed, as
# names are usually ASCII and written by the block writer.


def _octodns_natural_key(value: Any) -> Any:
    """octoDNS's natural sort key (natsort's) of a name, or of a (name, value) pair."""
    from octodns.yaml import NaturalSortingDumper

    return NaturalSortingDumper.KEYGEN(value)


@functools.cache
def _py_zone_dumper() -> type:
    """octoDNS's pure-Python dumper, ordering mappings by key as its loader checks them.

    octoDNS's own dumper sorts (key, value) pairs and so raises TypeError when two names share a
    natural key ("0.env" and "00.env") and their records do not compare; its loader only needs
    the keys in natural order, which ``_natural_items`` gives in every case.
    """
    from octodns.yaml import NaturalSortingDumper

    class PyZoneDumper(NaturalSortingDumper):  # type: ignore[misc, valid-type]
        def _representer(self, data: dict[str, Any]) -> yaml.MappingNode:
            items = _natural_items(data, _octodns_natural_key)
            return self.represent_mapping(self.DEFAULT_MAPPING_TAG, items)

    PyZoneDumper.add_representer(dict, PyZoneDumper._representer)
    PyZoneDumper.add_multi_representer(dict, PyZoneDumper._representer)
    return PyZoneDumper


def _long_keys(data: Any) -> bool:
    """Whether a key has 128 characters or more: PyYAML writes it as ``? key``, libyaml not."""
    if isinstance(data, dict):
        return any(len(str(k)) >= 128 or _long_keys(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_long_keys(v) for v in data)
    return False


# octoDNS's safe_dump options.
_DUMP_OPTIONS: dict[str, Any] = {
    "canonical": False,
    "indent": 2,
    "default_style": "",
    "default_flow_style": False,
    "explicit_start": True,
}


class _BlockWriter:
    """The block layout PyYAML's emitter gives zone data, for the shapes zone files have.

    Mappings of mappings, lists of mappings in a mapping, lists of scalars, strings that YAML
    reads back as strings and need no quotes, and ints. ``document`` returns None for anything
    else (an empty mapping or list, a string that needs quoting, a float), and the caller uses
    the full emitter instead.

    It runs once per value of a zone file (110,000 at 100,000 containers), so the common cases
    are answered inline from caches: the text of each string already checked, and the key order
    of each small key set.
    """

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        # The text of each string already checked: itself when PyYAML writes it plain, else
        # None. Only strings are stored; a string subclass is stored as its text.
        self.texts: dict[str, str | None] = {}
        self.resolver = yaml.resolver.Resolver()
        self.out: list[str] = []
        # Keys in order with their texts, by key set (see ``keyed``).
        self.orders: dict[tuple[Any, ...], list[tuple[Any, str]]] = {}

    def document(self, data: dict[str, Any]) -> str | None:
        if not isinstance(data, dict) or not data:
            return None
        self.out = ["---\n"]
        if not self.mapping(data, 0, first_prefix=""):
            return None
        return "".join(self.out)

    def entry(self, key: str, value: Any) -> str | None:
        """The text of one top-level entry of a document, as ``document`` writes it."""
        self.out = []
        if not self.mapping({key: value}, 0, first_prefix=""):
            return None
        return "".join(self.out)

    def scalar(self, value: Any) -> str | None:
        """The text of a scalar written plain, or None when this writer cannot write it."""
        if type(value) is str:
            try:
                return self.texts[value]
            except KeyError:
                return self._check(value)
        if isinstance(value, str):
            return self.scalar(str(value))
        if type(value) is int:
            return str(value)
        return None

    def _check(self, value: str) -> str | None:
        ok = bool(_PLAIN.match(value)) and (
            self.resolver.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG
        )
        text = self.texts[value] = value if ok else None
        return text

    def sort_key(self, name: str) -> Any:
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = _natural_key(name)
        return key

    def mapping(self, data: dict[str, Any], indent: int, first_prefix: str) -> bool:
        """Write a non-empty mapping whose first key follows ``first_prefix`` on its line."""
        keys = self.keyed(data)
        if keys is None:
            return False
        out = self.out
        texts = self.texts
        pad = " " * indent
        prefix = first_prefix
        for key, k in keys:
            value = data[key]
            if type(value) is str:
                v = texts.get(value) or self._check(value)
                if v is None:
                    return False
                out.append(f"{prefix}{k}: {v}\n")
            elif type(value) is int:
                out.append(f"{prefix}{k}: {value}\n")
            elif isinstance(value, dict):
                if not value:
                    return False
                out.append(f"{prefix}{k}:\n")
                if not self.mapping(value, indent + 2, " " * (indent + 2)):
                    return False
            elif isinstance(value, list):
                if not value:
                    return False
                out.append(f"{prefix}{k}:\n")
                if not self.sequence(value, indent):
                    return False
            else:
                v = self.scalar(value)
                if v is None:
                    return False
                out.append(f"{prefix}{k}: {v}\n")
            prefix = pad
        return True

    def keyed(self, data: dict[str, Any]) -> list[tuple[Any, str]] | None:
        """The keys of ``data`` in ``_natural_items`` order, each with its text; None when a key
        cannot be written plain (or has 128 characters or more: PyYAML writes ``? key``).

        Remembered for small key sets whose natural keys all differ (then values never count
        in the order): every record's mappings share a few key sets.
        """
        small = len(data) <= 8
        if small:
            known = self.orders.get(tuple(data))
            if known is not None:
                return known
        texts = self.texts
        keys = []
        # One key (a top-level entry written alone) needs no order.
        ordered = data if len(data) == 1 else (k for k, _ in _natural_items(data, self.sort_key))
        for key in ordered:
            k = (texts.get(key) or self.scalar(key)) if isinstance(key, str) else None
            if k is None or len(k) >= 128:
                return None
            keys.append((key, k))
        if small and (len(data) == 1 or len({self.sort_key(k) for k in data}) == len(data)):
            self.orders[tuple(data)] = keys
        return keys

    def sequence(self, items: list[Any], indent: int) -> bool:
        """Write a list inside a mapping: PyYAML puts its dashes at the mapping's indent."""
        dash = " " * indent + "- "
        between = "\n" + dash
        texts = self.texts
        out = self.out
        run: list[str] = []  # texts of scalars in a row, written as one piece
        for item in items:
            if isinstance(item, dict):
                if not item:
                    return False
                if run:
                    out.append(f"{dash}{between.join(run)}\n")
                    run = []
                if not self.mapping(item, indent + 2, dash):
                    return False
                continue
            if isinstance(item, str):
                # Addresses are octoDNS value objects (str subclasses): looked up by their text.
                v = texts.get(item) or self.scalar(item)
            else:
                v = None if isinstance(item, list) else self.scalar(item)
            if v is None:
                return False
            run.append(v)
        if run:
            out.append(f"{dash}{between.join(run)}\n")
        return True


def _natural_key(name: str) -> tuple[Any, ...]:
    """octoDNS's natural key of a name (natsort's), computed directly for ASCII names.

    natsort takes about 10 µs a name, a tenth of a second for a zone of 10,000 names. For ASCII
    text its key is the text split into runs of digits and the rest, the runs as integers, empty
    parts dropped and a leading ``''`` when the text starts with a digit; anything else (other
    scripts' digits, Unicode normalisation) is left to natsort. Tests compare the two.
    """
    if type(name) is not str or not name.isascii() or len(name) > 1000:
        return _octodns_natural_key(name)
    parts: list[Any] = _DIGITS.split(name)
    if len(parts) == 1:
        return (name,) if name else ()
    parts[1::2] = map(int, parts[1::2])
    if not parts[-1]:
        parts.pop()
    return tuple(parts)


def _natural_items(data: dict[Any, Any], name_key: Any) -> list[tuple[Any, Any]]:
    """``sorted(data.items(), key=octoDNS's KEYGEN)``, without a natural key of every value.

    octoDNS's dumper sorts (name, value) pairs, so a value only counts between two names with
    the same natural key ("web1" and "web01"): only then is the pair's key computed.
    """
    keys = {k: name_key(k) for k in data}
    items = sorted(data.items(), key=lambda kv: keys[kv[0]])
    if len(set(keys.values())) < len(keys):
        # Where octoDNS's own dumper fails (values that do not compare), keep the name order.
        with contextlib.suppress(TypeError):
            items = sorted(data.items(), key=_octodns_natural_key)
    return items


def _libyaml_dumper() -> type | None:
    """octoDNS's ``NaturalSortingDumper`` on libyaml's emitter: same representers, same bytes."""
    base = getattr(yaml, "CSafeDumper", None)
    if base is None:  # pragma: no cover - PyYAML built without libyaml
        return None

    class LibyamlZoneDumper(base):  # type: ignore[misc, valid-type]
        def _mapping(self, data: dict[str, Any]) -> yaml.MappingNode:
            items = _natural_items(data, _octodns_natural_key)
            return self.represent_mapping(self.DEFAULT_MAPPING_TAG, items)

        def _str(self, data: str) -> yaml.ScalarNode:
            # libyaml takes exact str only; octoDNS's values are str subclasses.
            return self.represent_scalar(_STR_TAG, str(data))

    LibyamlZoneDumper.add_representer(dict, LibyamlZoneDumper._mapping)
    LibyamlZoneDumper.add_multi_representer(str, LibyamlZoneDumper._str)
    LibyamlZoneDumper.add_multi_representer(dict, LibyamlZoneDumper._mapping)
    return LibyamlZoneDumper


_LibyamlZoneDumper = _libyaml_dumper()


# The lines of a block: indentation, "- " for a list item, then a scalar, a key and a colon, or
# a key, a colon and a scalar (groups that are absent read as ''). Lines that do not match are
# skipped, and need no check here: what is read is only kept if the block writer writes it
# back as the block's exact text.
_ROWS = re.compile(r"( *)(- )?([A-Za-z0-9._/-]+)(:)?(?: ([A-Za-z0-9._/-]+))?\n")
_Row = tuple[str, str, str, str, str]
_INT = re.compile(r"-?[0-9]+")


def read_blocks(blocks: Iterable[str]) -> list[tuple[str, Any] | None]:
    """The name and content of top-level entries of zone files, without a YAML parse.

    Each block is one entry (``name:`` and the lines below it) in the layout the block writer
    gives, holding plain scalars; None for any other, to be parsed as YAML. What is read is
    written back with the block writer, and only returned if that gives the block again: the
    writer's text reads back as the data it was given (tests compare it with octoDNS's dumper),
    so the content is what a YAML parse of the block gives. A run after a change parses the
    changed entries of the old file (1,000 for a 10 % change at 100,000 containers): 0.14 s
    with libyaml's parser and PyYAML's constructor, a third of that here.
    """
    writer = _BlockWriter()
    return [_read_block(block, writer) for block in blocks]


def _read_block(block: str, writer: _BlockWriter) -> tuple[str, Any] | None:
    if not block.endswith("\n"):
        return None
    try:
        rows = _ROWS.findall(block)
        if not rows or rows[0][0] or rows[0][1]:
            return None
        content, end = _mapping(rows, 0, "")
    except (_NotRead, ValueError, RecursionError):  # ValueError: an integer too long to convert
        return None
    if end != len(rows) or len(content) != 1:
        return None
    ((key, value),) = content.items()
    if writer.entry(key, value) != block:
        return None
    return key, value


class _NotRead(Exception):
    """Not the block writer's layout."""


def _scalar(text: str) -> Any:
    return int(text) if _INT.fullmatch(text) else text


def _mapping(rows: list[_Row], i: int, column: str) -> tuple[dict[str, Any], int]:
    """The mapping whose keys are indented by ``column`` from ``rows[i]`` on (which may be a
    list item's first line, its dash in place of the indentation); the index after it."""
    out: dict[str, Any] = {}
    first = True
    while i < len(rows):
        pad, dash, key, colon, value = rows[i]
        if not first and (dash or pad != column):
            break
        if not colon:
            raise _NotRead
        first = False
        i += 1
        if value:
            out[key] = _scalar(value)
            continue
        if i == len(rows):
            raise _NotRead
        below, below_dash = rows[i][0], rows[i][1]
        if below_dash and below == column:
            out[key], i = _sequence(rows, i, column)
        elif not below_dash and len(below) > len(column):
            out[key], i = _mapping(rows, i, below)
        else:
            raise _NotRead
    return out, i


def _sequence(rows: list[_Row], i: int, pad: str) -> tuple[list[Any], int]:
    """The list whose dashes are indented by ``pad`` from ``rows[i]`` on; the index after it."""
    out: list[Any] = []
    while i < len(rows) and rows[i][1] and rows[i][0] == pad:
        if rows[i][3]:
            item, i = _mapping(rows, i, pad + "  ")
            out.append(item)
        else:
            out.append(_scalar(rows[i][2]))
            i += 1
    return out, i
