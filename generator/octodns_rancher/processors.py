"""octoDNS processors of our own, for what octoDNS does not ship."""

from __future__ import annotations

import logging

from octodns.processor.base import BaseProcessor
from octodns.provider.plan import Plan
from octodns.record import Delete


class UpsertOnlyPolicy(BaseProcessor):
    """Drop deletions from every plan: records are created and updated, never removed.

    external-dns calls this ``--policy=upsert-only``. Use it where records must outlive the
    services behind them (for example during a migration between environments).
    """

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.log = logging.getLogger(f"{self.__class__.__name__}[{name}]")

    def process_plan(self, plan, sources, target, lenient=False):
        if not plan:
            return plan
        kept = [c for c in plan.changes if not isinstance(c, Delete)]
        dropped = len(plan.changes) - len(kept)
        if not dropped:
            return plan
        self.log.info("upsert-only: keeping %d record(s) that a sync would delete", dropped)
        if not kept:
            return None
        return Plan(plan.existing, plan.desired, kept, plan.exists, meta=plan.meta)
