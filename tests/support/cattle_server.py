"""A real HTTP server on 127.0.0.1 standing in for the Rancher (Cattle) API's event collection.

It records every request (method, path, Authorization header, JSON body) and can be told to
fail: the first ``fail_count`` requests with ``fail_status``, or every request about one of
``fail_fqdns``. Tests of the write-back drive failures through it instead of patching requests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    authorization: str
    body: dict[str, Any]
    status: int


class CattleServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.fail_status = 503
        self.fail_count = 0
        self.fail_fqdns: dict[str, int] = {}  # fqdn → status answered every time
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"state": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CattleServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._thread = None
        self.httpd.shutdown()
        self.httpd.server_close()

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of the requests that were answered with success."""
        return [r.body for r in self.requests if r.status < 300]

    def _answer(self, method: str, path: str, auth: str, body: dict[str, Any]) -> int:
        with self._lock:
            status = 201
            if self.fail_count > 0:
                self.fail_count -= 1
                status = self.fail_status
            elif body.get("fqdn") in self.fail_fqdns:
                status = self.fail_fqdns[body["fqdn"]]
            self.requests.append(Request(method, path, auth, body, status))
            return status


class _Handler(BaseHTTPRequestHandler):
    state: CattleServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        status = self.state._answer("POST", self.path, self.headers.get("Authorization", ""), body)
        answer = dict(body, type="externalDnsEvent", id="1ede1", state="requested")
        data = json.dumps(answer if status < 300 else {"type": "error", "status": status})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())
