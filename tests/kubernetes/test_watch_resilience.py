"""The watch client's stream threads against a misbehaving API server: no failure ends a
stream thread, every failure surfaces through fetch() and backs off, and a stream that ends at
once (no events, under a second) or a run of 410 Gone answers cannot make it spin.

The server is the test API server (tests/support/kube_apiserver.py) with a handler that adds
faults the tests switch on and off; a fake KubeClient (the watcher's own input) stands in only
where the failure is an exception that no server answer can be relied on to produce.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from octodns_rancher.kubernetes.client import KubeClient, configuration
from octodns_rancher.kubernetes.model import ClusterError
from octodns_rancher.kubernetes.watch import KubeWatchClient
from octodns_rancher.metrics import Metrics, MetricsServer
from tests.kubernetes.test_watch import _status, watching, zone_text
from tests.support.kube_apiserver import KubeApiServer, service, status
from tests.test_watch import count, wait_for
from tests.test_watch import repo as repo  # a fixture

H = "external-dns.alpha.kubernetes.io/hostname"


@dataclass
class Faults:
    """What the server does wrong, per kind (``services``/``ingresses``), and what it was
    asked: ``log`` holds ``(monotonic time, kind, "list"|"watch")`` of every request."""

    short_watches: dict[str, int] = field(default_factory=dict)  # answer, end at once
    gone_watches: dict[str, int] = field(default_factory=dict)  # ERROR 410 at once
    truncated_lists: dict[str, int] = field(default_factory=dict)  # body cut short
    bookmark_watches: dict[str, int] = field(default_factory=dict)  # a BOOKMARK, end at once
    bookmark_gone_watches: dict[str, int] = field(default_factory=dict)  # BOOKMARK, ERROR 410
    endless_watches: dict[str, int] = field(default_factory=dict)  # blank lines, never ends
    dribbled_watches: dict[str, int] = field(default_factory=dict)  # a chunk, byte by byte
    log: list[tuple[float, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, which: dict[str, int], what: str) -> bool:
        """Use up one of a fault's answers for ``what``, if any are left."""
        with self.lock:
            if which.get(what, 0) > 0:
                which[what] -= 1
                return True
            return False

    def requests(self, what: str, kind: str | None = None) -> list[float]:
        with self.lock:
            return [t for t, w, k in self.log if w == what and kind in (None, k)]

    def sequence(self, what: str) -> list[str]:
        with self.lock:
            return [k for _, w, k in self.log if w == what]


FOREVER = 10**9


def add_faults(kube: KubeApiServer) -> Faults:
    """Put a faulty handler in front of the server's own; it serves what no fault takes."""
    faults = Faults()
    base: Any = kube.httpd.RequestHandlerClass

    class Faulty(base):  # type: ignore[misc,valid-type]
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            what = url.path.rsplit("/", 1)[-1]
            watch = parse_qs(url.query).get("watch") in (["1"], ["true"])
            with faults.lock:
                faults.log.append((time.monotonic(), what, "watch" if watch else "list"))
            bookmark = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "1"}}}
            gone = {"type": "ERROR", "object": status(410, "Expired", "too old resource version")}
            if watch and faults.take(faults.short_watches, what):
                self._stream([])
            elif watch and faults.take(faults.gone_watches, what):
                self._stream([gone])
            elif watch and faults.take(faults.bookmark_watches, what):
                self._stream([bookmark])
            elif watch and faults.take(faults.bookmark_gone_watches, what):
                self._stream([bookmark, gone])
            elif watch and faults.take(faults.endless_watches, what):
                self._stream([], endless=True)
            elif watch and faults.take(faults.dribbled_watches, what):
                self._dribble()
            elif not watch and faults.take(faults.truncated_lists, what):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b'{"kind":"ServiceList","metadata":{},"items":[')
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                super().do_GET()

        def _dribble(self) -> None:
            """A chunk of 4 KiB announced, then sent one byte every 0.1 s: every read gets a
            byte within its timeout, and no event is ever complete."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                self.wfile.write(b"1000\r\n")
                for _ in range(4096):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                return  # the client hung up

        def _stream(self, events: list[dict[str, Any]], endless: bool = False) -> None:
            """A chunked watch answer with these events (maybe none), ended at once; or,
            ``endless``, a blank line every 0.1 s for as long as the client reads."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in events:
                line = orjson.dumps(event) + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            try:
                while endless:
                    self.wfile.write(b"1\r\n\n\r\n")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                return  # the client hung up
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    kube.httpd.RequestHandlerClass = Faulty
    return faults


