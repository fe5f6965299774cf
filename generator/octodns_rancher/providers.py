"""octoDNS providers of our own, for what octoDNS's behaviour would otherwise lose."""

from __future__ import annotations

import copy

from octodns.provider.yaml import YamlProvider
from octodns.zone import Zone


class SubtreeYamlProvider(YamlProvider):
    """A ``YamlProvider`` target that keeps the records a filter hid from the plan.

    ``YamlProvider`` writes a zone file from scratch: the plan's ``existing`` zone plus the
    changes. When a processor such as ``NameAllowlistFilter`` restricts the sync to
    ``<environment>.<zone>``, ``existing`` only holds that subtree, so every other record of the
    file (``www``, the apex, another environment's names) would be dropped on the first apply.
    Here the changes are applied to the whole file as it is on disk instead.
    """

    def _apply(self, plan):
        full = Zone(plan.existing.name, plan.existing.sub_zones)
        self.populate(full, target=True, lenient=True)
        whole = copy.copy(plan)
        whole.existing = full
        return super()._apply(whole)
