"""Follow a cluster with the Kubernetes watch API, for the shared watch loop.

``watch.Watcher`` drives a source through three calls: ``version()`` (where the source is now),
``wait_for_change(version, seconds)`` (block until it moves on, or the time is up) and
``fetch()`` (everything, for a regeneration). For rancher-metadata these are HTTP long-polls;
here they are answered from memory, kept current by one thread per list:

1. list (chunked), remember every object and the list's ``resourceVersion``;
2. watch from that version with bookmarks; ADDED/MODIFIED/DELETED update the objects and move
   the version on, BOOKMARK only moves the version on;
3. when the stream ends (``timeoutSeconds``), watch again from the last version; on 410 Gone
   (the version was compacted away) list again; on any other failure, whatever the exception,
   reconnect after a capped exponential backoff, listing again first. As in client-go's
   reflector, a stream that ends within a second with no events is such a failure, and so is
   a 410 Gone with no healthy stream since the last list: neither may loop without a pause. A
   stream that delivered events and ended within a second is not a failure, but the next
   watch waits until that second is over: at most one watch a second, whatever the server.
   The objects are kept trimmed to what the model reads, and the objects that events brought
   since the last list count against ``--max-answer-size`` as a list does (past it, list
   again).

The loop's quiet period, resync, ``/healthz`` and ``/metrics`` are the shared loop's. While a
stream is down, ``version()`` and ``wait_for_change()`` raise its error, so the loop reports the
API server unreachable and backs off as it does for rancher-metadata.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .client import EVENT_BYTES, Gone, KubeClient
from .model import ClusterError
from .snapshot import KubeSnapshot

log = logging.getLogger(__name__)

KINDS = ("services", "ingresses")


class KubeWatchClient:
    """The cluster as ``watch.Watcher`` sees a source; start with ``version()``."""

    # A watch that ends sooner than this with no events failed (client-go's reflector rule).
    min_watch = 1.0

    def __init__(
        self,
        client: KubeClient,
        timeout_seconds: int = 300,
        backoff_min: float = 0.5,
        backoff_max: float = 30.0,
        sync_timeout: float = 60.0,
    ) -> None:
        self.client = client
        self.base = client.host
        self.timeout_seconds = timeout_seconds
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.sync_timeout = sync_timeout
        self.cond = threading.Condition()
        self.objects: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
        self.versions: dict[str, str] = {}
        self.synced: set[str] = set()
        self.errors: dict[str, ClusterError] = {}
        self.generation = 0
        self.relists = 0
        # Per list: the size of each object held that an event brought since the last list
        # (its event's line), and their sum (``_watch``).
        self.event_sizes: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        self.event_bytes: dict[str, int] = {k: 0 for k in KINDS}
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        # (step, exception type) of the unexpected errors whose traceback was logged
        self._traced: set[tuple[str, str]] = set()

    # -- what the watch loop calls ---------------------------------------------------------

    def version(self) -> str:
        """The current generation; the first call starts the streams and waits for both lists."""
        if not self._threads:
            self._start()
        deadline = time.monotonic() + self.sync_timeout
        with self.cond:
            while len(self.synced) < len(KINDS):
                self._raise_error()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ClusterError(f"{self.base}: the first lists did not complete in time")
                self.cond.wait(min(left, 0.5))
            self._raise_error()
            return str(self.generation)

    def wait_for_change(self, current: str, max_wait: int = 60) -> str:
        deadline = time.monotonic() + max_wait
        with self.cond:
            while str(self.generation) == current:
                self._raise_error()
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            self._raise_error()
            return str(self.generation)

    def fetch(self, **_: Any) -> KubeSnapshot:
        with self.cond:
            self._raise_error()
            return KubeSnapshot(
                services=list(self.objects["services"].values()),
                ingresses=list(self.objects["ingresses"].values()),
                versions=dict(self.versions),
            )

    def close(self) -> None:
        self._stop.set()
        with self.cond:
            self.cond.notify_all()

    # -- the streams -------------------------------------------------------------------------

    def _raise_error(self) -> None:
        for what in KINDS:
            if what in self.errors:
                raise self.errors[what]

    def _start(self) -> None:
        for what in KINDS:
            t = threading.Thread(
                target=self._follow, args=(what,), name=f"watch-{what}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _follow(self, what: str) -> None:
        """The stream thread: ``_stream``, and should that ever end while the client is open
        (a BaseException that is no Exception), an error that stays, so that ``fetch`` fails
        instead of serving the last objects for ever with a healthy ``/healthz``."""
        try:
            self._stream(what)
        finally:
            if not self._stop.is_set():
                self._record(what, ClusterError(f"{self.base}: the {what} stream has stopped"))

    def _stream(self, what: str) -> None:
        """List, then watch from the list's version, until ``close``.

        Nothing ends this loop but ``close``: any exception, a ClusterError or not (a urllib3
        error the client let through, RecursionError from a deeply nested body, a bug), is an
        error of this stream (``_failed``): recorded, so ``fetch`` raises it and health turns
        unhealthy, then backed off and listed again.

        A watch is *healthy* when it lasted ``min_watch`` seconds (or half the
        ``timeout_seconds`` it asked for, when that is shorter). One that ended sooner with no
        events is an error ("very short watch", as client-go's reflector has it), else a server
        or proxy that closes every stream at once would have it reconnect thousands of times a
        second; one that ended sooner with events (a bookmark, say) is not, but the next watch
        waits until ``min_watch`` has passed since it began. The backoff doubles from
        ``backoff_min`` to ``backoff_max`` and goes back to ``backoff_min`` only after a
        healthy watch. A 410 Gone from a watch relists at once when a healthy watch came
        after the last list (the history was compacted meanwhile: the usual case); one right
        after a list (Gone again and again, with or without a bookmark first) is backed off as
        an error.
        """
        delay = self.backoff_min
        version = ""
        followed = False  # a healthy watch since the last list
        while not self._stop.is_set():
            attempt: _Attempt | None = None
            error: Exception | None = None
            try:
                if not version:
                    followed = False
                    version = self._relist(what)
                attempt = _Attempt()
                version = self._watch(what, version, attempt)
            except Exception as e:  # see the docstring: no exception ends the thread
                error = e
            if self._stop.is_set():
                return
            shortest = min(self.min_watch, self.timeout_seconds / 2)
            healthy = attempt is not None and attempt.elapsed() >= shortest
            if healthy:
                delay = self.backoff_min
                followed = True
            if error is None and healthy:
                continue  # the stream timed out as asked: watch on from its version
            if error is None and attempt is not None and attempt.events:
                # Events, then closed at once: no failure, but no second watch this second.
                if self._stop.wait(self.min_watch - attempt.elapsed()):
                    return
                continue
            if error is None:
                error = ClusterError(
                    f"{self.base}: very short watch of {what}: the stream ended after "
                    f"{attempt.elapsed() if attempt else 0.0:.2f} s with no events"
                )
            elif isinstance(error, Gone) and attempt is not None and followed:
                log.info("%s; listing %s again", error, what)
                version = ""
                continue
            self._failed(what, error, attempt is not None, delay)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.backoff_max)
            version = ""

    def _failed(self, what: str, error: Exception, watching: bool, delay: float) -> None:
        """Record and log one failure of the stream; ``watching``: of its watch, else its list.

        A ClusterError is recorded as it is; any other exception becomes one, on one line,
        naming what failed and the exception's type. Its traceback is logged once (the first
        failure of that step with that type), so a bug can be found without one per retry.
        """
        if isinstance(error, ClusterError):
            recorded = error
            trace = False
        else:
            step = f"watching {what}" if watching else f"listing {what}"
            detail = " ".join(str(error).split())[:300]
            recorded = ClusterError(
                f"{self.base}: {step} failed: {type(error).__name__}"
                + (f": {detail}" if detail else "")
            )
            kind = (step, type(error).__name__)
            with self.cond:
                trace = kind not in self._traced
                self._traced.add(kind)
        self._record(what, recorded)
        log.warning(
            "%s; listing %s again in %.1f s",
            recorded,
            what,
            delay,
            exc_info=error if trace else None,
        )

    def _record(self, what: str, error: ClusterError) -> None:
        """The stream's error: ``fetch``, ``version`` and ``wait_for_change`` raise it until
        a list or an event of the stream succeeds."""
        with self.cond:
            self.errors[what] = error
            self.cond.notify_all()

    def _relist(self, what: str) -> str:
        listing = self.client.list(what, trim=True)
        objects = {_key(o): o for o in listing.items if _key(o) is not None}
        with self.cond:
            self.objects[what] = objects
            self.event_sizes[what] = {}
            self.event_bytes[what] = 0
            self.versions[what] = listing.resource_version
            self.synced.add(what)
            self.errors.pop(what, None)
            self.generation += 1
            self.relists += 1
            self.cond.notify_all()
        log.debug(
            "listed %d %s at resourceVersion %s", len(objects), what, listing.resource_version
        )
        return listing.resource_version

    def _watch(self, what: str, version: str, attempt: _Attempt) -> str:
        """Apply one stream's events, counted in ``attempt``; the version to continue from
        when it ends.

        The objects held that events brought count against the client's ``max_bytes``, by the
        size of their events' lines (as a list's pages do): a server that streams ever more or
        ever larger objects makes the stream fail and the list be read again, within that
        limit, instead of growing the memory without end. An object replaced or deleted no
        longer counts, so changes alone never add up.
        """
        limit = getattr(self.client, "max_bytes", None)
        for event in self.client.watch(what, version, self.timeout_seconds, trim=True):
            if self._stop.is_set():
                break
            attempt.events += 1
            obj = event["object"]
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            rv = meta.get("resourceVersion")
            new = rv if isinstance(rv, str) and rv else version
            etype = event.get("type")
            change = etype in ("ADDED", "MODIFIED", "DELETED")
            key = _key(obj) if change else None  # None: not an object the store can hold
            if key is not None and limit:
                sizes = self.event_sizes[what]
                size = event.get(EVENT_BYTES, 0) if etype != "DELETED" else 0
                self.event_bytes[what] += size - sizes.pop(key, 0)
                if size:
                    sizes[key] = size
                if self.event_bytes[what] > limit:
                    raise ClusterError(
                        f"{self.base}: the {what} that watch events brought since the last "
                        f"list hold more than {limit:,} bytes (--max-answer-size)"
                    )
            with self.cond:
                self.errors.pop(what, None)
                if change:
                    if key is not None:
                        if etype == "DELETED":
                            self.objects[what].pop(key, None)
                        else:
                            self.objects[what][key] = obj
                        self.generation += 1
                        self.cond.notify_all()
                elif etype != "BOOKMARK":
                    log.warning("%s watch: unknown event type %r; ignored", what, etype)
                    continue
                self.versions[what] = new
            version = new
        return version


class _Attempt:
    """One watch request: when it was made and how many events it delivered, what tells a
    healthy watch from a very short one."""

    __slots__ = ("events", "started")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _key(obj: Any) -> str | None:
    """An object's identity in the store: its uid, else namespace/name."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return None
    uid = meta.get("uid")
    if isinstance(uid, str) and uid:
        return uid
    return f"{meta.get('namespace')}/{meta.get('name')}"


def watcher_client(opts: Any) -> KubeWatchClient:
    """The watch client for the pipeline's Options (``--source kubernetes``)."""
    from ..errors import ConfigError
    from .client import configuration

    k = opts.kubernetes
    if k.snapshot_file is not None:
        raise ConfigError("watch reads the cluster; --kubernetes-file cannot be watched")
    cfg = configuration(k.kubeconfig, k.context, opts.timeout)
    cfg.retries = None  # the stream threads back off themselves
    client = KubeClient(cfg, opts.timeout, deadline=opts.deadline, max_bytes=opts.max_bytes)
    return KubeWatchClient(client)
