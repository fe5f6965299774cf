"""One run of the generator: source → model → records → render → publish.

Each source (Rancher here, Kubernetes in ``kubernetes/``) ends in ``Desired``: the records,
the subtrees the run owns, and what to say when it gave nothing. From there on, one path.

The CLI, the watch loop and the octoDNS source all go through here, so there is exactly one
place where the stages are put together and where a run decides whether it may write.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import guards, model, subtrees
from .desired import DesiredRecord
from .errors import ConfigError, RancherDnsError
from .guards import EmptyMetadataError, Thresholds, TooManyRemovalsError
from .lock import remove_stale_temp_files, run_lock
from .logs import clip
from .names import printable
from .publish import Summary, summarize, write_if_changed, zone_entries
from .records import DEFAULT_TEMPLATE, DEFAULT_TTL, Settings, desired_records, subtree
from .render import render_octodns
from .rendercache import RenderCache
from .source import (
    DEFAULT_API_VERSION,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    DEFAULT_URL,
    MetadataClient,
    Snapshot,
    load_snapshot,
)

log = logging.getLogger(__name__)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES
    allow_empty: bool = False
    force: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    lock_wait: float = 0.0
    formats: tuple[str, ...] = ("octodns",)
    # Which source's rules make the records: "rancher", or "kubernetes" with its settings.
    source: str = "rancher"
    kubernetes: Any = None


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
    # Each output file as it was on disk when this result was computed (None: absent).
    read: dict[Path, str | None] = field(default_factory=dict)

    def still_current(self) -> bool:
        """Whether every output file is still as this result read it (a result computed
        ahead of its write is only written if nothing else wrote those files meanwhile)."""
        return bool(self.read) and all(_read(p) == text for p, text in self.read.items())

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
        return load_snapshot(opts.metadata_file, opts.max_bytes, opts.deadline)
    return metadata_client(opts).fetch(environment_known=bool(opts.environment))


def metadata_client(opts: Options, **retry: float) -> MetadataClient:
    """The rancher-metadata client with the run's limits (``retry``: retries, backoff)."""
    return MetadataClient(
        opts.metadata_url,
        opts.api_version,
        timeout=opts.timeout,
        deadline=opts.deadline,
        max_bytes=opts.max_bytes,
        **retry,  # type: ignore[arg-type]
    )


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


def compute(opts: Options, snapshot: object | None = None, cache: RunCache | None = None) -> Result:
    """Everything but the write: read, build, render, and compare with the file on disk.

    ``cache``: what a long-running process (``watch``) keeps between runs, so that a run costs
    what changed; the result is the same without it.
    """
    with _gc_paused():
        return _compute(opts, snapshot, cache)


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


@dataclass
class RunCache:
    """What a long-running process keeps from one run to the next (see ``compute``)."""

    render: RenderCache = field(default_factory=RenderCache)
    source: dict[str, Any] = field(default_factory=dict)  # the source stage's own memory


@dataclass
class Desired:
    """What a source's rules give the rest of the run: nothing after this names a source."""

    records: list[DesiredRecord]
    name: str  # the environment's or the cluster's name
    subtrees: tuple[str, ...]  # the fully qualified names this run owns everything below
    empty: str  # what the source gave when it gave no records, for the empty guard
    requests: int = 0
    edit_hint: str = "Edit the source's objects, not this file."
    server: str = "the source"  # where the data came from, for messages


# Where each source's data comes from, as messages name it.
SERVERS = {"rancher": "rancher-metadata", "kubernetes": "the Kubernetes API server"}


def server_of(source: str) -> str:
    """The server a source reads, for log lines, errors and ``/healthz``."""
    return SERVERS.get(source, "the source")


def desired(
    opts: Options, snapshot: object | None = None, cache: RunCache | None = None
) -> Desired:
    """Run the chosen source's stages: read, model, rules."""
    if opts.source == "kubernetes":
        # Imported when asked for: Rancher runs never load the Kubernetes client.
        from .kubernetes.stage import desired as kubernetes_desired

        return kubernetes_desired(opts, snapshot, cache.source if cache else None)
    if opts.source != "rancher":
        raise ConfigError(f"invalid source {opts.source!r}: expected rancher or kubernetes")
    settings = Settings(zone=opts.zone, ttl=opts.ttl, name_template=opts.name_template)
    snap = snapshot if isinstance(snapshot, Snapshot) else read_metadata(opts)
    env = model.build(snap, opts.environment)
    what = "no hosts" if not env.hosts else "no services" if not env.services else "no records"
    return Desired(
        records=desired_records(env, settings),
        name=env.name,
        subtrees=(subtree(env.name, settings.zone),),
        empty=f"metadata gave {what}",
        requests=snap.requests,
        edit_hint="Edit the Rancher services, not this file.",
        server=server_of("rancher"),
    )