@contextmanager
def following(
    kubeconfig: Path,
    *,
    timeout_seconds: int = 300,
    backoff_min: float = 0.1,
    backoff_max: float = 0.4,
    stream_grace: float | None = None,
    **limits: Any,
) -> Iterator[KubeWatchClient]:
    """A watch client with its streams started and both first lists done (``limits``: the
    KubeClient's ``max_bytes``, ``deadline``)."""
    cfg = configuration(str(kubeconfig))
    cfg.retries = None  # as watcher_client configures it: the threads back off themselves
    kube_client = KubeClient(cfg, 5, **limits)
    if stream_grace is not None:
        kube_client.stream_grace = stream_grace
    client = KubeWatchClient(
        kube_client,
        timeout_seconds=timeout_seconds,
        backoff_min=backoff_min,
        backoff_max=backoff_max,
        sync_timeout=10,
    )
    try:
        client.version()
        yield client
    finally:
        client.close()


def names(client: KubeWatchClient) -> set[str]:
    return {o["metadata"]["name"] for o in client.fetch().services}


def fetch_error(client: KubeWatchClient) -> ClusterError | None:
    try:
        client.fetch()
    except ClusterError as e:
        return e
    return None


def caught(client: KubeWatchClient, match: str = "", timeout: float = 5.0) -> str:
    """The first error fetch() raises (containing ``match``), waited for: a relist that
    succeeds clears it, so it is caught when raised rather than read afterwards."""
    seen: list[str] = []

    def raised() -> bool:
        error = fetch_error(client)
        if error is not None and match in str(error):
            seen.append(str(error))
        return bool(seen)

    wait_for(raised, timeout=timeout, what=f"fetch() to raise {match!r}")
    return seen[0]


def streaming(kube: KubeApiServer, client: KubeWatchClient, name: str) -> None:
    """Add a Service and wait until the watch delivers it: the Services stream now open is
    healthy, so the next watch request follows a healthy stream."""
    kube.add_service("shop", name, ips=("203.0.113.77",))
    wait_for(lambda: name in names(client), timeout=5, what=f"{name} through the watch")


def alive(client: KubeWatchClient) -> bool:
    return len(client._threads) == 2 and all(t.is_alive() for t in client._threads)


# -- 1. no failure ends a stream thread ------------------------------------------------------


