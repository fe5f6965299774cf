"""Kubernetes API answers that misbehave on purpose, for ``MisbehavingServer``.

``misbehaving_server`` has the generic faults (a trickle, a hang, a redirect, an oversize body,
``Retry-After``); here are the ones that need the shape of a Kubernetes list or watch: a list
whose every page sends the same continue token, a gzip bomb sent unasked, an object nested
thousands of levels deep, a body cut short, a watch event longer than any limit. Each is a
behaviour for ``MisbehavingServer.on(path, ...)``, and ``kubeconfig`` points the real client
at the server (plain HTTP, a bearer token).

    with MisbehavingServer() as srv:
        srv.on(SERVICES, same_continue_token())
        path = kubeconfig(srv, tmp_path)
"""

from __future__ import annotations

import json
import socket
import zlib
from pathlib import Path
from typing import Any

from tests.support.misbehaving_server import Behaviour, MisbehavingServer

SERVICES = "/api/v1/services"
INGRESSES = "/apis/networking.k8s.io/v1/ingresses"
TOKEN = "kube-token"


def kubeconfig(srv: MisbehavingServer, tmp_path: Path, server: str | None = None) -> Path:
    """A kubeconfig file for ``srv`` (or the URL ``server``), with a bearer token."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "t", "cluster": {"server": server or srv.url}}],
                "users": [{"name": "t", "user": {"token": TOKEN}}],
                "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
                "current-context": "t",
            }
        )
    )
    return path


def list_body(items: list[Any] | None = None, cont: str = "", rv: str = "5") -> bytes:
    """A list answer (ServiceList shape) with these items and continue token."""
    meta: dict[str, Any] = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return json.dumps(
        {"kind": "ServiceList", "apiVersion": "v1", "metadata": meta, "items": items or []}
    ).encode()


def answer(body: bytes, code: int = 200, headers: dict[str, str] | None = None) -> Behaviour:
    """A JSON answer with its length."""

    def send(h: Any) -> None:
        h.head(
            code,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                **(headers or {}),
            },
        )
        h.body(body)

    return send


def same_continue_token(items: list[Any] | None = None, give_up_after: int = 20) -> Behaviour:
    """Every page says there is more, with the same continue token; after ``give_up_after``
    requests the list ends (so that a client without the check is seen to loop, not hang)."""
    count = [0]

    def send(h: Any) -> None:
        count[0] += 1
        cont = "" if count[0] >= give_up_after else "SAME"
        answer(list_body(items, cont))(h)

    return send


def paged(pages: int, interval: float = 0.0) -> Behaviour:
    """A list of ``pages`` pages, each with a new continue token, each sent ``interval``
    seconds after the request came (slow, but each page well within any timeout)."""

    def send(h: Any) -> None:
        query = h.path.partition("?")[2]
        page = 0
        for part in query.split("&"):
            if part.startswith("continue=p"):
                page = int(part[len("continue=p") :])
        if h.srv.stopping.wait(interval):
            return
        cont = f"p{page + 1}" if page + 1 < pages else ""
        answer(list_body([], cont))(h)

    return send


def gzip_bomb(inflated: int) -> Behaviour:
    """A list answer gzip-compressed (never asked for) that inflates to ``inflated`` bytes:
    a JSON list padded with spaces, about a thousandth of that on the wire."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [co.compress(b'{"metadata":{"resourceVersion":"5"},"items":[')]
    block = b" " * (1 << 20)
    for _ in range(inflated // len(block)):
        parts.append(co.compress(block))
    parts += [co.compress(b"]}"), co.flush()]
    return answer(b"".join(parts), headers={"Content-Encoding": "gzip"})


def nested(depth: int) -> bytes:
    """A Service whose ``spec.x`` is a list nested ``depth`` levels deep."""
    inner = b"[" * depth + b"]" * depth
    return b'{"metadata":{"name":"deep","namespace":"a"},"spec":{"x":' + inner + b"}}"


def deep_list(depth: int) -> Behaviour:
    """A list answer with one object nested ``depth`` levels deep (in ``spec.x``)."""
    return answer(b'{"metadata":{"resourceVersion":"5"},"items":[' + nested(depth) + b"]}")


def cut_short(announced: int = 1000) -> Behaviour:
    """Announce ``announced`` bytes, send the start of a list, then close the connection."""

    def send(h: Any) -> None:
        h.close_connection = True
        h.head(200, {"Content-Type": "application/json", "Content-Length": str(announced)})
        h.body(b'{"items":[')
        h.connection.shutdown(socket.SHUT_RDWR)

    return send


def long_watch_line(size: int, piece: int = 1 << 20) -> Behaviour:
    """A watch stream (chunked) whose first event never ends: ``size`` bytes with no newline."""

    def send(h: Any) -> None:
        h.close_connection = True
        h.head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        block = b"x" * piece
        left = size
        while left > 0 and not h.srv.stopping.is_set():
            p = block[: min(piece, left)]
            h.body(b"%x\r\n%s\r\n" % (len(p), p))
            left -= len(p)
        h.body(b"0\r\n\r\n")

    return send


def then(first: Behaviour, times: int, after: Behaviour) -> Behaviour:
    """``first`` for the first ``times`` requests, ``after`` for the rest."""
    count = [0]

    def send(h: Any) -> None:
        count[0] += 1
        (first if count[0] <= times else after)(h)

    return send
