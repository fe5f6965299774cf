"""One run of the generator: source → model → records → render → publish.

The CLI, the watch loop and the octoDNS source all go through here, so there is exactly one
place where the stages are put together and where a run decides whether it may write.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import guards, model
from .errors import ConfigError
from .guards import EmptyMetadataError, Thresholds, TooManyRemovalsError
from .lock import remove_stale_temp_files, run_lock
from .publish import Summary, summarize, write_if_changed
from .records import DEFAULT_TEMPLATE, DEFAULT_TTL, DesiredRecord, Settings, desired_records
from .render import render_octodns
from .source import DEFAULT_API_VERSION, DEFAULT_URL, MetadataClient, Snapshot, load_snapshot

log = logging.getLogger(__name__)


# The guards' errors are re-exported: callers catch them from the stage that raises them.
__all__ = [
    "FORMATS",
    "EmptyMetadataError",
    "Options",
    "Result",
    "TooManyRemovalsError",
    "compute",
    "generate",
    "read_metadata",
    "terraform_path",
    "zone_path",
]

# Output formats: the octoDNS zone file and/or the same records as Terraform resources.
FORMATS = ("octodns", "terraform")


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
    force: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    lock_wait: float = 0.0
    formats: tuple[str, ...] = ("octodns",)


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
    # Every file of the requested formats → its text; ``path``/``text`` stay the octoDNS file's.
    files: dict[Path, str] = field(default_factory=dict)
    written_files: list[Path] = field(default_factory=list)

    @property
    def changed_files(self) -> list[Path]:
        """The output files whose text differs (annotations included) from what is on disk."""
        files = self.files or {self.path: self.text}
        return [p for p, text in files.items() if _read(p) != text]

    @property
    def changed(self) -> bool:
        return bool(self.changed_files)


def read_metadata(opts: Options) -> Snapshot:
    if opts.metadata_file is not None:
        return load_snapshot(opts.metadata_file)
    client = MetadataClient(opts.metadata_url, opts.api_version, timeout=opts.timeout)
    return client.fetch(environment_known=bool(opts.environment))


def zone_path(zones_dir: Path, zone: str) -> Path:
    """YamlProvider's file name for a zone: ``<zones_dir>/<zone>.yaml``."""
    return Path(zones_dir) / f"{zone.rstrip('.').lower()}.yaml"


def terraform_path(zones_dir: Path, zone: str) -> Path:
    """The Terraform file of a zone: ``<zones_dir>/<zone>.tf.json``."""
    return Path(zones_dir) / f"{zone.rstrip('.').lower()}.tf.json"


def formats(requested: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``octodns``, ``terraform``, ``all`` or a list of them → formats in ``FORMATS`` order."""
    names = {requested} if isinstance(requested, str) else set(requested)
    if "all" in names:
        names = (names - {"all"}) | set(FORMATS)
    unknown = sorted(names - set(FORMATS))
    if unknown or not names:
        raise ConfigError(
            f"invalid output format {', '.join(unknown) or '(none)'}: "
            f"expected {', '.join(FORMATS)} or all"
        )
    return tuple(f for f in FORMATS if f in names)


def compute(opts: Options, snapshot: Snapshot | None = None) -> Result:
    """Everything but the write: read, build, render, and compare with the file on disk."""
    with _gc_paused():
        return _compute(opts, snapshot)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one run.

    A run holds the whole environment's metadata (a million small objects at 100,000
    containers) while it allocates as many again; every full collection walks all of them and
    took more than half of a large run's time. The run's data has no reference cycles (it is
    freed by reference counting), and the collector resumes after the run.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compute(opts: Options, snapshot: Snapshot | None) -> Result:
    settings = Settings(zone=opts.zone, ttl=opts.ttl, name_template=opts.name_template)
    snapshot = snapshot if snapshot is not None else read_metadata(opts)
    env = model.build(snapshot, opts.environment)
    records = desired_records(env, settings)
    text = render_octodns(records, settings.zone, env.name)
    path = zone_path(opts.zones_dir, settings.zone)
    # Every requested file is rendered and guarded before anything is written, so a run that
    # fails in any part writes none of them. Each file's old content is read as octoDNS text.
    files: dict[Path, str] = {}
    olds: dict[Path, str | None] = {}
    wanted = formats(opts.formats)
    if "octodns" in wanted:
        files[path], olds[path] = text, _read(path)
    if "terraform" in wanted:
        # Imported when asked for: it brings octoDNS's YAML dumper (and natsort) along.
        from .terraform import as_octodns_text, render_terraform

        tf_path = terraform_path(opts.zones_dir, settings.zone)
        files[tf_path] = render_terraform(records, settings.zone, env.name)
        olds[tf_path] = as_octodns_text(_read(tf_path), settings.zone)
    for out_path, old in olds.items():
        guards.check(
            env,
            records,
            old,
            text,
            out_path,
            allow_empty=opts.allow_empty,
            force=opts.force,
            thresholds=opts.thresholds,
        )
    return Result(
        path=path,
        text=text,
        records=records,
        summary=summarize(next(iter(olds.values())), text),
        environment=env.name,
        requests=snapshot.requests,
        files=files,
    )


def generate(opts: Options, snapshot: Snapshot | None = None, write: bool = True) -> Result:
    """Compute the zone file and, unless ``write`` is False, write it if it changed.

    A writing run holds the zones directory's lock from before it reads the old file until
    after it wrote the new one, so two runs never interleave.
    """
    if not write:
        return compute(opts, snapshot)
    with run_lock(opts.zones_dir, opts.lock_wait):
        result = compute(opts, snapshot)
        for path in result.files:
            remove_stale_temp_files(path)
        result.written_files = [p for p, t in result.files.items() if write_if_changed(p, t)]
        result.written = bool(result.written_files)
    return result


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