def test_a_broken_relist_surfaces_backs_off_and_recovers(kube, kubeconfig):
    """A list answer cut short mid-body (a proxy or server dying while it answers) on a relist:
    the error is raised by fetch() until a relist succeeds, and the stream thread lives on."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1, backoff_min=0.1, backoff_max=0.2) as client:
        streaming(kube, client, "first")
        # The next watch of Services gets 410 Gone, so the thread lists again; every list of
        # Services from now on is cut short.
        faults.truncated_lists["services"] = FOREVER
        faults.gone_watches["services"] = 1
        error = caught(client, "services")
        assert "\n" not in error and "list" in error, error
        with pytest.raises(ClusterError):
            client.wait_for_change("0", 1)
        # It retries with backoff (0.1, 0.2, 0.2 s ...), not in a loop.
        wait_for(lambda: len(faults.requests("services", "list")) >= 4, what="retries")
        assert alive(client)
        before = len(faults.requests("services", "list"))
        time.sleep(1.0)
        assert len(faults.requests("services", "list")) - before <= 7
        # The server behaves again: the next relist clears the error and the store is current.
        kube.add_service("shop", "late", ips=("203.0.113.9",), annotations={H: "l.example.com"})
        faults.truncated_lists["services"] = 0
        wait_for(lambda: fetch_error(client) is None, timeout=5, what="recovery")
        assert names(client) == {"web", "elb", "first", "late"}
        assert alive(client)
        # ... and it follows the stream again.
        kube.add_service("shop", "later", ips=("203.0.113.10",))
        wait_for(lambda: "later" in names(client), timeout=5, what="a watch event")


@dataclass
class FakeListing:
    items: list[Any]
    resource_version: str


class FakeClient:
    """A KubeClient as the watch client uses it (``host``, ``list``, ``watch``), whose calls
    raise what the test sets in ``list_raises``/``watch_raises`` (per kind)."""

    host = "https://cluster.invalid"

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {
            "services": [service("shop", "web")],
            "ingresses": [],
        }
        self.list_raises: dict[str, BaseException] = {}
        self.watch_raises: dict[str, BaseException] = {}
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()

    def count(self, call: str, what: str) -> int:
        with self.lock:
            return self.calls.count((call, what))

    def list(self, what: str, trim: bool = False) -> FakeListing:
        with self.lock:
            self.calls.append(("list", what))
        if what in self.list_raises:
            raise self.list_raises[what]
        return FakeListing(list(self.items[what]), "7")

    def watch(
        self, what: str, resource_version: str, timeout_seconds: int = 300, trim: bool = False
    ) -> Iterator[Any]:
        with self.lock:
            self.calls.append(("watch", what))
        # A bookmark, then the failure or a quiet stream until the test ends it.
        yield {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": resource_version}}}
        if what in self.watch_raises:
            raise self.watch_raises[what]
        self.closed.wait(timeout_seconds)


def test_unexpected_exceptions_become_errors_and_the_thread_lives_on(caplog):
    """A bug, RecursionError from a deeply nested body, a urllib3 error the client lets
    through: each is turned into a one-line ClusterError naming what failed and the type,
    raised by fetch(), logged with its traceback once, retried with backoff."""
    fake = FakeClient()
    client = KubeWatchClient(
        fake,  # type: ignore[arg-type]
        timeout_seconds=1,
        backoff_min=0.1,
        backoff_max=0.2,
        sync_timeout=5,
    )
    caplog.set_level(logging.WARNING, logger="octodns_rancher.kubernetes.watch")
    try:
        client.version()
        assert names(client) == {"web"}
        fake.watch_raises["services"] = ValueError("a bug\nover two lines")
        error = caught(client, "ValueError")
        assert "watching services" in error and "ValueError: a bug over two lines" in error
        assert error.startswith(FakeClient.host) and "\n" not in error
        # Each retry lists again first.
        wait_for(lambda: fake.count("watch", "services") >= 4, what="retries")
        assert fake.count("list", "services") >= 3  # the first list, then one per failure
        assert alive(client)
        # The relist fails too, with an exception that is no ClusterError either.
        fake.list_raises["services"] = RecursionError("maximum recursion depth exceeded")
        error = caught(client, "RecursionError")
        assert "listing services" in error and "maximum recursion depth exceeded" in error
        with pytest.raises(ClusterError, match="RecursionError"):
            client.wait_for_change("0", 1)
        with pytest.raises(ClusterError, match="RecursionError"):
            client.version()
        wait_for(lambda: fake.count("list", "services") >= 6, what="list retries")
        assert alive(client)
        # One traceback per kind of failure, however often it is retried.
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert [r.exc_info[0] for r in tracebacks if r.exc_info] == [ValueError, RecursionError]
        # Fixed: the next relist succeeds and the error is gone.
        fake.items["services"].append(service("shop", "api"))
        del fake.list_raises["services"], fake.watch_raises["services"]
        wait_for(lambda: fetch_error(client) is None, timeout=5, what="recovery")
        assert names(client) == {"web", "api"}
        assert alive(client)
    finally:
        client.close()
        fake.closed.set()


def test_close_during_backoff_ends_the_threads_promptly(kube, kubeconfig):
    faults = add_faults(kube)
    faults.short_watches.update(services=FOREVER, ingresses=FOREVER)
    with following(kubeconfig, backoff_min=30, backoff_max=30) as client:
        caught(client, "very short watch")
        client.close()
        for t in client._threads:
            t.join(timeout=2)
            assert not t.is_alive(), t.name
    assert len(faults.requests("services", "watch")) == 1


# -- 2. streams that end at once, and runs of 410 Gone, back off ----------------------------


def test_streams_closed_at_once_back_off(kube, kubeconfig):
    """A server or proxy that ends every watch at once with no events: each such "very short
    watch" is an error, backed off (doubling) and followed by a relist, as client-go's
    reflector does; once streams last again, the error clears and events flow."""
    faults = add_faults(kube)
    faults.short_watches.update(services=FOREVER, ingresses=FOREVER)
    with following(kubeconfig, backoff_min=0.1, backoff_max=0.4) as client:
        start = time.monotonic()
        caught(client, "very short watch")
        time.sleep(max(0.0, 2.0 - (time.monotonic() - start)))
        for what in ("services", "ingresses"):
            # Backoffs 0.1, 0.2, 0.4, 0.4, 0.4 ... s: about 7 watches in 2 s, not thousands.
            watches = len(faults.requests(what, "watch"))
            assert 3 <= watches <= 10, (what, watches)
            # Every short watch is followed by a new list, not by another watch.
            seq = faults.sequence(what)
            assert seq[: 2 * (len(seq) // 2)] == ["list", "watch"] * (len(seq) // 2), seq
        assert alive(client)
        # The streams last again: recovery, and the watch delivers events.
        faults.short_watches.clear()
        wait_for(lambda: fetch_error(client) is None, timeout=5, what="recovery")
        kube.add_service("shop", "new", ips=("203.0.113.7",))
        wait_for(lambda: "new" in names(client), timeout=5, what="a watch event")
        assert fetch_error(client) is None


def test_first_gone_after_a_healthy_stream_relists_at_once(kube, kubeconfig):
    """The usual 410: a stream that delivered events ends, the watch from its last version is
    Gone (history compacted): list again at once, with no error and no backoff."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1, backoff_min=3, backoff_max=3) as client:
        streaming(kube, client, "first")
        faults.gone_watches["services"] = 1
        wait_for(lambda: faults.gone_watches["services"] == 0, timeout=5, what="the Gone")
        gone_at = faults.requests("services", "watch")[-1]
        wait_for(lambda: faults.requests("services", "list")[-1] > gone_at, what="the relist")
        assert faults.requests("services", "list")[-1] - gone_at < 1.0  # not after 3 s
        assert fetch_error(client) is None
        assert alive(client)


