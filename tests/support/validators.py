"""An octoDNS validator enabled for one test and gone afterwards, registry and all.

octoDNS keeps its validators in a process-wide registry. Disabling one is not enough: every
manager built later (a watch's, a sync's) re-activates each *registered* validator whose
``sets`` is None, so a test's validator would refuse records in tests that never asked for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from octodns.record import Record
from octodns.record.validator import ValidationReason, ValueValidator


class Refusing(ValueValidator):
    """A value validator an operator might enable: refuses each value ``refuse`` matches."""

    def __init__(self, id: str, refuse: Callable[[str], bool], why: str = "is refused here"):
        super().__init__(id)
        self.refuse, self.why = refuse, why

    def validate(self, value_cls, data, _type):  # type: ignore[no-untyped-def]
        values = data if isinstance(data, (list, tuple)) else (data,)
        return [
            ValidationReason(f"{v} {self.why}", validator_id=self.id)
            for v in values
            if self.refuse(str(v))
        ]


@contextmanager
def enabled_validator(validator: object, types: list[str]) -> Iterator[None]:
    """Register and enable ``validator`` for ``types``; restore the registry as it was."""
    registry = Record.validators
    tables = (
        registry.available_record,
        registry.available_value,
        registry.active_record,
        registry.active_value,
    )
    saved = [{key: dict(bucket) for key, bucket in table.items()} for table in tables]
    configured = registry.configured
    Record.register_validator(validator, types=types, replace=True)
    Record.validators.enable(validator.id, types=types)
    try:
        yield
    finally:
        for table, copy in zip(tables, saved, strict=True):
            table.clear()
            table.update(copy)
        registry.configured = configured
