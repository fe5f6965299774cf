"""An octoDNS validator enabled for one test and gone afterwards, registry and all.

octoDNS keeps its validators in a process-wide registry. Disabling one is not enough: every
manager built later (a watch's, a sync's) re-activates each *registered* validator whose
``sets`` is None, so a test's validator would refuse records in tests that never asked for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from octodns.record import Record


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
