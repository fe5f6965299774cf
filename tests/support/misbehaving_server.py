"""A real HTTP server on 127.0.0.1 that misbehaves on purpose, for the clients' limits.

Each path (or every path) gets a behaviour: a 503 with a huge ``Retry-After``, a body trickled
one byte at a time, a redirect (301/302/307/308) to another port or within this server, a body
larger than any limit (streamed from a generator, never held in memory here), a forged error
body (line breaks, a fake ``ERROR`` line, ANSI escapes, a 2 MB JSON message), or no answer at
all. It is threaded and stoppable: ``stop()`` ends every trickle and hang at once and frees the
port. Tests of ``generate``, ``snapshot``, ``watch`` and ``writeback`` point the real CLI at it.

    with MisbehavingServer() as srv:
        srv.on("/2016-07-29/self/stack", retry_after(3600))
        srv.url  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Behaviour = Callable[["_Handler"], None]

FORGED_LINE = "ERROR octodns_rancher: forged"
# A body that, printed raw, starts a line of its own and paints the terminal red.
FORGED_TEXT = f"not found\n{FORGED_LINE}\r\n\x1b[31mred\x1b[0m\u2028{FORGED_LINE}"


class MisbehavingServer:
    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.default: Behaviour = status(404, b'{"message":"no behaviour for this path"}')
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.sent = 0  # body bytes written, over all answers
        handler = type("Handler", (_Handler,), {"srv": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *a: None  # type: ignore[method-assign]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def on(self, path: str, behaviour: Behaviour) -> MisbehavingServer:
        """Answer requests for ``path`` (query ignored; ``*`` for every path) this way."""
        if path == "*":
            self.default = behaviour
        else:
            self.behaviours[path] = behaviour
        return self

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.requests]

    def start(self) -> MisbehavingServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._thread = None
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> MisbehavingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    srv: MisbehavingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.srv.connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.srv.connections.discard(self.connection)

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.srv.requests.append((self.command, path, dict(self.headers.items())))
        try:
            self.srv.behaviours.get(path, self.srv.default)(self)
        except OSError:  # the client hung up (its deadline or size limit): expected
            self.close_connection = True

    do_GET = do_POST = do_PUT = _dispatch

    def head(self, code: int, headers: dict[str, str]) -> None:
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def body(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        self.srv.sent += len(data)


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Behaviour:
    """A plain answer."""

    def answer(h: _Handler) -> None:
        h.head(code, {"Content-Length": str(len(body)), **(headers or {})})
        h.body(body)

    return answer


def json_body(value: Any, code: int = 200) -> Behaviour:
    return status(code, json.dumps(value).encode(), {"Content-Type": "text/plain"})


def retry_after(seconds: int | str, code: int = 503) -> Behaviour:
    """An error that asks the client to come back in ``seconds`` (an hour, say)."""
    return status(code, b'{"message":"busy"}', {"Retry-After": str(seconds)})


def trickle(body: bytes, interval: float, announce: bool = True) -> Behaviour:
    """Send ``body`` one byte every ``interval`` seconds; with ``announce`` its length is in
    ``Content-Length``, else the body ends when the connection closes."""

    def answer(h: _Handler) -> None:
        if announce:
            h.head(200, {"Content-Length": str(len(body))})
        else:
            h.close_connection = True
            h.head(200, {"Connection": "close"})
        for i in range(len(body)):
            if h.srv.stopping.wait(interval):
                return
            h.body(body[i : i + 1])

    return answer


def redirect(code: int, location: str) -> Behaviour:
    return status(code, b"", {"Location": location})


def oversize(size: int, announce: bool = True, piece: int = 1 << 20) -> Behaviour:
    """``size`` bytes of a JSON-looking body, written piece by piece (never built whole here);
    with ``announce`` the Content-Length says so up front, else the body is chunked."""

    def pieces() -> Iterator[bytes]:
        left = size
        block = b" " * piece
        while left > 0:
            yield block[: min(piece, left)]
            left -= piece

    def answer(h: _Handler) -> None:
        if announce:
            h.head(200, {"Content-Length": str(size)})
            for p in pieces():
                if h.srv.stopping.is_set():
                    return
                h.body(p)
            return
        h.head(200, {"Transfer-Encoding": "chunked"})
        for p in pieces():
            if h.srv.stopping.is_set():
                return
            h.body(b"%x\r\n%s\r\n" % (len(p), p))
        h.body(b"0\r\n\r\n")

    return answer


def forged(code: int = 404, json_message: bool = True, repeat: int = 1) -> Behaviour:
    """An error whose text, printed raw, would forge log lines: as a JSON ``message`` (the
    rancher-metadata error shape) or as plain text; ``repeat`` makes it as long as wanted."""
    text = FORGED_TEXT * repeat
    body = json.dumps({"code": code, "message": text}) if json_message else text
    return status(code, body.encode(), {"Content-Type": "text/plain"})


def huge_message(chars: int = 2_000_000, code: int = 404) -> Behaviour:
    """A JSON error whose message is ``chars`` characters long."""
    return status(code, json.dumps({"message": "x" * chars}).encode())


def hang() -> Behaviour:
    """Read the request, then say nothing until the server stops."""

    def answer(h: _Handler) -> None:
        h.srv.stopping.wait()

    return answer


@contextlib.contextmanager
def trickling_connect_proxy() -> Iterator[str]:
    """An HTTPS proxy (its URL) that answers CONNECT one byte every 0.2 s, header line after
    header line: the tunnel is set up before TLS, inside the connection's ``connect``, and
    http.client reads its answer with no limit on the lines."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(4096)
                for byte in b"HTTP/1.1 200 Connection established\r\n" + b"X: y\r\n" * 500:
                    if stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
