"""One run of the generator: source → model → records → render → publish.

The CLI, the watch loop and the octoDNS source all go through here, so there is exactly one
place where the stages are put together and where a run decides whether it may write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from . import model
from .errors import RancherDnsError
from .publish import Summary, summarize, write_if_changed, zone_entries
from .records import DEFAULT_TEMPLATE, DEFAULT_TTL, DesiredRecord, Settings, desired_records
from .render import render_octodns
from .source import DEFAULT_API_VERSION, DEFAULT_URL, MetadataClient, Snapshot, load_snapshot

log = logging.getLogger(__name__)


class EmptyMetadataError(RancherDnsError):
    """Metadata with no services or no hosts would wipe a zone that has records."""


@dataclass
class Options:
    zone: str
    environment: str | None = None
    ttl: int = DEFAULT_TTL
    name_template: str = DEFAULT_TEMPLATE
    zones_dir: Path = Path("zones")
    metadata_url: str = DEFAULT_URL
    metadata_file: Path | None = None
    api_version: str = DEFAULT_API_VERSION
    timeout: float = 10.0
    allow_empty: bool = False


@dataclass
class Result:
    path: Path
    text: str
    records: list[DesiredRecord]
    summary: Summary
    environment: str
    written: bool = False
    requests: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the file's text differs (annotations included) from what is on disk."""
        try:
            return self.path.read_text(encoding="utf-8") != self.text
        except FileNotFoundError:
            return True


def read_metadata(opts: Options) -> Snapshot:
    if opts.metadata_file is not None:
        return load_snapshot(opts.metadata_file)
    client = MetadataClient(opts.metadata_url, opts.api_version, timeout=opts.timeout)
    return client.fetch(environment_known=bool(opts.environment))


def zone_path(zones_dir: Path, zone: str) -> Path:
    """YamlProvider's file name for a zone: ``<zones_dir>/<zone>.yaml``."""
    return Path(zones_dir) / f"{zone.rstrip('.').lower()}.yaml"


def compute(opts: Options, snapshot: Snapshot | None = None) -> Result:
    """Everything but the write: read, build, render, and compare with the file on disk."""
    settings = Settings(zone=opts.zone, ttl=opts.ttl, name_template=opts.name_template)
    snapshot = snapshot if snapshot is not None else read_metadata(opts)
    env = model.build(snapshot, opts.environment)
    records = desired_records(env, settings)
    text = render_octodns(records, settings.zone)
    path = zone_path(opts.zones_dir, settings.zone)
    old = _read(path)
    _guard_empty(env, records, old, path, opts.allow_empty)
    return Result(
        path=path,
        text=text,
        records=records,
        summary=summarize(old, text),
        environment=env.name,
        requests=snapshot.requests,
    )


def generate(opts: Options, snapshot: Snapshot | None = None, write: bool = True) -> Result:
    """Compute the zone file and, unless ``write`` is False, write it if it changed."""
    result = compute(opts, snapshot)
    if write:
        result.written = write_if_changed(result.path, result.text)
    return result


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _guard_empty(
    env: model.Environment,
    records: list[DesiredRecord],
    old: str | None,
    path: Path,
    allow_empty: bool,
) -> None:
    """Refuse to turn a zone with records into an empty one because metadata came back empty.

    A metadata server that restarted or lost its data can answer with empty lists; read as
    "no services", that would delete every record. An operator who really wants an empty zone
    says so with --allow-empty.
    """
    if allow_empty or records:
        return
    existing = len(zone_entries(old))
    if not existing:
        return
    what = "no hosts" if not env.hosts else "no services" if not env.services else "no records"
    raise EmptyMetadataError(
        f"metadata gave {what} but {path} has {existing} name(s); refusing to empty it "
        "(pass --allow-empty if this is intended)"
    )