def test_a_run_of_gone_answers_backs_off_until_a_healthy_stream(kube, kubeconfig):
    """Every watch answered 410 Gone at once, even right after a list: the first relist is
    at once, the next ones back off (0.3, 0.6 s); the delay resets only after a stream that
    delivers events, so the Gone after it again relists at once."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1, backoff_min=0.3, backoff_max=0.6) as client:
        streaming(kube, client, "first")
        faults.gone_watches["services"] = FOREVER
        caught(client, "410")
        wait_for(lambda: len(gone_gaps(faults)) >= 4, timeout=6, what="four Gone answers")
        gaps = gone_gaps(faults)
        assert gaps[0] < 0.25, gaps  # at once: the stream before was healthy
        assert gaps[1] >= 0.3 and gaps[2] >= 0.6 and gaps[3] >= 0.6, gaps
        assert alive(client)
        # A healthy stream (the server's bookmarks are events) resets the delay.
        faults.gone_watches["services"] = 0
        wait_for(lambda: fetch_error(client) is None, timeout=5, what="recovery")
        streaming(kube, client, "second")
        with faults.lock:
            faults.log.clear()
        faults.gone_watches["services"] = 1
        wait_for(lambda: len(gone_gaps(faults)) >= 1, timeout=5, what="a Gone")
        assert gone_gaps(faults)[0] < 0.25
        assert fetch_error(client) is None


def gone_gaps(faults: Faults) -> list[float]:
    """Seconds from each watch answered with Gone to the next request (the relist); a watch
    answered Gone is one that a list follows."""
    log = [(t, k) for t, w, k in faults.log if w == "services"]
    return [
        later[0] - t
        for (t, k), later in itertools.pairwise(log)
        if k == "watch" and later[1] == "list"
    ]


# -- the shared loop: /healthz reports a broken stream, and the zone catches up --------------


def test_the_loop_reports_a_broken_relist_and_recovers(kube, kubeconfig, repo):
    """End to end: the watch loop on a client whose relist is cut short mid-body: /healthz
    turns 503 (no stale zone behind a healthy answer), and once the server answers whole
    again the change made meanwhile reaches the zone and /healthz is 200."""
    faults = add_faults(kube)
    metrics = Metrics()
    server = MetricsServer(metrics, "127.0.0.1:0").start()
    try:
        with watching(kube, kubeconfig, repo, metrics):
            wait_for(lambda: count(repo) == 2, what="the first commit")
            kube.add_service(
                "shop", "a", ips=("203.0.113.21",), annotations={H: "a.c1.example.com"}
            )
            wait_for(lambda: "a.c1:" in zone_text(repo), timeout=10, what="a through the watch")
            # The stream that delivered it is healthy: the next watch's Gone relists at once,
            # and that list (and every one after it) is cut short.
            faults.truncated_lists["services"] = FOREVER
            faults.gone_watches["services"] = 1
            wait_for(lambda: _status(server.url + "/healthz") == 503, timeout=10, what="503")
            # A change while the Services cannot be listed: it waits for the recovery.
            kube.add_service(
                "shop", "b", ips=("203.0.113.22",), annotations={H: "b.c1.example.com"}
            )
            assert _status(server.url + "/healthz") == 503
            faults.truncated_lists["services"] = 0
            wait_for(lambda: "b.c1:" in zone_text(repo), timeout=10, what="recovery")
            wait_for(lambda: _status(server.url + "/healthz") == 200, timeout=10, what="200")
    finally:
        server.stop()


# -- 4. what a server cannot make the streams do, whatever it sends -----------------------------


def test_streams_that_deliver_one_event_and_close_are_paced(kube, kubeconfig):
    """One BOOKMARK, then the stream ends, again and again: not a failure (an event came), but
    at most one watch a second per list instead of thousands."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1) as client:
        faults.bookmark_watches.update(services=FOREVER, ingresses=FOREVER)
        time.sleep(1.2)  # the streams open before end (timeoutSeconds=1)
        start = time.monotonic()
        time.sleep(3.0)
        elapsed = time.monotonic() - start
        for what in ("services", "ingresses"):
            watches = [t for t in faults.requests(what, "watch") if t >= start]
            assert 2 <= len(watches) <= elapsed + 2, (what, len(watches))
        assert fetch_error(client) is None
        assert alive(client)
        faults.bookmark_watches.clear()
        kube.add_service("shop", "new", ips=("203.0.113.7",))
        wait_for(lambda: "new" in names(client), timeout=5, what="a watch event")


