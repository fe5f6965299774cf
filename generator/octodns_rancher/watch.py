"""Keep the zone file in step with its source: wait, settle, regenerate, publish, repeat.

The source is rancher-metadata, or a Kubernetes cluster through ``kubernetes/watch.py``, which
offers the same three calls (``version``, ``wait_for_change``, ``fetch``) over the watch API; the
loop names neither, beyond the server's name in its messages. The loop only drives the pipeline. It long-polls ``/version`` (the server answers the moment
its data is reloaded), waits for a quiet period so that a burst of reloads becomes one
regeneration, and regenerates through ``pipeline.generate``, which writes the zone file only
when its text changed. ``/version`` changes on every reload even when nothing else did, so an
unchanged file is the common case, and it costs neither a write nor a commit nor a DNS change.
Every ``resync_interval`` the loop regenerates and publishes even without an event.

Publishing is one call on a ``Publisher``: ``GitPublisher`` commits the zone file (and pushes
it) for review, ``ApplyPublisher`` runs octoDNS's own sync in-process (``--apply``).

Failures never end the loop: the source's server restarting, timing out or answering garbage,
a refused guard, a failed push are logged once per attempt, counted by kind, shown on
``/healthz``, and retried after a capped exponential backoff, starting again from a fresh read
of ``/version``. SIGTERM and SIGINT end the loop between steps: a wait is cut short at once,
a write or a git command in progress is finished first, so no half-written file (writes are
atomic anyway) and no ``.git/index.lock`` is ever left behind.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import ConfigError, MetadataError, PublishError, RancherDnsError
from .guards import EmptyMetadataError, TooManyRemovalsError
from .logs import clip
from .metrics import Metrics
from .pipeline import (
    Options,
    Result,
    RunCache,
    generate,
    metadata_client,
    server_of,
    terraform_path,
    zone_path,
)
from .publish import Summary, summarize
from .redact import redact_text, redact_url
from .source import MetadataClient, Snapshot

log = logging.getLogger(__name__)

MAX_WAIT_CAP = 120  # rancher-metadata caps maxWait at 120 s


@dataclass
class WatchSettings:
    """How the loop waits. Seconds throughout."""

    quiet_period: float = 2.0
    resync_interval: float = 600.0
    max_wait: int = 60
    backoff_min: float = 1.0
    backoff_max: float = 60.0
    # A stream of reloads that never pauses still gets a regeneration after this long.
    max_settle: float | None = None

    def __post_init__(self) -> None:
        if self.quiet_period < 0:
            raise ConfigError(f"invalid quiet period {self.quiet_period!r}: must be >= 0")
        if self.resync_interval <= 0:
            raise ConfigError(f"invalid resync interval {self.resync_interval!r}: must be > 0")
        if not 1 <= self.max_wait <= MAX_WAIT_CAP:
            raise ConfigError(
                f"invalid max wait {self.max_wait!r}: must be 1..{MAX_WAIT_CAP} seconds"
            )
        if not 0 < self.backoff_min <= self.backoff_max:
            raise ConfigError(
                f"invalid backoff {self.backoff_min!r}..{self.backoff_max!r}: "
                "need 0 < minimum <= maximum"
            )
        if self.max_settle is None:
            self.max_settle = max(10 * self.quiet_period, 1.0)


class Publisher(Protocol):
    """Takes a generated zone to its destination; returns how many commits/syncs it made."""

    name: str

    def publish(self, opts: Options, result: Result, snapshot: Snapshot) -> int: ...

    def resync(self) -> None:
        """The next publish must not trust what it remembers of its destination."""


class GitPublisher:
    """GitOps: commit the zone file when it differs from the committed one; push if asked."""

    name = "gitops"

    def __init__(
        self,
        zones_dir: Path,
        push: bool = False,
        remote: str = "origin",
        branch: str | None = None,
        attempts: int = 3,
    ) -> None:
        from .gitrepo import GitRepo

        self.repo = GitRepo.discover(zones_dir)
        self.push, self.remote, self.branch, self.attempts = push, remote, branch, attempts
        # Whether the file on disk matched the last commit after the previous publish.
        self._in_step = False

    def resync(self) -> None:
        """Nothing to forget: every publish compares with the last commit."""

    def publish(self, opts: Options, result: Result, snapshot: Snapshot) -> int:
        from .gitpush import commit_and_push

        # After a successful publish the file that this cycle replaced was the committed one.
        in_step = self._in_step and result.written
        summary = result.summary if in_step else self._against_head(result)
        self._in_step = False
        done = commit_and_push(
            self.repo,
            list(result.files or {result.path: result.text}),
            opts.zone,
            summary,
            regenerate=lambda: generate(opts, snapshot).summary,
            push=self.push,
            remote=self.remote,
            branch=self.branch,
            attempts=self.attempts,
            owned=[zone_path(opts.zones_dir, opts.zone), terraform_path(opts.zones_dir, opts.zone)],
        )
        self._in_step = True
        return 1 if done.sha else 0

    def _against_head(self, result: Result) -> Summary:
        """What the zone file changes relative to the last commit (first run, retry, resync).

        After a failed commit the file on disk is already the new one; the message must still
        say what this commit changes.
        """
        committed = self.repo.git("show", f"HEAD:{self.repo.relative(result.path)}", check=False)
        return summarize(committed.stdout if committed.returncode == 0 else None, result.text)


class ApplyPublisher:
    """No review: octoDNS's sync of the zone in-process, as ``octodns-sync --doit`` would.

    One ``zonesync.ZoneSync`` is kept for the life of the loop: the records are handed to
    octoDNS in memory and the provider's zone is read in full only at start, at every resync
    interval (``resync``), after a failed sync, and when a plan's records changed at the
    provider since they were read; otherwise only the records a plan changes are read back.
    """

    name = "apply"

    def __init__(self, config_file: Path, zone: str, zones_dir: Path | None = None) -> None:
        from .zonesync import ZoneSync

        if not Path(config_file).is_file():
            raise ConfigError(f"octoDNS config {config_file} does not exist (needed for --apply)")
        self.config_file = Path(config_file)
        self.zone = zone.rstrip(".").lower() + "."
        self.session = ZoneSync(self.config_file, self.zone, Path(zones_dir or "zones"))
        # A config that cannot load (an unset env/ secret, a provider that does not import, a
        # zone it lacks) stops the command at start, in one line, rather than every cycle.
        self.session.check()
        self.syncs = 0  # successful syncs

    def resync(self) -> None:
        """Read the whole zone from the provider at the next publish."""
        self.session.forget()

    def publish(self, opts: Options, result: Result, snapshot: Snapshot) -> int:
        from .publish import zone_data

        if Path(opts.zones_dir).resolve() != self.session.zones_dir.resolve():
            self.session.zones_dir = Path(opts.zones_dir)
            self.session.forget()
        try:
            changes = self.session.sync(zone_data(result.text))
        except Exception as e:  # octoDNS and its providers raise many kinds
            raise ApplyError(
                f"octoDNS sync of {self.zone} with {self.config_file} failed: "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            ) from e
        log.info("octoDNS sync of %s applied %d change(s)", self.zone, changes)
        self.syncs += 1
        return 1


class ApplyError(PublishError):
    """octoDNS's sync (``--apply``) failed; the zone file on disk is still the generated one."""


