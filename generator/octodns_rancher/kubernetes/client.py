"""Read Services and Ingresses from a cluster: chunked lists and watch streams.

Authentication and TLS are the official client's (``kubernetes`` on PyPI): its kubeconfig
loader handles contexts, client certificates, tokens and exec credential plugins (as EKS, GKE
and AKS use, refreshed when they expire), and its in-cluster loader the service account token
(re-read as it rotates). Every request goes through that client's ``ApiClient`` with a timeout
and bounded retries of connection errors and 5xx answers; bodies are read raw and decoded with
orjson, never through the client's model classes (20,000 objects would take seconds).

Which configuration: ``--kubeconfig`` when given; else the in-cluster service account when
running in a pod (``KUBERNETES_SERVICE_HOST`` set) and no ``KUBECONFIG``; else the default
kubeconfig (``KUBECONFIG`` or ``~/.kube/config``), with ``--context`` or its current context.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from ..errors import ConfigError
from . import trimmed
from .model import ClusterError

log = logging.getLogger(__name__)

# The two lists this source reads, cluster-wide (the ClusterRole grants get/list/watch on them).
PATHS = {
    "services": "/api/v1/services",
    "ingresses": "/apis/networking.k8s.io/v1/ingresses",
}
CHUNK = 500
MAX_LINE = 64 * 1024 * 1024  # one watch event; a real object is at most ~1.5 MiB


class Gone(ClusterError):
    """410 Gone: the resourceVersion (or continue token) is too old; list again."""


@dataclass
class Listing:
    """One whole list: its items and the resourceVersion to watch from."""

    items: list[Any]
    resource_version: str
    requests: int


def configuration(
    kubeconfig: str | None = None, context: str | None = None, timeout: float = 10.0
) -> Any:
    """The official client's Configuration for the cluster, as described in the module."""
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
    cfg.retries = Retry(
        total=3,
        connect=3,
        read=3,
        status=3,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )
    return cfg


class KubeClient:
    """Lists and watches through one ``ApiClient``."""

    def __init__(self, cfg: Any, timeout: float = 10.0) -> None:
        from kubernetes import client

        self.api = client.ApiClient(cfg)
        self.host = cfg.host
        self.timeout = timeout
        self.requests = 0  # every GET so far, for the run's metrics
        self._count = threading.Lock()  # the two lists are read at once (snapshot.fetch)

    def close(self) -> None:
        self.api.close()

    def _get(self, path: str, params: list[tuple[str, Any]], read_timeout: float) -> Any:
        """The raw urllib3 response of a GET; raises ClusterError (Gone for 410) on failure."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        url = f"{self.host}{path}"
        with self._count:
            self.requests += 1
        try:
            resp = self.api.call_api(
                path,
                "GET",
                query_params=params,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=(self.timeout, read_timeout),
            )
        except ApiException as e:
            reason = _status_message(e.body) or e.reason or ""
            if e.status == 410:
                raise Gone(f"{url}: 410 Gone: {reason}") from None
            if e.status in (401, 403):
                raise ClusterError(
                    f"{url}: {e.status} {e.reason}: the credentials cannot read this list "
                    f"({reason})"
                ) from None
            raise ClusterError(f"{url}: HTTP {e.status} {reason}") from None
        except (HTTPError, OSError) as e:
            raise ClusterError(f"{url}: {type(e).__name__}: {e}") from None
        return resp

    def list(self, what: str, trim: bool = False) -> Listing:
        """Every object of ``what`` (``services``/``ingresses``), in chunks of ``CHUNK``.

        ``trim``: each object holds only the fields the model reads (``trimmed.py``), for the
        generator and the watch; ``snapshot`` keeps objects whole. A continue token that
        expires mid-list (410) restarts the list once from the start.
        """
        path = PATHS[what]
        sent = [0]  # requests of this list, a failed first attempt's included
        for attempt in (1, 2):
            try:
                return self._list(path, sent, trim)
            except Gone as e:
                if attempt == 2:
                    raise
                log.warning("%s; listing %s again from the start", e, what)
        raise AssertionError("unreachable")

    def _list(self, path: str, sent: list[int], trim: bool) -> Listing:
        """One whole list, counting its requests in ``sent[0]``."""
        items: list[Any] = []
        token = ""
        version = ""
        while True:
            params: list[tuple[str, Any]] = [("limit", CHUNK)]
            if token:
                params.append(("continue", token))
            resp = self._get(path, params, self.timeout)
            sent[0] += 1
            page, meta = _page(f"{self.host}{path}", _read(resp), trim)
            items.extend(page)
            version = str(meta.get("resourceVersion") or version)
            token = meta.get("continue") or ""
            if not isinstance(token, str):
                raise ClusterError(f"{self.host}{path}: metadata.continue is not a string")
            if not token:
                return Listing(items, version, sent[0])

    def watch(self, what: str, resource_version: str, timeout_seconds: int = 300) -> Iterator[Any]:
        """The events of ``what`` after ``resource_version``, as decoded JSON objects.

        Ends when the server closes the stream (after ``timeout_seconds``). An ERROR event with
        code 410 raises Gone; any other ERROR event raises ClusterError.
        """
        path = PATHS[what]
        params = [
            ("watch", "1"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout_seconds),
        ]
        resp = self._get(path, params, timeout_seconds + 30.0)
        url = f"{self.host}{path}"
        try:
            for line in _lines(resp, url):
                event = _json(url, line)
                if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
                    raise ClusterError(f"{url}: a watch event is not an object with an object")
                if event.get("type") == "ERROR":
                    status = event["object"]
                    message = _status_message(status) or "(no message)"
                    if status.get("code") == 410:
                        raise Gone(f"{url}: watch: 410 Gone: {message}")
                    raise ClusterError(f"{url}: watch error {status.get('code')}: {message}")
                yield event
        finally:
            resp.release_conn()


def _read(resp: Any) -> bytes:
    try:
        return resp.data
    finally:
        resp.release_conn()


def _lines(resp: Any, url: str) -> Iterator[bytes]:
    """Newline-delimited events of a streamed answer; a line over MAX_LINE fails the watch."""
    from urllib3.exceptions import HTTPError

    buf = b""
    try:
        for chunk in resp.stream(64 * 1024, decode_content=True):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield line
            if len(buf) > MAX_LINE:
                raise ClusterError(f"{url}: a watch event is larger than {MAX_LINE} bytes")
    except (HTTPError, OSError) as e:
        raise ClusterError(f"{url}: watch stream broken: {type(e).__name__}: {e}") from None
    if buf.strip():
        yield buf


def _page(url: str, data: bytes, trim: bool) -> tuple[list[Any], dict[str, Any]]:
    """A list answer's items and metadata; the items trimmed when ``trim`` and they can be."""
    if trim:
        try:
            body = trimmed.page(data)
            return trimmed.items(body.items), body.metadata or {}
        except msgspec.DecodeError:
            pass  # not the usual shape: the generic decode below names what is wrong
    decoded = _json(url, data)
    if not isinstance(decoded, dict) or not isinstance(decoded.get("items"), list):
        raise ClusterError(f"{url}: the answer is not a list of objects")
    meta = decoded.get("metadata")
    return decoded["items"], meta if isinstance(meta, dict) else {}


def _json(url: str, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
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
