"""A real HTTP server on 127.0.0.1 that answers like rancher-metadata.

It implements what the generator relies on, as described in the captured API
(``tests/fixtures/fixture_shop``): versioned paths that walk the tree by index, ``name`` or
``uuid`` (retried in lower case), JSON only with ``Accept: application/json`` (labelled
``text/plain`` like the real server), a text listing otherwise, 404 JSON errors, ``Invalid
version`` for unknown versions or when the data is lost, and the ``/version`` long-poll.
Tests drive failures through it (``fail_status``, ``garbage``, ``lose_data``, ``stop``) instead of
patching the client.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VERSIONS = ("2015-12-19", "2016-07-29")


def load_fixture(name: str = "fixture_shop", version: str = "2016-07-29") -> dict[str, Any]:
    """The captured answers of one API version as a tree: self/stack, services, hosts, ..."""
    base = FIXTURES / name / version
    tree: dict[str, Any] = {}
    for f in sorted(base.glob("*.json")):
        if f.stem in ("root", "version"):
            continue
        tree[f.stem] = json.loads(f.read_text())
    tree["self"] = {"stack": json.loads((base / "self" / "stack.json").read_text())}
    return tree


class MetadataServer:
    """Start with ``with MetadataServer(trees) as srv:``; ``srv.url`` is the base URL."""

    def __init__(self, trees: Mapping[str, Any] | None = None, port: int = 0) -> None:
        self._cond = threading.Condition()
        self.trees: dict[str, Any] = dict(trees or {"2016-07-29": load_fixture()})
        self.version = str(uuid.uuid4())
        self.requests: list[tuple[str, str, str]] = []  # (method, path, accept)
        self.fail_status: int | None = None
        self.fail_count = 0  # fail this many requests, then recover (0: every request)
        self.garbage: bytes | None = None
        self.lost = False
        self.stopped = False
        self.connections: set[socket.socket] = set()
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = self._handle_error  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> MetadataServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; calling it again does nothing."""
        if self._thread is None:
            return
        self._thread = None
        with self._cond:
            self.stopped = True
            self._cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        # Like a process that exits: open keep-alive connections (and long-polls) are cut too.
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _handle_error(self, request: Any, client_address: Any) -> None:
        if not self.stopped:  # a cut connection after stop() is expected, not an error
            ThreadingHTTPServer.handle_error(self.httpd, request, client_address)

    def __enter__(self) -> MetadataServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reload(self, trees: Mapping[str, Any] | None = None) -> str:
        """Replace the data (or just reload it): a new random version, waiters are woken."""
        with self._cond:
            if trees is not None:
                self.trees = dict(trees)
            self.lost = False
            self.version = str(uuid.uuid4())
            self._cond.notify_all()
            return self.version

    def lose_data(self) -> None:
        """Like a server whose answers file vanished: every request answers Invalid version."""
        with self._cond:
            self.lost = True
            self._cond.notify_all()

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.requests]

    def wait_version(self, value: str, max_wait: float) -> str:
        with self._cond:
            if value == self.version:
                self._cond.wait_for(lambda: value != self.version or self.stopped, timeout=max_wait)
            return self.version


class _Handler(BaseHTTPRequestHandler):
    server_state: MetadataServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server_state.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server_state.connections.discard(self.connection)

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        state = self.server_state
        url = urlsplit(self.path)
        accept = self.headers.get("Accept", "")
        state.requests.append((self.command, url.path, accept))
        failing = state.fail_count <= 0 or len(state.requests) <= state.fail_count
        if state.fail_status is not None and failing:
            return self._send(state.fail_status, b'{"message":"injected failure"}', head)
        if state.garbage is not None:
            return self._send(200, state.garbage, head)
        parts = [p for p in url.path.split("/") if p]
        if not parts:
            return self._json({v: f"/{v}" for v in (*VERSIONS, "latest")}, accept, head)
        version = "2016-07-29" if parts[0] == "latest" else parts[0]
        if state.lost or version not in state.trees:
            return self._error("Invalid version", head)
        query = parse_qs(url.query)
        if parts[1:] == ["version"]:
            current = state.version
            value = query.get("value", [None])[0]
            if query.get("wait", [""])[0] == "true" and value is not None:
                max_wait = float(query.get("maxWait", ["60"])[0] or 60) or 60
                current = state.wait_version(value, min(max_wait, 120))
            return self._json(current, accept, head)
        node = _walk(state.trees[version], parts[1:])
        if node is _MISSING:
            node = _walk(state.trees[version], [p.lower() for p in parts[1:]])
        if node is _MISSING:
            return self._error("Not found", head)
        return self._json(node, accept, head)

    def _json(self, value: Any, accept: str, head: bool) -> None:
        if "application/json" in accept:
            body = json.dumps(value).encode()
        else:
            body = _text_format(value).encode()
        self._send(200, body, head)

    def _error(self, message: str, head: bool) -> None:
        body = json.dumps({"code": 404, "message": message, "type": "error"}).encode()
        self._send(404, body, head)

    def _send(self, status: int, body: bytes, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


_MISSING = object()


def _walk(node: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(node, dict):
            if part not in node:
                return _MISSING
            node = node[part]
        elif isinstance(node, list):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            match = [
                i for i in node if isinstance(i, dict) and part in (i.get("name"), i.get("uuid"))
            ]
            if not match:
                return _MISSING
            node = match[0]
        else:
            return _MISSING
    return node


def _text_format(value: Any) -> str:
    """The server's plain-text answer: map keys, ``key/`` for nested; ``i=name`` for arrays."""
    if isinstance(value, dict):
        return "\n".join(f"{k}/" if isinstance(v, dict | list) else k for k, v in value.items())
    if isinstance(value, list):
        lines = []
        for i, item in enumerate(value):
            name = item.get("name") if isinstance(item, dict) else None
            lines.append(f"{i}={name}" if name else f"{i}/")
        return "\n".join(lines)
    return "" if value is None else str(value)