class Stopping(BaseException):
    """Raised inside a wait by the signal handler, to end the loop without waiting it out."""


class Watcher:
    """The loop. ``run()`` blocks until ``stop()`` or SIGTERM/SIGINT (in the main thread)."""

    def __init__(
        self,
        opts: Options,
        settings: WatchSettings,
        publisher: Publisher,
        metrics: Metrics | None = None,
        client: MetadataClient | None = None,
        freeze_heap: bool = False,
    ) -> None:
        """``freeze_heap``: the process is this loop's alone (the CLI); see ``_freeze_heap``."""
        if opts.metadata_file is not None:
            raise ConfigError("watch reads rancher-metadata; --metadata-file cannot be watched")
        self.opts, self.settings, self.publisher = opts, settings, publisher
        self.server = server_of(opts.source)  # for log lines
        self.metrics = metrics or Metrics(server=self.server)
        # One retry in the client: the loop's own backoff handles longer outages.
        self.client = client or metadata_client(opts, retries=1, backoff=0.2)
        self.version: str | None = None
        self.cycles = 0
        self.failures = 0
        # The last cycle's records, their checks and texts: a cycle costs what changed.
        self.cache = RunCache()
        self._event = threading.Event()
        self._stopping = False
        self._waiting = 0  # depth of nested interruptible sections
        self._publish_pending = False
        self._next_resync = 0.0
        # (version, snapshot, result) read and computed in the quiet period's second half.
        self._prepared: tuple[str, Snapshot, Result] | None = None
        self.reads_ahead = 0  # results computed during a quiet period
        self.reads_ahead_used = 0  # ... that their cycle used (nothing changed meanwhile)
        self.freeze_heap = freeze_heap
        self.heap_freezes = 0  # full reads after which the heap was frozen

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the current step (safe from any thread)."""
        self._stopping = True
        self._event.set()

    @property
    def stopping(self) -> bool:
        return self._stopping or self._event.is_set()

    def run(self) -> int:
        log.info(
            "watching %s (quiet %gs, resync every %gs, publishing by %s)",
            redact_url(self.client.base),
            self.settings.quiet_period,
            self.settings.resync_interval,
            self.publisher.name,
        )
        with self._signals(), contextlib.suppress(Stopping):
            self._loop()
        log.info("watch stopped")
        return 0

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        delay = self.settings.backoff_min
        while not self.stopping:
            try:
                self._step()
            except Stopping:
                raise
            except Exception as e:
                kind = _kind(e)
                self.failures += 1
                self.metrics.failed(kind, str(e))
                if isinstance(e, RancherDnsError):
                    log.warning("%s; retrying in %.1f s", e, delay)
                else:
                    log.exception("unexpected %s; retrying in %.1f s", type(e).__name__, delay)
                # Start again from a fresh /version: whatever happened meanwhile is picked up.
                self.version = None
                self._sleep(delay)
                delay = min(delay * 2, self.settings.backoff_max)
            else:
                if self.failures:
                    log.info("recovered after %d failed attempt(s)", self.failures)
                self.failures = 0
                delay = self.settings.backoff_min

    def _step(self) -> None:
        if self.version is None:
            with self._interruptible():
                self.version = self._metadata(self.client.version)
            self._cycle("start" if self.cycles == 0 else "recover")
            return
        remaining = self._next_resync - time.monotonic()
        if remaining <= 0:
            self._cycle("resync")
            return
        wait = int(max(1, min(self.settings.max_wait, math.ceil(remaining))))
        with self._interruptible():
            new = self._metadata(lambda: self.client.wait_for_change(self.version or "", wait))
            if new == self.version:
                return
            log.debug("%s version %s → %s", self.server, self.version, new)
            self.version = self._settle(new)
        self._cycle("change")

    def _settle(self, latest: str) -> str:
        """Wait until ``/version`` has been still for the quiet period; the last version seen."""
        quiet = self.settings.quiet_period
        if quiet <= 0:
            return latest
        start = time.monotonic()
        deadline = start + quiet
        limit = start + (self.settings.max_settle or quiet)
        step = min(0.25, max(quiet / 4, 0.02))
        ahead = True  # one read ahead per settle: a storm of reloads costs no extra reads
        while (now := time.monotonic()) < min(deadline, limit):
            self._sleep(min(step, deadline - now))
            if ahead and deadline - time.monotonic() <= quiet / 2:
                ahead = False
                self._prepare(latest)
            # Always checked after a read ahead: a change during it re-arms the quiet period
            # and the cycle then reads again (the result is kept for its version only).
            current = self._metadata(self.client.version)
            if current != latest:
                log.debug("%s changed again (%s); quiet period re-armed", self.server, current)
                latest, deadline = current, time.monotonic() + quiet
        if time.monotonic() >= limit and time.monotonic() < deadline:
            log.info("%s kept changing for %.1f s; regenerating anyway", self.server, limit - start)
        return latest

    def _cycle(self, trigger: str) -> None:
        """Read, regenerate, write if changed, publish if needed; one histogram sample."""
        started = time.monotonic()
        prepared, self._prepared = self._prepared, None
        ready: Result | None = None
        if prepared is not None and trigger == "change" and prepared[0] == self.version:
            _, snapshot, ready = prepared
            self.reads_ahead_used += 1
            log.debug("using what was read and computed during the quiet period")
        else:
            snapshot = self._read()
        result = generate(self.opts, snapshot, cache=self.cache, prepared=ready)
        self.cycles += 1
        self.metrics.observe_records(r.type for r in result.records)
        if result.written:
            self.metrics.writes.inc()
            log.info(
                "%s: %s (%s); %d record(s)",
                result.path,
                result.summary.counts(),
                trigger,
                len(result.records),
            )
            for line in result.summary.lines():
                log.info("%s", line)
        else:
            log.debug("%s unchanged (%s)", result.path, trigger)
        # Start, recovery and resync: the publisher must not trust what it remembers.
        forget = getattr(self.publisher, "resync", None)
        if trigger != "change" and forget is not None:
            forget()
        if result.written or self._publish_pending or trigger != "change":
            self._publish(result, snapshot)
        self._next_resync = time.monotonic() + self.settings.resync_interval
        if trigger != "change" and self.freeze_heap:
            _freeze_heap()
            self.heap_freezes += 1
        self.metrics.cycle_duration.labels(trigger=trigger).observe(time.monotonic() - started)
        self.metrics.succeeded()

    def _read(self) -> Snapshot:
        with self._interruptible():
            return self._metadata(
                lambda: self.client.fetch(environment_known=bool(self.opts.environment))
            )

    def _prepare(self, version: str) -> None:
        """Read and compute ``version`` before its quiet period ends (nothing is written).

        Half the quiet period has passed without a change: if the rest passes too, the cycle
        only writes and publishes, so a change reaches its destination about a read and a
        render sooner. The files are written under the lock only if they are still as this
        computation read them. Any failure here is left for the cycle to meet and report.
        """
        self._prepared = None
        try:
            snapshot = self._read()
            with self._shielded():
                result = generate(self.opts, snapshot, write=False, cache=self.cache)
        except Exception as e:
            log.debug("reading ahead failed (%s); the cycle reads again", clip(str(e)))
            return
        self._prepared = (version, snapshot, result)
        self.reads_ahead += 1

    def _publish(self, result: Result, snapshot: Snapshot) -> None:
        self._publish_pending = True
        made = self.publisher.publish(self.opts, result, snapshot)
        self._publish_pending = False
        if made and self.publisher.name == "gitops":
            self.metrics.commits.inc(made)
        elif made:
            self.metrics.applies.inc(made)

    def _metadata(self, call):  # type: ignore[no-untyped-def]
        """Run a call to the source's server and record whether it answered."""
        try:
            value = call()
        except MetadataError as e:
            self.metrics.metadata_reachable(False, str(e))
            raise
        self.metrics.metadata_reachable(True)
        return value

    # -- waiting and signals -----------------------------------------------------------------

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """A section that only reads or waits: a signal may end it at once."""
        if self.stopping:
            raise Stopping
        self._waiting += 1
        try:
            yield
        finally:
            self._waiting -= 1

    @contextlib.contextmanager
    def _shielded(self) -> Iterator[None]:
        """Work inside an interruptible section that a signal must not cut short (it computes,
        logs, takes locks); a stop asked for meanwhile takes effect right after it."""
        waiting, self._waiting = self._waiting, 0
        try:
            yield
        finally:
            self._waiting = waiting
        if self._stopping:
            raise Stopping

    def _sleep(self, seconds: float) -> None:
        with self._interruptible():
            if self._event.wait(max(0.0, seconds)):
                raise Stopping

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("%s received; stopping", signal.Signals(signum).name)
        # No Event.set() here: it takes a lock the interrupted code may hold.
        self._stopping = True
        if self._waiting:
            raise Stopping

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _freeze_heap() -> None:
    """Collect once, then keep everything alive now out of the cyclic collector's scans.

    What the loop keeps between cycles (octoDNS's manager, its view of 20,000 record sets, the
    render cache) is a few million objects: each full collection scanned them all, 0.2-0.4 s
    of CPU every few cycles, to free nothing. After a full read (start, recovery, resync) they
    are frozen (``gc.freeze``); collections then scan only what later cycles made. Cyclic
    garbage among frozen objects (a record replaced since) waits for the next full read, which
    unfreezes and collects first: memory stays bounded by one resync interval's changes.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def ensure_checkout(url: str, path: Path, branch: str | None = None) -> None:
    """Clone ``url`` into ``path`` unless it already is a git checkout (a container's first start).

    An existing checkout is left as it is: a push that finds the remote ahead moves the branch
    to the remote tip and regenerates on top of it. A directory that is neither empty nor a
    checkout is refused rather than cloned over.
    """
    path = Path(path)
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if (path / ".git").exists():
        log.info("%s is already a checkout; not cloning %s", path, redact_url(url))
        return
    if path.exists() and any(path.iterdir()):
        raise ConfigError(f"{path} is not a git checkout and not empty; cannot clone into it")
    cmd = ["git", "clone", "--quiet", *(["--branch", branch] if branch else []), url, str(path)]
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300
        )
    except FileNotFoundError:
        raise PublishError("git is not installed (needed to clone the repository)") from None
    except subprocess.TimeoutExpired:
        raise PublishError(f"git clone {redact_url(url)} timed out") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PublishError(
            f"git clone {redact_url(url)} into {path} failed: {clip(redact_text(last))}"
        )
    log.info("cloned %s into %s", redact_url(url), path)


def _kind(e: BaseException) -> str:
    """The ``kind`` label of ``octodns_rancher_errors_total`` for an exception."""
    if isinstance(e, MetadataError):
        return "metadata"
    if isinstance(e, EmptyMetadataError):
        return "empty"
    if isinstance(e, TooManyRemovalsError):
        return "guard"
    if isinstance(e, ApplyError):
        return "apply"
    if isinstance(e, PublishError):
        return "publish"
    if isinstance(e, RancherDnsError):
        return "generate"
    return "internal"