def test_a_bookmark_then_gone_at_once_backs_off(kube, kubeconfig):
    """A BOOKMARK, then 410 Gone, right after every list: the bookmark does not make the
    stream healthy, so each relist waits its backoff (0.1, 0.2, 0.4 s ...)."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1, backoff_min=0.1, backoff_max=0.4) as client:
        faults.bookmark_gone_watches["services"] = FOREVER
        start = time.monotonic()
        caught(client, "410")
        time.sleep(max(0.0, 2.0 - (time.monotonic() - start)))
        lists = [t for t in faults.requests("services", "list") if t >= start]
        assert 2 <= len(lists) <= 9, len(lists)
        assert alive(client)
        faults.bookmark_gone_watches.clear()
        wait_for(lambda: fetch_error(client) is None, timeout=5, what="recovery")


def test_a_stream_kept_open_past_its_timeout_is_ended(kube, kubeconfig):
    """A stream kept alive with blank lines beyond the timeoutSeconds it asked for (changes
    made meanwhile would never be seen): it is ended as a failure and the list read again."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1, stream_grace=0.5) as client:
        faults.endless_watches["services"] = 1
        kube.add_service("shop", "meanwhile", ips=("203.0.113.8",))
        error = caught(client, "still open", timeout=6)
        assert "0.5 s after the timeoutSeconds it asked for" in error, error
        wait_for(
            lambda: fetch_error(client) is None and "meanwhile" in names(client),
            timeout=5,
            what="the relist",
        )
        assert alive(client)


