"""Values kept per object between the runs of a long-running watch, while the object stays.

The watch hands each run the same dicts for the objects no event replaced, and the model the
same ``KubeObject`` for the same dict: a value computed from an object (the object read from
its dict, the names it claims) is kept for as long as the very object (``is``) comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
V = TypeVar("V")


def by_identity(
    memo: dict[int, tuple[Any, Any]] | None,
    items: Iterable[T],
    compute: Callable[[T, int], V],
) -> list[V]:
    """``compute(item, index)`` for each item, in order; with a ``memo``, an item that is the
    very object it was at the last call keeps its value, and the memo then holds this call's
    items only (the object is kept beside its value, so its ``id`` cannot be reused)."""
    if memo is None:
        return [compute(item, i) for i, item in enumerate(items)]
    last = dict(memo)
    memo.clear()
    out = []
    for i, item in enumerate(items):
        hit = last.get(id(item))
        value = hit[1] if hit is not None and hit[0] is item else compute(item, i)
        memo[id(item)] = (item, value)
        out.append(value)
    return out
