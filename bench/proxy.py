"""A logging HTTP proxy on 127.0.0.1: what a client asked of a provider's API, and when.

Placed between ``octodns-rancher watch --apply`` and moto or PowerDNS (the client is pointed
at the proxy's port), it forwards every request unchanged and records its method, path, the
time it arrived and the time its answer was sent, so a benchmark can count provider calls per
cycle and time a change request from the metadata reload that caused it.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Call:
    method: str
    path: str
    started: float  # time.perf_counter()
    finished: float
    status: int

    @property
    def operation(self) -> str:
        """A short name: Route53's REST operation, or PowerDNS's ``METHOD path``."""
        path = self.path.split("?", 1)[0]
        if path.startswith("/2013-04-01/"):
            if path.endswith("/rrset") or path.endswith("/rrset/"):
                if self.method == "POST":
                    return "ChangeResourceRecordSets"
                return "ListResourceRecordSets"
            if "/healthcheck" in path:
                return "ListHealthChecks"
            if "/hostedzonesbyname" in path:
                return "ListHostedZonesByName"
            if path.rstrip("/").endswith("/hostedzone"):
                return "ListHostedZones"
            return f"{self.method} {path}"
        if "/search-data" in path:
            return "GET search-data"
        if self.method == "PATCH":
            return "PATCH zone"
        if self.method == "GET" and "/zones/" in path:
            return "GET zone"
        return f"{self.method} {path}"

    @property
    def is_change(self) -> bool:
        return self.operation in ("ChangeResourceRecordSets", "PATCH zone") or (
            self.method == "POST" and self.path.rstrip("/").endswith("/zones")
        )


class LoggingProxy:
    """``with LoggingProxy("http://127.0.0.1:PORT") as proxy:`` then use ``proxy.url``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def since(self, t0: float) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.started >= t0]

    def __enter__(self) -> LoggingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                started = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=300)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    status = resp.status
                finally:
                    conn.close()
                with proxy._lock:
                    proxy.calls.append(
                        Call(self.command, self.path, started, time.perf_counter(), status)
                    )

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
