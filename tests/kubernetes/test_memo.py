"""by_identity: a value is kept for as long as the very same object comes back."""

from __future__ import annotations

from octodns_rancher.kubernetes.memo import by_identity


def test_values_are_kept_for_the_same_objects_only():
    calls: list[int] = []

    def compute(item: dict, index: int) -> tuple[int, int]:
        calls.append(item["n"])
        return (item["n"], index)

    a, b, c = {"n": 1}, {"n": 2}, {"n": 3}
    memo: dict = {}
    assert by_identity(memo, [a, b], compute) == [(1, 0), (2, 1)]
    # b again (kept, with its first index), an equal copy of a (computed: not the same object).
    copy = dict(a)
    assert by_identity(memo, [b, copy, c], compute) == [(2, 1), (1, 1), (3, 2)]
    assert calls == [1, 2, 1, 3]
    # The memo holds this call's objects only: a is gone.
    assert sorted(id(v[0]) for v in memo.values()) == sorted(map(id, (b, copy, c)))


def test_without_a_memo_everything_is_computed():
    calls: list[int] = []
    items = [{"n": 1}, {"n": 2}]
    assert by_identity(None, items, lambda item, i: calls.append(i) or i) == [0, 1]
    assert by_identity(None, items, lambda item, i: calls.append(i) or i) == [0, 1]
    assert calls == [0, 1, 0, 1]