def test_objects_from_events_count_against_the_size_limit(kube, kubeconfig):
    """A server streaming ever more (or larger) objects: past --max-answer-size since the
    last list, the stream fails and the list is read again, within the limit; the objects
    are kept trimmed (no managedFields)."""
    with following(kubeconfig, max_bytes=20_000) as client:
        kube.add_service("shop", "small", ips=("203.0.113.9",))
        wait_for(lambda: "small" in names(client), timeout=5, what="an event")
        stored = next(o for o in client.fetch().services if o["metadata"]["name"] == "small")
        assert "managedFields" not in stored["metadata"] and "ports" not in stored["spec"]
        # Changes alone never add up: what counts is what is held.
        for i in range(100):
            kube.update(
                "services",
                "shop",
                "small",
                lambda o, i=i: (
                    o["metadata"].setdefault("labels", {}).update(n=str(i), pad="p" * 60)
                ),
            )

        def label() -> str | None:
            held = {o["metadata"]["name"]: o for o in client.fetch().services}
            return (held["small"]["metadata"].get("labels") or {}).get("n")

        wait_for(lambda: label() == "99", timeout=8, what="the 100th change")
        assert fetch_error(client) is None
        for i in range(5):
            kube.add_service(
                "shop", f"big{i}", ips=("203.0.113.10",), annotations={"x": "y" * 6000}
            )
        error = caught(client, "--max-answer-size")
        assert "watch events brought since the last list" in error, error
        for i in range(5):
            kube.delete("services", "shop", f"big{i}")
        wait_for(lambda: fetch_error(client) is None, timeout=8, what="a relist within the limit")
        assert "big0" not in names(client) and "small" in names(client)
        assert alive(client)


def test_a_stream_dribbled_byte_by_byte_is_ended_with_its_time(kube, kubeconfig):
    """Bytes of an event that never completes, each within the read timeout: the stream's whole
    life is bounded (timeoutSeconds and the grace), not only each read."""
    faults = add_faults(kube)
    with following(kubeconfig, timeout_seconds=1, stream_grace=0.5) as client:
        faults.dribbled_watches["services"] = 1
        kube.add_service("shop", "meanwhile", ips=("203.0.113.8",))
        started = time.monotonic()
        error = caught(client, "still open", timeout=8)
        assert time.monotonic() - started < 5, error
        wait_for(
            lambda: fetch_error(client) is None and "meanwhile" in names(client),
            timeout=5,
            what="the relist",
        )
        assert alive(client)
