"""octoDNS's sync of one zone, kept alive between the cycles of ``watch --apply``.

``octodns-sync --doit`` starts from nothing every time: it reads the configuration, reads the
zone file (a YAML parse and a record built per entry), lists the whole zone at the provider,
plans and applies. A long-running ``watch --apply`` holds one octoDNS ``Manager`` built from
the same configuration instead, with two changes made through octoDNS's own extension points:

- the configuration's ``YamlProvider`` source for the generated zone file is replaced by a
  ``memory.MemorySource`` fed with the data the generator just rendered (the file is still
  written, for the record and for ``octodns-sync`` runs by hand);
- each target becomes its ``zonecache.ZoneCache`` subclass, which keeps the zone it read,
  updates it from every change it applies, and checks the record sets a plan changes before
  applying it.

Sources, processors (filters, ownership, policies), planning, the safety thresholds and the
providers' requests are octoDNS's and the providers' own, called by ``Manager.sync`` exactly as
``octodns-sync`` calls them. The whole zone is read again (with a new ``Manager``, so that no
provider keeps an old listing of its own) at start, when ``forget()`` is called (every resync
interval), after any failed or rejected sync, and when a plan's record sets are not at the
provider as they were read (``StaleView``: a hand edit); the plan is then made again at once.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .memory import MemorySource, reuse_markers
from .octodns_manager import load_manager
from .zonecache import StaleView, ZoneCache, cached

log = logging.getLogger(__name__)


class ZoneSync:
    """``sync(data)`` applies a zone's data as ``octodns-sync --doit`` would, incrementally."""

    def __init__(self, config_file: Path, zone: str, zones_dir: Path) -> None:
        self.config_file = Path(config_file)
        self.zone = zone.rstrip(".").lower() + "."
        self.zones_dir = Path(zones_dir)
        self.manager: Any = None
        self.source: MemorySource | None = None
        self.full_reads = 0  # Managers built (each lists the whole zone at its targets)
        self.plan_text = ""
        self._reuse = False  # whether every target checks its cached view

    def forget(self) -> None:
        """Read the whole zone from the provider at the next sync."""
        self.manager = None

    def sync(self, data: dict[str, Any]) -> int:
        """Plan and apply ``data`` (the zone file's content); the number of changes applied."""
        for _ in range(2):
            if self.manager is None:
                self.manager = self._open()
            if self.source is not None:
                self.source.set_zone(self.zone, data)
            out = io.StringIO()
            try:
                changes = self.manager.sync(
                    eligible_zones=[self.zone], dry_run=False, plan_output_fh=out
                )
            except StaleView as e:
                log.warning("%s", e)
                self.manager = None
                continue
            except BaseException:
                self.manager = None
                raise
            finally:
                self.plan_text = out.getvalue()
            if not self._reuse:
                self.manager = None
            return changes
        raise StaleView(
            f"{self.zone}: the provider changed while the zone was read"
        )  # pragma: no cover

    def targets(self) -> list[Any]:
        if self.manager is None:
            return []
        config = self.manager.config["zones"].get(self.zone) or {}
        return [self.manager.providers[t] for t in config.get("targets") or ()]

    def check(self) -> None:
        """Load the config as a sync would, so that a loop can refuse a bad one at its start
        (ConfigError, one line) instead of failing at every cycle."""
        self._zone_config(load_manager(self.config_file))

    def _zone_config(self, manager: Any) -> dict[str, Any]:
        config = manager.config["zones"].get(self.zone)
        if config is None:
            raise ConfigError(f"octoDNS config {self.config_file} has no zone {self.zone}")
        return config

    def _open(self) -> Any:
        manager = load_manager(self.config_file)
        config = self._zone_config(manager)
        for name in config.get("sources") or ():
            provider = manager.providers.get(name)
            if self._reads_zone_file(provider):
                if self.source is None or self.source.id != name:
                    self.source = MemorySource(name, like=provider)
                manager.providers[name] = self.source
                break
        else:
            if self.source is None:
                log.info(
                    "no source of %s reads %s: octoDNS reads its sources every cycle",
                    self.zone,
                    self.zones_dir,
                )
        for processor in manager.processors.values():
            reuse_markers(processor)
        uncached = []
        for name in config.get("targets") or ():
            if not isinstance(cached(manager.providers[name]), ZoneCache):
                uncached.append(name)
        if uncached:
            log.info("targets %s are read in full every cycle", ", ".join(uncached))
        self._reuse = not uncached
        self.full_reads += 1
        return manager

    def _reads_zone_file(self, provider: Any) -> bool:
        """Whether ``provider`` is a YamlProvider reading ``<zones_dir>/<zone>.yaml`` alone."""
        from octodns.provider.yaml import YamlProvider

        if not isinstance(provider, YamlProvider):
            return False
        if provider.split_extension or provider.shared_filename or provider.disable_zonefile:
            return False
        try:
            return Path(provider.directory).resolve() == self.zones_dir.resolve()
        except OSError:
            return False
