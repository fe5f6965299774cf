"""What the watch loop tells the outside: Prometheus metrics and a health answer over HTTP.

The metrics live in their own ``CollectorRegistry`` (not prometheus-client's global one), so
two watchers in one process, or a test next to a watcher, never share counters. The HTTP
endpoint is the standard library's threading server on a daemon thread: ``/metrics`` in the
Prometheus text format, ``/healthz`` answering 200 only while rancher-metadata is reachable and
the last cycle succeeded, so Rancher's health check (or a Kubernetes probe) sees the same
truth as an operator.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .logs import clip
from .redact import redact_text

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

# prometheus_client is imported where metrics are made or served, not with this module: every
# command's parser reads DEFAULT_LISTEN, and generate never needs prometheus_client (13 ms).

log = logging.getLogger(__name__)

# Same port as Kubernetes external-dns's --metrics-address, so dashboards and firewall rules
# written for it fit.
DEFAULT_LISTEN = "0.0.0.0:7979"
ERROR_KINDS = ("metadata", "empty", "guard", "generate", "publish", "apply", "internal")
RECORD_TYPES = ("A", "AAAA", "CNAME")
MAX_REASON = 500  # characters of a failure's reason served on /healthz
CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Health:
    """Whether the source's server answered and whether the last cycle ended well, with reasons.

    ``server``: rancher-metadata or the Kubernetes API server (``pipeline.server_of``)."""

    def __init__(self, server: str = "rancher-metadata") -> None:
        self._lock = threading.Lock()
        self.server = server
        self.metadata_ok: bool | None = None
        self.metadata_reason = f"starting: {server} not asked yet"
        self.cycle_ok: bool | None = None
        self.cycle_reason = "starting: no cycle has run yet"

    def metadata(self, ok: bool, reason: str = "") -> None:
        with self._lock:
            self.metadata_ok = ok
            self.metadata_reason = _served(reason)

    def cycle(self, ok: bool, reason: str = "") -> None:
        with self._lock:
            self.cycle_ok = ok
            self.cycle_reason = _served(reason)

    def status(self) -> tuple[bool, str]:
        """(healthy, reason): healthy only once metadata answered and the last cycle succeeded."""
        with self._lock:
            if not self.metadata_ok:
                return False, self.metadata_reason or f"{self.server} unreachable"
            if not self.cycle_ok:
                return False, self.cycle_reason or "last cycle failed"
            return True, "ok"


def _served(reason: str) -> str:
    """A reason as ``/healthz`` serves it (to anyone, without authentication): one line of
    bounded length, control characters escaped, no credentials in URLs."""
    return redact_text(clip(reason, MAX_REASON))


class Metrics:
    """The watch loop's instruments, registered in a registry of their own."""

    def __init__(
        self, registry: CollectorRegistry | None = None, server: str = "rancher-metadata"
    ) -> None:
        """``server``: the source's server, as ``/healthz`` names it."""
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.records = Gauge(
            "octodns_rancher_records",
            "Records in the generated zone file, by type",
            ["type"],
            registry=r,
        )
        self.last_success = Gauge(
            "octodns_rancher_last_success_timestamp_seconds",
            "Unix time of the last cycle that generated (and published) the zone file",
            registry=r,
        )
        self.cycle_duration = Histogram(
            "octodns_rancher_cycle_duration_seconds",
            "Time from reading the source to the end of publishing, by trigger",
            ["trigger"],
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "octodns_rancher_errors",
            "Failed cycles, by kind (metadata, empty, guard, generate, publish, apply, internal)",
            ["kind"],
            registry=r,
        )
        self.commits = Counter(
            "octodns_rancher_commits", "Commits of zone files made by the watch loop", registry=r
        )
        self.applies = Counter(
            "octodns_rancher_applies",
            "octoDNS syncs run by the watch loop (--apply), whether or not they changed DNS",
            registry=r,
        )
        self.writes = Counter(
            "octodns_rancher_zone_writes", "Times the zone file was rewritten", registry=r
        )
        self.metadata_up = Gauge(
            "octodns_rancher_metadata_up",
            "1 when the last request to the source's server (rancher-metadata or the "
            "Kubernetes API server) succeeded, else 0",
            registry=r,
        )
        for kind in ERROR_KINDS:
            self.errors.labels(kind=kind)
        for rtype in RECORD_TYPES:
            self.records.labels(type=rtype)
        self.health = Health(server)

    def observe_records(self, types: Iterable[str]) -> None:
        """Set the per-type gauge from the record types of one generated zone."""
        counts = Tally(types)
        for rtype in {*RECORD_TYPES, *counts}:
            self.records.labels(type=rtype).set(counts.get(rtype, 0))

    def succeeded(self, when: float | None = None) -> None:
        self.last_success.set(when if when is not None else time.time())
        self.health.cycle(True)

    def failed(self, kind: str, reason: str) -> None:
        self.errors.labels(kind=kind).inc()
        self.health.cycle(False, f"{kind}: {reason}")

    def metadata_reachable(self, ok: bool, reason: str = "") -> None:
        self.metadata_up.set(1 if ok else 0)
        self.health.metadata(ok, f"metadata: {reason}" if reason else "")

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _Handler(BaseHTTPRequestHandler):
    metrics: Metrics
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST

            self._send(200, self.metrics.exposition(), CONTENT_TYPE_LATEST)
        elif path in ("/healthz", "/"):
            ok, reason = self.metrics.health.status()
            self._send(200 if ok else 503, f"{reason}\n".encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found: try /healthz or /metrics\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def parse_listen(address: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` (all addresses) or ``[IPv6]:PORT`` → (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ConfigError(f"invalid listen address {address!r}: expected HOST:PORT, e.g. :7979")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class MetricsServer:
    """``/healthz`` and ``/metrics`` on a daemon thread; ``port`` is the bound port (0 picks one)."""

    def __init__(self, metrics: Metrics, address: str = DEFAULT_LISTEN) -> None:
        host, port = parse_listen(address)
        handler = type("Handler", (_Handler,), {"metrics": metrics})
        server_class = _Server6 if ":" in host else ThreadingHTTPServer
        try:
            self.httpd = server_class((host, port), handler)
        except OSError as e:
            raise ConfigError(f"cannot listen on {address}: {e.strerror or e}") from e
        self.httpd.daemon_threads = True
        self.host, self.port = self.httpd.server_address[:2]
        shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(
            host, f"[{host}]" if ":" in host else host
        )
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.2,), name="metrics-http", daemon=True
        )

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("serving /healthz and /metrics on %s:%d", self.host, self.port)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
