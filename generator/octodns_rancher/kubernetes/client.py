"""Read Services and Ingresses from a cluster: chunked lists and watch streams.

Authentication and TLS are the official client's (``kubernetes`` on PyPI): its kubeconfig
loader handles contexts, client certificates, tokens and exec credential plugins (as EKS, GKE
and AKS use, refreshed when they expire), and its in-cluster loader the service account token
(re-read as it rotates). Every request goes out through that client's ``ApiClient``: its
headers and credentials (``update_params_for_auth``, which refreshes them) and its urllib3
``PoolManager``, which carries the cluster's CA, client certificate and proxy. Bodies are read
raw and decoded with msgspec/orjson, never through the client's model classes (20,000 objects
would take seconds).

An API server, or whatever answers in its place, can be slow, lying or hostile, and a run must
still end, in bounded time and memory, with one clear error. So every request has what
``httpclient`` gives the requests to rancher-metadata, done here rather than by urllib3 (whose
retries and redirects are off for every request):

- a **deadline per request** (``timeout``) from connecting to the last byte of a list page, or
  to the headers of a watch (its stream then runs for the ``timeoutSeconds`` it asked for and
  ``stream_grace`` more): the ``watchdog`` shuts the socket down when it passes, so a server
  that sends a byte a second cannot hold a request longer than that; and a **deadline per
  run** (``deadline``) over
  every request, retry and pause of a ``run()`` (``snapshot.fetch``: both lists) or, outside
  one, of a list;
- **bounded retries** of connection errors, cut or too slow answers and 429/5xx answers
  (``cfg.retries``: its ``total`` and ``backoff_factor``; None for none), a ``Retry-After``
  honoured up to ``httpclient.RETRY_AFTER_MAX`` seconds, never more, and never past the run's
  deadline;
- a **size limit** (``max_bytes``, ``--max-answer-size``) on each list answer and on the pages
  of one list together: a ``Content-Length`` above it is refused before reading, a body is read
  in pieces and refused as soon as it passes the limit;
- **no compression**: ``Accept-Encoding: identity`` is asked for and an answer encoded anyway
  (``Content-Encoding: gzip``) is refused, not inflated. kube-apiserver compresses only when a
  client asks, so such an answer comes from something in between that ignores HTTP; inflating
  it would be a second way of reading, never used against a real server, where 1 MB of gzip is
  1 GB of memory unless every piece is bounded;
- **no redirects**: an API server never redirects a list or a watch, so any 3xx is refused,
  with an error naming both URLs (the other host's data is never read, the token never sent);
- a **list that ends**: a continue token seen before in the same list fails it, and so do
  more than ``MAX_PAGES`` pages;
- **objects a snapshot file can hold**: a list read whole (for ``snapshot``) is refused when an
  object nests deeper than ``MAX_DEPTH`` levels, the most the file's writer (orjson) writes;
  what ``snapshot`` reads it can write, and ``generate --kubernetes-file`` read back. A run
  reads only some fields (``trimmed.py``), and decodes an object whole when it cannot;
- **one-line errors that name the URL** (``ClusterError``) for every failure: of the request,
  of its body while it is read, and of its decoding.

Which configuration: ``--kubeconfig`` when given; else the in-cluster service account when
running in a pod (``KUBERNETES_SERVICE_HOST`` set) and no ``KUBECONFIG``; else the default
kubeconfig (``KUBECONFIG`` or ``~/.kube/config``), with ``--context`` or its current context.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import msgspec
import orjson

from ..errors import ConfigError
from ..logs import clip
from ..names import printable
from ..redact import redact_url
from ..source import DEFAULT_DEADLINE, DEFAULT_MAX_BYTES
from . import trimmed
from .model import ClusterError

log = logging.getLogger(__name__)

# httpclient and watchdog (which import requests, about 90 ms of start-up) are imported where a
# request is made, as the official client is: a run from a snapshot file never makes one.

# The two lists this source reads, cluster-wide (the ClusterRole grants get/list/watch on them).
PATHS = {
    "services": "/api/v1/services",
    "ingresses": "/apis/networking.k8s.io/v1/ingresses",
}
CHUNK = 500
# Pages of one list at the most: 5 million objects at CHUNK a page, far beyond any cluster; a
# server that sends ever new continue tokens (with few items or none) ends here, not at the
# run's deadline after a hundred thousand requests.
MAX_PAGES = 10_000
MAX_LINE = 64 * 1024 * 1024  # one watch event; a real object is at most ~1.5 MiB
# The key of a watch event (as ``KubeClient.watch`` yields it) that holds the size of its line.
EVENT_BYTES = "_bytes"
# How long a watch stream may outlive the timeoutSeconds it asked for.
STREAM_GRACE = 30.0
PIECE = 1024 * 1024  # a list answer is read this much at a time
# Answers worth another try: throttled (API Priority and Fairness answers 429 with a
# Retry-After) or a server error.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# orjson writes at most 254 nested levels; a snapshot file puts each object 3 levels down.
MAX_DEPTH = 254 - 3


class Gone(ClusterError):
    """410 Gone: the resourceVersion (or continue token) is too old; list again."""


class _Again(ClusterError):
    """This attempt failed, the next may not (connection, too slow, 429/5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Listing:
    """One whole list: its items and the resourceVersion to watch from."""

    items: list[Any]
    resource_version: str
    requests: int


def configuration(
    kubeconfig: str | None = None, context: str | None = None, timeout: float = 10.0
) -> Any:
    """The official client's Configuration for the cluster, as described in the module.

    ``retries`` is what ``KubeClient`` retries (``total``, ``backoff_factor``); set it to None
    for no retries (the watch's stream threads back off themselves).
    """
    from kubernetes.config.config_exception import ConfigException
    from urllib3.util.retry import Retry

    from kubernetes import client, config

    cfg = client.Configuration()
    try:
        in_cluster = (
            not kubeconfig
            and not os.environ.get("KUBECONFIG")
            and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        )
        if in_cluster:
            config.load_incluster_config(client_configuration=cfg)
        else:
            config.load_kube_config(
                config_file=kubeconfig or None,
                context=context or None,
                client_configuration=cfg,
                persist_config=False,
            )
    except (ConfigException, OSError, TypeError, ValueError) as e:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ConfigError(f"cannot use the Kubernetes configuration ({where}): {e}") from None
    cfg.retries = Retry(total=3, backoff_factor=0.5)
    return cfg


class KubeClient:
    """Lists and watches through one ``ApiClient``, with the limits of the module."""

    def __init__(
        self,
        cfg: Any,
        timeout: float = 10.0,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        from kubernetes import client

        from ..watchdog import watch_pools

        self.api = client.ApiClient(cfg)
        self.pool = self.api.rest_client.pool_manager
        watch_pools(self.pool)  # each request's socket to its watchdog (no pool exists yet)
        self.host = cfg.host
        self.timeout, self.deadline, self.max_bytes = timeout, deadline, max_bytes
        self.retries, self.backoff = _retry_settings(cfg.retries)
        self.stream_grace = STREAM_GRACE
        self.max_pages = MAX_PAGES
        self.requests = 0  # every GET so far, for the run's metrics
        self._count = threading.Lock()  # the two lists are read at once (snapshot.fetch)
        self._run_ends: float | None = None

    def close(self) -> None:
        self.api.close()

    @contextlib.contextmanager
    def run(self) -> Iterator[None]:
        """Requests inside, in any thread, share one deadline (``deadline`` from now)."""
        outer = self._run_ends
        if outer is None:
            self._run_ends = time.monotonic() + self.deadline
        try:
            yield
        finally:
            self._run_ends = outer

    def _ends(self) -> float:
        """When the current run ends; outside a run, a list or a watch is a run of its own."""
        ends = self._run_ends
        return ends if ends is not None else time.monotonic() + self.deadline

    def list(self, what: str, trim: bool = False) -> Listing:
        """Every object of ``what`` (``services``/``ingresses``), in chunks of ``CHUNK``.

        ``trim``: each object holds only the fields the model reads (``trimmed.py``), for the
        generator and the watch; ``snapshot`` keeps objects whole. A continue token that
        expires mid-list (410) restarts the list once from the start.
        """
        path = PATHS[what]
        ends = self._ends()
        sent = [0]  # requests of this list, a failed first attempt's included
        for attempt in (1, 2):
            try:
                return self._list(path, sent, trim, ends)
            except Gone as e:
                if attempt == 2:
                    raise
                log.warning("%s; listing %s again from the start", e, what)
        raise AssertionError("unreachable")

    def _list(self, path: str, sent: list[int], trim: bool, ends: float) -> Listing:
        """One whole list, counting its requests in ``sent[0]``."""
        url = f"{self.host}{path}"
        items: list[Any] = []
        token = ""
        version = ""
        seen: set[str] = set()  # the continue tokens of this list: one seen again loops
        size = 0  # the bytes of this list's pages so far
        while True:
            params: list[tuple[str, Any]] = [("limit", CHUNK)]
            if token:
                params.append(("continue", token))
            data = self._request(path, params, ends, stream=False, read=size)
            sent[0] += 1
            size += len(data)
            page, meta = _page(url, data, trim)
            del data
            items.extend(page)
            rv = meta.get("resourceVersion")
            version = rv if isinstance(rv, str) and rv else version  # sent back as it came
            token = meta.get("continue") or ""
            if not isinstance(token, str):
                raise ClusterError(f"{url}: metadata.continue is not a string")
            if not token:
                return Listing(items, version, sent[0])
            if token in seen:
                raise ClusterError(
                    f"{url}: the server sent the continue token {clip(token, 80)!r} again; "
                    "the list would never end, refusing it"
                )
            seen.add(token)
            if len(seen) >= self.max_pages:
                raise ClusterError(
                    f"{url}: the list did not end after {self.max_pages:,} pages of up to {CHUNK} "
                    "objects; refusing it"
                )

    def watch(
        self, what: str, resource_version: str, timeout_seconds: int = 300, trim: bool = False
    ) -> Iterator[Any]:
        """The events of ``what`` after ``resource_version``, as decoded JSON objects (``trim``:
        each changed object holds only what the model reads, as a trimmed list's items), each
        with the size of its line under ``EVENT_BYTES``.

        Ends when the server closes the stream (after ``timeout_seconds``); a stream still open
        ``stream_grace`` seconds later, however the server keeps it alive, raises ClusterError
        (client-go bounds its watch requests the same way). An ERROR event with code 410 raises
        Gone; any other ERROR event raises ClusterError.
        """
        path = PATHS[what]
        params = [
            ("watch", "1"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout_seconds),
        ]
        url = f"{self.host}{path}"
        # The stream's watchdog cuts it ``stream_grace`` s after the timeoutSeconds it asked for.
        resp, watchdog = self._request(
            path, params, self._ends(), stream=True, wait=timeout_seconds + self.stream_grace
        )
        ended = False
        try:
            for line in _lines(resp, url, watchdog, self.stream_grace):
                event = _event(url, line, trim)
                if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
                    raise ClusterError(f"{url}: a watch event is not an object with an object")
                if event.get("type") == "ERROR":
                    status = event["object"]
                    message = _status_message(status) or "(no message)"
                    if status.get("code") == 410:
                        raise Gone(f"{url}: watch: 410 Gone: {message}")
                    raise ClusterError(f"{url}: watch error {status.get('code')}: {message}")
                event[EVENT_BYTES] = len(line)
                yield event
            ended = True
        finally:
            watchdog.done()
            if not ended:  # mid-stream: the connection cannot serve another request
                resp.close()
            resp.release_conn()

    # -- one request ---------------------------------------------------------------------------

    def _request(
        self,
        path: str,
        params: list[tuple[str, Any]],
        ends: float,
        *,
        stream: bool,
        read: int = 0,
        wait: float = 0.0,
    ) -> Any:
        """A GET with its retries, within ``ends``: a list page's body (``read``: bytes of the
        list so far), or a watch's response after its headers (``wait``: its read timeout)."""
        from ..httpclient import RETRY_AFTER_MAX, retry_pause

        url = f"{self.host}{path}"
        attempt = 0
        while True:
            left = ends - time.monotonic()
            if left <= 0:
                raise ClusterError(f"{url}: the run's deadline of {self.deadline:g} s passed")
            try:
                return self._once(url, path, params, min(self.timeout, left), stream, read, wait)
            except _Again as e:
                why, asked = str(e), e.retry_after
            if attempt >= self.retries:
                raise ClusterError(why)
            pause = retry_pause(self.backoff, attempt, asked)
            note = ""
            if asked is not None and asked > RETRY_AFTER_MAX:
                note = f": Retry-After {asked:g} s, capped at {RETRY_AFTER_MAX:g} s"
            if time.monotonic() + pause >= ends:
                raise ClusterError(
                    f"{why}; no time left to retry within the run's deadline of "
                    f"{self.deadline:g} s (the next try in {pause:g} s{note})"
                )
            attempt += 1
            log.debug("%s; retry %d of %d in %.2f s", why, attempt, self.retries, pause)
            time.sleep(pause)

    def _once(
        self,
        url: str,
        path: str,
        params: list[tuple[str, Any]],
        budget: float,
        stream: bool,
        read: int,
        wait: float,
    ) -> Any:
        """One attempt, watched: it fails (``_Again`` when worth retrying) at ``budget``."""
        from urllib3.exceptions import HTTPError, SSLError

        from ..watchdog import Watchdog

        with self._count:
            self.requests += 1
        started = time.monotonic()
        watchdog = Watchdog(budget).watching()
        resp = None
        ok = False
        try:
            resp = self._send(url, path, params, budget, wait if stream else budget)
            _check(resp, url)
            _refuse_encoding(resp, url)
            if stream:
                if watchdog.fired:
                    raise _Again(self._too_slow(url, budget, answered=True))
                # From here the stream's life is bounded: what it asked for and the grace.
                watchdog.rearm(wait)
                ok = True
                return resp, watchdog
            data = self._body(resp, url, read)
            if watchdog.fired:  # a body without a length ends where the connection was cut
                raise _Again(self._too_slow(url, budget, answered=True))
            ok = True
            return data
        except (HTTPError, OSError) as e:
            if watchdog.fired or time.monotonic() - started >= budget:
                message = self._too_slow(url, budget, answered=resp is not None)
                if budget < self.timeout:  # the run's deadline: no time for another try
                    raise ClusterError(message) from None
                raise _Again(message) from None
            if isinstance(e, SSLError):  # a certificate does not change between tries
                raise ClusterError(f"{url}: {_reason(e)}") from None
            if resp is None:
                raise _Again(f"{url}: {_reason(e)}") from None
            raise _Again(f"{url}: the list answer broke off: {_reason(e)}") from None
        finally:
            if not (stream and ok):  # a stream's response and watchdog are the caller's
                watchdog.done()
                if resp is not None:
                    if not ok:  # not read to its end: the connection is not reused
                        resp.close()
                    resp.release_conn()

    def _send(
        self, url: str, path: str, params: list[tuple[str, Any]], connect: float, read: float
    ) -> Any:
        """Send the GET with the client's headers and credentials; the response once its
        headers are in (urllib3's own retries and redirects off)."""
        from kubernetes.client.exceptions import ApiValueError
        from kubernetes.config.config_exception import ConfigException
        from urllib3 import Timeout

        headers = {
            **self.api.default_headers,
            "Accept": "application/json",
            "Accept-Encoding": "identity",
        }
        query = list(params)
        try:
            self.api.update_params_for_auth(headers, query, ["BearerToken"])
        except (ConfigException, ApiValueError, ValueError, TypeError) as e:
            raise ClusterError(f"{url}: cannot get the credentials: {clip(str(e))}") from None
        for key, value in headers.items():
            if not isinstance(value, str):
                continue
            # A token file written with echo ends in a newline: client-go trims it, and so
            # does this. A line break inside cannot be sent, and the value (a credential) is
            # never shown: http.client's own error would print it whole.
            value = headers[key] = value.strip()
            if any(c in value for c in "\r\n\0"):
                raise ClusterError(
                    f"{url}: the credentials hold a line break (a token file of more than one "
                    "line?); not sent"
                )
        try:
            return self.pool.request(
                "GET",
                url,
                fields=query,
                headers=headers,
                preload_content=False,
                decode_content=False,
                timeout=Timeout(connect=connect, read=read),
                retries=False,
                redirect=False,
            )
        except ValueError as e:  # http.client's words would hold the header's value
            raise ClusterError(
                f"{url}: a request header cannot be sent ({type(e).__name__})"
            ) from None

    def _body(self, resp: Any, url: str, read: int) -> bytes:
        """A list answer's body, read in pieces within the size limit (``read``: bytes of the
        same list read before)."""
        from ..httpclient import is_number

        limit = self.max_bytes
        length = resp.headers.get("Content-Length", "")
        if is_number(length) and int(length) > limit:
            raise ClusterError(
                f"{url}: the answer announces {int(length):,} bytes, more than the limit of "
                f"{limit:,} bytes (--max-answer-size); refusing it"
            )
        pieces: list[bytes] = []
        size = 0
        while piece := resp.read(PIECE, decode_content=False):
            size += len(piece)
            if size > limit:
                raise ClusterError(
                    f"{url}: the answer is larger than the limit of {limit:,} bytes "
                    "(--max-answer-size); refusing it"
                )
            if read + size > limit:
                raise ClusterError(
                    f"{url}: the list's pages together are larger than the limit of {limit:,} "
                    "bytes (--max-answer-size); refusing the list"
                )
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _too_slow(self, url: str, budget: float, answered: bool) -> str:
        what = "did not send its whole answer" if answered else "did not answer"
        if budget < self.timeout:
            return f"{url}: {what} before the run's deadline of {self.deadline:g} s passed"
        return (
            f"{url}: {what} within {self.timeout:g} s "
            "(the per-request deadline, connection and whole body)"
        )


def _retry_settings(retries: Any) -> tuple[int, float]:
    """How many retries and their first pause, from ``cfg.retries`` (None: none)."""
    total = getattr(retries, "total", retries)
    count = total if isinstance(total, int) and not isinstance(total, bool) else 0
    backoff = getattr(retries, "backoff_factor", 0.5)
    return max(0, count), float(backoff) if isinstance(backoff, (int, float)) else 0.5


def _check(resp: Any, url: str) -> None:
    """Raise for an answer that is not a success: Gone for 410, ``_Again`` for those worth
    another try, ClusterError for the rest (a redirect naming where it leads)."""
    from ..httpclient import ERROR_BODY_MAX, _retry_after

    status = resp.status
    if 200 <= status < 300:
        return
    if 300 <= status < 400 and resp.headers.get("Location"):
        target = redact_url(clip(urljoin(url, resp.headers["Location"])))
        raise ClusterError(
            f"{url}: redirected ({status}) to {target}; an API server does not redirect a list "
            "or a watch, refusing to follow it"
        )
    # An error's body is read only this far, for the Status's message.
    message = _status_message(resp.read(ERROR_BODY_MAX, decode_content=False))
    reason = message or clip(resp.reason or "", 80)
    if status == 410:
        raise Gone(f"{url}: 410 Gone: {reason}")
    if status in (401, 403):
        raise ClusterError(
            f"{url}: {status} {clip(resp.reason or '', 80)}: the credentials cannot read this "
            f"list ({reason})"
        )
    if status in RETRY_STATUS:
        raise _Again(
            f"{url}: HTTP {status} {reason}", _retry_after(resp.headers.get("Retry-After"))
        )
    raise ClusterError(f"{url}: HTTP {status} {reason}")


def _refuse_encoding(resp: Any, url: str) -> None:
    encoding = (resp.headers.get("Content-Encoding") or "").strip().lower()
    if encoding and encoding != "identity":
        raise ClusterError(
            f"{url}: the answer is {clip(encoding, 40)}-encoded (Content-Encoding), which was not "
            "asked for (Accept-Encoding: identity); refusing it"
        )


def _reason(e: BaseException) -> str:
    """The cause of a failed request on one short line: the operating system's reason
    (``Connection refused``), a body cut short (``IncompleteRead(...)``), or the error itself."""
    from ..httpclient import causes

    for err in causes(e):
        if isinstance(err, http.client.IncompleteRead):
            return clip(str(err))
        if isinstance(err, OSError) and err.strerror:
            return clip(str(err.strerror))
        if isinstance(err, (socket.timeout, TimeoutError)):
            return "timed out"
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {clip(text)}" if text else type(e).__name__


def _lines(resp: Any, url: str, watchdog: Any, grace: float) -> Iterator[bytes]:
    """Newline-delimited events of a streamed answer; a line over MAX_LINE fails the watch,
    and so does a stream that ``watchdog`` cut (still open ``grace`` seconds after its
    timeoutSeconds, blank lines or not).

    The pieces of a line are appended to one ``bytearray`` (amortised constant time each) and
    split only when a newline comes: a line of 100 MB costs its length, not its length times
    the number of its pieces.
    """
    from urllib3.exceptions import HTTPError

    too_long = f"{url}: a watch event is larger than {MAX_LINE} bytes"
    still_open = (
        f"{url}: the watch stream is still open {grace:g} s after the timeoutSeconds it asked "
        "for; ended"
    )
    pending = bytearray()
    try:
        for chunk in resp.stream(64 * 1024, decode_content=False):
            pending += chunk
            if b"\n" in chunk:
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if len(line) > MAX_LINE:
                        raise ClusterError(too_long)
                    if line.strip():
                        yield bytes(line)
            if len(pending) > MAX_LINE:
                raise ClusterError(too_long)
    except (HTTPError, OSError) as e:
        if watchdog.fired:
            raise ClusterError(still_open) from None
        raise ClusterError(f"{url}: watch stream broken: {_reason(e)}") from None
    if pending.strip():
        yield bytes(pending)


def _event(url: str, line: bytes, trim: bool) -> Any:
    """One watch event, its object trimmed when ``trim`` and it can be."""
    if trim:
        try:
            return trimmed.event(line)
        except (msgspec.DecodeError, ValueError, RecursionError):
            pass  # not the usual shape: the generic decode names what is wrong
    return _json(url, line)


def _page(url: str, data: bytes, trim: bool) -> tuple[list[Any], dict[str, Any]]:
    """A list answer's items and metadata; the items trimmed when ``trim`` and they can be,
    else whole and checked to be writable (``MAX_DEPTH``)."""
    if trim:
        try:
            body = trimmed.page(data)
            return trimmed.items(body.items), body.metadata or {}
        except (msgspec.DecodeError, ValueError, RecursionError):
            pass  # not the usual shape: the generic decode below names what is wrong
    decoded = _json(url, data)
    if not isinstance(decoded, dict) or not isinstance(decoded.get("items"), list):
        raise ClusterError(f"{url}: the answer is not a list of objects")
    meta = decoded.get("metadata")
    if not trim:
        _writable(url, decoded["items"])
    return decoded["items"], meta if isinstance(meta, dict) else {}


def _writable(url: str, items: list[Any]) -> None:
    """Refuse objects nested deeper than a snapshot file can hold (``MAX_DEPTH``).

    orjson is the test: each object is encoded as deep as the file puts it (3 levels down),
    which costs a fraction of the decoding, and only the objects of a whole list are."""
    try:
        orjson.dumps([[items]])
        return
    except TypeError:
        pass
    for i, item in enumerate(items):
        try:
            orjson.dumps([[[item]]])
        except TypeError:
            raise ClusterError(
                f"{url}: object {_name(item, i)} nests deeper than a snapshot file can hold "
                f"({MAX_DEPTH} levels); refusing the answer"
            ) from None
    raise ClusterError(f"{url}: the answer cannot be written to a snapshot file")


def _name(item: Any, index: int) -> str:
    """``namespace/name`` of a list item for an error, else its place in the list."""
    meta = item.get("metadata") if isinstance(item, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        ns = meta.get("namespace")
        return printable(f"{ns}/{meta['name']}" if isinstance(ns, str) else meta["name"], 120)
    return f"#{index + 1} of the list"


def _json(url: str, data: bytes | bytearray) -> Any:
    try:
        return orjson.loads(data)
    except (orjson.JSONDecodeError, RecursionError) as e:
        raise ClusterError(f"{url}: the answer is not valid JSON ({e})") from None


def _status_message(body: Any) -> str:
    """The ``message`` of a Status object (raw bytes/str or decoded), cut to one short line."""
    if isinstance(body, (bytes, str)):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return ""
    if not isinstance(body, dict):
        return ""
    message = body.get("message")
    if not isinstance(message, str):
        return ""
    message = " ".join(message.split())
    return message if message.isprintable() and len(message) <= 200 else repr(message[:200])
