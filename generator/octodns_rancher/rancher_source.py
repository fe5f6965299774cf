"""The record logic as an octoDNS source, so ``octodns-sync`` can read Rancher directly.

    providers:
      rancher:
        class: octodns_rancher.RancherSource
        metadata_url: http://rancher-metadata.rancher.internal
        # or: metadata_file: ./config/metadata-snapshot.json
        environment: Production      # optional; default: from /self/stack
        ttl: 300
        name_template: '%{{service_name}}.%{{stack_name}}.%{{environment_name}}'

The zone being populated is the ``<zone>`` of the rules; its records are exactly what
``octodns-rancher generate`` would write for it. The metadata is read once per source and
reused for every zone it populates.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from octodns.source.base import BaseSource

from . import model
from .records import DEFAULT_TEMPLATE, DEFAULT_TTL, Settings, desired_records, subtree
from .render import build_zone
from .source import DEFAULT_API_VERSION, DEFAULT_URL, MetadataClient, Snapshot, load_snapshot


class RancherSource(BaseSource):
    SUPPORTS_GEO = False
    SUPPORTS_DYNAMIC = False
    SUPPORTS: ClassVar[set[str]] = {"A", "AAAA"}

    def __init__(
        self,
        id: str,
        metadata_url: str = DEFAULT_URL,
        metadata_file: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        environment: str | None = None,
        ttl: int = DEFAULT_TTL,
        name_template: str = DEFAULT_TEMPLATE,
        timeout: float = 10.0,
    ) -> None:
        self.log = logging.getLogger(f"{self.__class__.__name__}[{id}]")
        super().__init__(id)
        self.metadata_url = metadata_url
        self.metadata_file = metadata_file
        self.api_version = api_version
        self.environment = environment
        self.ttl = int(ttl)
        self.name_template = name_template
        self.timeout = timeout
        self._snapshot: Snapshot | None = None

    def _read(self) -> Snapshot:
        if self._snapshot is None:
            if self.metadata_file:
                self._snapshot = load_snapshot(Path(self.metadata_file))
            else:
                client = MetadataClient(self.metadata_url, self.api_version, timeout=self.timeout)
                self._snapshot = client.fetch(environment_known=bool(self.environment))
        return self._snapshot

    def populate(self, zone, target: bool = False, lenient: bool = False) -> bool:
        self.log.debug("populate: zone=%s", zone.decoded_name)
        if target:
            return False
        settings = Settings(zone=zone.name, ttl=self.ttl, name_template=self.name_template)
        env = model.build(self._read(), self.environment)
        before = len(zone.records)
        build_zone(
            desired_records(env, settings), zone, subtrees=(subtree(env.name, settings.zone),)
        )
        self.log.info(
            "populate: %d record(s) for %s", len(zone.records) - before, zone.decoded_name
        )
        return True