def _compute(opts: Options, snapshot: object | None, cache: RunCache | None) -> Result:
    want = desired(opts, snapshot, cache)
    records = want.records
    zone = Settings(zone=opts.zone).zone
    if cache is not None:
        own_text = cache.render.render_octodns(records, zone, subtrees=want.subtrees)
    else:
        own_text = render_octodns(records, zone, subtrees=want.subtrees)
    rel = subtrees.relative(want.subtrees, zone)
    path = zone_path(opts.zones_dir, zone)
    # Every requested file is rendered and guarded before anything is written, so a run that
    # fails in any part writes none of them. Each file's old content is read as octoDNS text,
    # and only this run's own subtrees of it are compared: other sources' entries stay as
    # they are and are never counted as this run's removals.
    files: dict[Path, str] = {}
    olds: dict[Path, str | None] = {}
    read: dict[Path, str | None] = {}
    wanted = formats(opts.formats)
    if "octodns" in wanted:
        old_text = read[path] = _read(path)
        _check_old(path, old_text, "octodns")
        shared = subtrees.SharedZone(old_text, rel, path)
        _check_overlap(shared, opts.source, want.subtrees, path)
        files[path], olds[path] = shared.merged(own_text), shared.old_own_text()
    if "terraform" in wanted:
        # Imported when asked for: it brings octoDNS's YAML dumper (and natsort) along.
        from .terraform import as_octodns_text, keep_others, render_terraform

        tf_path = terraform_path(opts.zones_dir, zone)
        tf_old = read[tf_path] = _read(tf_path)
        _check_old(tf_path, tf_old, "terraform")
        tf_text = render_terraform(records, zone, subtrees=want.subtrees, edit_hint=want.edit_hint)
        files[tf_path] = keep_others(tf_text, tf_old, want.subtrees)
        tf_shared = subtrees.SharedZone(as_octodns_text(tf_old, zone), rel, tf_path)
        olds[tf_path] = tf_shared.old_own_text()
    for out_path, old in olds.items():
        guards.check(
            want.empty,
            records,
            old,
            own_text,
            out_path,
            allow_empty=opts.allow_empty,
            force=opts.force,
            thresholds=opts.thresholds,
            server=want.server,
        )
    return Result(
        path=path,
        text=files.get(path, own_text),
        records=records,
        summary=summarize(next(iter(olds.values())), own_text),
        environment=want.name,
        requests=want.requests,
        files=files,
        read=read,
    )


def _check_overlap(
    shared: subtrees.SharedZone, source: str, owned: tuple[str, ...], path: Path
) -> None:
    """Stop before a run replaces records another source wrote below its subtrees (a subtree
    listed over another source's names by mistake): nothing is written."""
    foreign = shared.foreign(s for s in SERVERS if s != source)
    if not foreign:
        return
    name, owner = foreign[0]
    more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
    raise RancherDnsError(
        f"{path}: {printable(name)}{more} lies below this run's subtrees ({', '.join(owned)}) "
        f"but was written by the {owner} source: the subtrees of two sources overlap; give "
        "each its own subtree; nothing was written"
    )


def generate(
    opts: Options,
    snapshot: object | None = None,
    write: bool = True,
    cache: RunCache | None = None,
    prepared: Result | None = None,
) -> Result:
    """Compute the zone file and, unless ``write`` is False, write it if it changed.

    A writing run holds the zones directory's lock from before it reads the old file until
    after it wrote the new one, so two runs never interleave. ``prepared``: the result of
    ``compute`` for this same ``snapshot``, made ahead (``watch`` makes it during the quiet
    period); it is written only if the files are still as it read them, else computed again.
    """
    if not write:
        return compute(opts, snapshot, cache)
    with run_lock(opts.zones_dir, opts.lock_wait):
        if prepared is not None and prepared.still_current():
            result = prepared
        else:
            result = compute(opts, snapshot, cache)
        for path in result.files:
            remove_stale_temp_files(path)
        result.written_files = [p for p, t in result.files.items() if write_if_changed(p, t)]
        result.written = bool(result.written_files)
    return result


def _read(path: Path) -> str | None:
    """The text of an output file as it is now, None if there is none; anything that cannot
    be read as text is an error naming the file (a run that cannot compare must not write)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise ConfigError(
            f"cannot read {path}: {path.parent} is not a directory (--zones-dir, ZONES_DIR)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a file; move it away") from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {e.start}: {e.reason}); fix or remove it"
        ) from None


def _check_old(path: Path, old: str | None, kind: str) -> None:
    """An existing output file must be readable as what it claims to be: the guards and the
    summary compare against it, and one they cannot read would look empty."""
    if old is None or not old.strip():
        return
    if kind == "terraform":
        problem = terraform_shape(old)
    else:
        try:
            # An entry-less text is parsed again to learn what it is (a list, a scalar).
            data = {} if zone_entries(old) else yaml.load(old, Loader=_LOADER)
        except yaml.YAMLError as e:
            raise ConfigError(
                f"{path} is not valid YAML ({clip(' '.join(str(e).split()))}); fix or remove "
                "it; nothing was written"
            ) from None
        problem = None if isinstance(data, dict) or data is None else "not a mapping of names"
    if problem:
        raise ConfigError(f"{path} is {problem}; fix or remove it; nothing was written")


def terraform_shape(text: str) -> str | None:
    """What is wrong with the shape of a ``.tf.json`` text, or None if it is readable."""
    try:
        data = json.loads(text)
    except ValueError as e:
        return f"not valid JSON ({clip(str(e))})"
    if not isinstance(data, dict):
        return "not a JSON object"
    resources = data.get("resource", {})
    if not isinstance(resources, dict):
        return "not Terraform JSON: 'resource' is not an object"
    records = resources.get("aws_route53_record", {})
    if not isinstance(records, dict) or not all(isinstance(v, dict) for v in records.values()):
        return "not Terraform JSON: 'resource.aws_route53_record' is not an object of objects"
    return None
