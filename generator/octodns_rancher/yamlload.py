"""octoDNS's YAML loaders on libyaml: the same checks, five times faster on a large zone file.

octoDNS reads every YAML file with its own loaders (``octodns.yaml``): ``ContextLoader`` (each
mapping remembers its file, line and column, ``!include`` reads another file) and, with
``enforce_order``, ``NaturalSortEnforcingLoader`` or ``SimpleSortEnforcingLoader``, which refuse
keys out of order. All of them are built on PyYAML's pure-Python scanner and parser, which takes
about 8 s for a zone file of 10,000 records with their details, every time ``octodns-validate``
or ``octodns-sync`` reads it.

PyYAML's ``CParser`` is libyaml's scanner, parser and composer behind the same node interface.
The classes here put it in place of the pure-Python ones under octoDNS's own loader classes:
the constructors that build the data (and check the order, make the context strings, follow
``!include``) are octoDNS's, unchanged; only the text-to-nodes step is libyaml's. libyaml's
marks carry the same file name, line and column, so every error reads as before.

octoDNS's ``safe_load`` picks its loader from a table by ``order_mode``;
``register_order_mode`` adds entries there for these loaders (and the matching dumper for
writing), which is how ``providers.YamlProvider`` reaches them without changing octoDNS's code.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import IO, Any

import yaml
from octodns import yaml as octodns_yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.resolver import Resolver

log = logging.getLogger(__name__)

#: Whether PyYAML was built with libyaml here; without it everything stays pure Python.
LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))
SUFFIX = "+libyaml"
UNORDERED = "+unordered"


def _accelerated(base: type) -> type:
    """``base`` (an octoDNS loader class) with libyaml's parser in place of PyYAML's.

    A sort-enforcing loader's key function is memoised: it is a pure function of the key, and
    the few keys of a record's mappings (``ttl``, ``type``, ``values``...) repeat in every record.
    """
    from yaml.cyaml import CParser

    keygen = inspect.getattr_static(base, "KEYGEN", None)
    memo = {}
    if isinstance(keygen, staticmethod):  # natural order's natsort key; "simple" is identity
        memo["KEYGEN"] = staticmethod(functools.lru_cache(maxsize=4096)(keygen.__func__))

    class Loader(CParser, base):  # type: ignore[misc,valid-type]
        def __init__(self, stream: IO[str] | str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._stream_name = getattr(stream, "name", "<unicode string>")

        def get_mark(self) -> Mark:
            # ContextLoader's !include reads the including file's name from here (PyYAML's
            # Reader keeps a position; only the name is used).
            return Mark(self._stream_name, 0, 0, 0, None, None)

    for name, value in memo.items():
        setattr(Loader, name, value)

    Loader.__name__ = Loader.__qualname__ = f"Libyaml{base.__name__}"
    return Loader


_LOADERS: dict[str, type] = {}
if LIBYAML:
    _LOADERS = {
        "natural": _accelerated(octodns_yaml.NaturalSortEnforcingLoader),
        "simple": _accelerated(octodns_yaml.SimpleSortEnforcingLoader),
        UNORDERED: _accelerated(octodns_yaml.ContextLoader),
    }


def loader(enforce_order: bool = True, order_mode: str = "natural") -> type:
    """The libyaml loader for octoDNS's ``safe_load(enforce_order, order_mode)`` settings.

    Falls back to octoDNS's own loader when libyaml is missing or the mode is unknown to us
    (octoDNS then raises its own ``InvalidOrder`` for a mode it does not know either).
    """
    key = order_mode if enforce_order else UNORDERED
    if key in _LOADERS:
        return _LOADERS[key]
    if not enforce_order:
        return octodns_yaml.ContextLoader
    return octodns_yaml._loaders.get(order_mode, octodns_yaml.ContextLoader)


def safe_load(
    stream: IO[str] | str, enforce_order: bool = True, order_mode: str = "natural"
) -> Any:
    """``octodns.yaml.safe_load`` with libyaml's parser: the same data, checks and errors."""
    if enforce_order and order_mode not in octodns_yaml._loaders:
        raise octodns_yaml.InvalidOrder(order_mode)
    return yaml.load(stream, loader(enforce_order, order_mode))


def register_order_mode(enforce_order: bool, order_mode: str) -> tuple[bool, str]:
    """(enforce_order, order_mode) that make octoDNS's ``safe_load`` use a libyaml loader.

    The mode is added to octoDNS's table of loaders (and of dumpers, so that a provider that
    also writes with its ``order_mode`` writes exactly as before). Returns the settings
    unchanged when libyaml is missing or the mode is not one octoDNS knows.
    """
    key = order_mode if enforce_order else UNORDERED
    if key not in _LOADERS or order_mode not in octodns_yaml._dumpers:
        if not LIBYAML:
            log.debug("PyYAML has no libyaml here: zone files are read by octoDNS's own loader")
        return enforce_order, order_mode
    name = f"{order_mode}{UNORDERED if not enforce_order else ''}{SUFFIX}"
    octodns_yaml._loaders.setdefault(name, _LOADERS[key])
    octodns_yaml._dumpers.setdefault(name, octodns_yaml._dumpers[order_mode])
    return True, name
