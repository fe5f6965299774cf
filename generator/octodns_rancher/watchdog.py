"""A request's deadline, whatever the server does: a watchdog that cuts its socket.

A read timeout bounds each wait for the next bytes, not the whole answer: a server that sends
one byte every few seconds, in the headers or the body, never trips it. The watchdog is a timer
started with each request; when it fires it shuts the request's socket down, and the blocked
read returns at once. The socket is handed over by the connection classes below, which the
``requests`` adapter of ``httpclient`` uses for every request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager

_current = threading.local()


class Watchdog:
    """Shuts the request's socket down when its deadline passes, from a timer thread; the
    current thread's requests report to it while it is ``watching()``.

    It holds the socket itself, not the connection: http.client lets go of the connection's
    socket once the headers of an answer that ends with the connection are read, and the
    answer's body is then read from the same socket through the response.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sock = sock
            if self.fired:
                self._cut()

    def watching(self) -> Watchdog:
        _current.watchdog = self
        return self

    def rearm(self, seconds: float) -> None:
        """Go on watching the same socket, ``seconds`` from now (a stream, once its headers are
        in: its whole life is bounded, not only each read); the current thread's later
        requests are no longer reported to this watchdog."""
        _current.watchdog = None
        with self._lock:
            self._timer.cancel()
            if self.fired:
                return
            self._timer = threading.Timer(seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def done(self) -> None:
        _current.watchdog = None
        with self._lock:
            self._timer.cancel()
            self._sock = None

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._cut()

    def _cut(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """Hands the socket a request goes out on to the current request's watchdog: a pooled
    connection's when the request is sent, a new connection's as soon as its TCP connection is
    made, before a proxy's tunnel (``CONNECT``, whose answer http.client reads line by line
    with no end) and the TLS handshake, and again once they are done (the TLS socket)."""

    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        _hand_over(sock)
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _hand_over(getattr(self, "sock", None))

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _hand_over(getattr(self, "sock", None))
        return super().request(*args, **kwargs)  # type: ignore[misc]


def _hand_over(sock: socket.socket | None) -> None:
    """Give ``sock`` to the current thread's watchdog, if a request of it is watched."""
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.attach(sock)


class _Conn(_Watched, HTTPConnection):
    pass


class _ConnS(_Watched, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Conn


class _PoolS(HTTPSConnectionPool):
    ConnectionCls = _ConnS


def watch_pools(manager: PoolManager) -> None:
    """Make the connections of a urllib3 pool manager (direct, or through an HTTP proxy) hand
    their sockets to the request's watchdog; a SOCKS proxy's manager (urllib3.contrib.socks, a
    subclass) keeps pools of its own and is left as it is. Call before its first request."""
    if type(manager) in (PoolManager, ProxyManager):
        manager.pool_classes_by_scheme = {"http": _Pool, "https": _PoolS}


class Adapter(HTTPAdapter):
    """requests' adapter with the watched connections, direct and through a proxy
    (``HTTPS_PROXY``, which requests reads from the environment)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        watch_pools(self.poolmanager)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        watch_pools(manager)
        return manager
