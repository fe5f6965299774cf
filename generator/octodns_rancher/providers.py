"""octoDNS providers of our own, for what octoDNS's behaviour would otherwise lose."""

from __future__ import annotations

import copy
from typing import Any

from octodns.provider.yaml import YamlProvider as _UpstreamYamlProvider
from octodns.zone import Zone

from .yamlload import register_order_mode


class YamlProvider(_UpstreamYamlProvider):
    """octoDNS's ``YamlProvider`` reading its files with libyaml (``yamlload``).

    Every option, every record, every check and every error message is octoDNS's: the same
    loader classes build the data, refuse keys out of order (``enforce_order``) and follow
    ``!include``; only the parsing of the text is libyaml's, about five times faster on a
    large zone file. Without libyaml it is octoDNS's ``YamlProvider`` as it is.
    """

    def __init__(self, id: str, directory: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(id, directory, *args, **kwargs)
        self.enforce_order, self.order_mode = register_order_mode(
            self.enforce_order, self.order_mode
        )


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
