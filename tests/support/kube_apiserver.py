"""A real HTTP server on 127.0.0.1 that answers like kube-apiserver for Services and Ingresses.

A real kube-apiserver cannot be installed from the package registries, so this one follows the
documented API protocol (https://kubernetes.io/docs/reference/using-api/api-concepts/) for what
a client of these two lists relies on:

- ``GET /api/v1/services`` and ``/apis/networking.k8s.io/v1/ingresses`` (and the namespaced
  forms): a ``ServiceList``/``IngressList`` with ``metadata.resourceVersion``; ``limit`` and
  ``continue`` chunking, every chunk served from the same consistent snapshot, with
  ``metadata.continue`` and ``remainingItemCount``; an expired continue token answers HTTP
  410 with a ``Status`` of reason ``Expired``;
- ``watch=1&resourceVersion=N&allowWatchBookmarks=true&timeoutSeconds=S``: a chunked stream of
  newline-delimited ``{"type": ..., "object": ...}`` events (ADDED, MODIFIED, DELETED,
  BOOKMARK), and for a resourceVersion older than the compacted history an ERROR event whose
  object is a ``Status`` with code 410, after which the stream ends;
- bearer-token authentication: any other request answers 401 with a ``Status``;
- objects as a real server sends them: ``metadata`` with ``uid``, ``resourceVersion``,
  ``creationTimestamp``, ``managedFields`` (and ``generation`` for Ingresses), a full ``spec``
  and ``status``; list items without ``kind``/``apiVersion``, watch objects with them.

Tests change the cluster through its methods (``add_service``, ``add_ingress``, ``update``,
``delete``, ``compact``) and read ``requests``; nothing of the client is patched.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

KINDS = {
    "services": ("Service", "v1", "/api/v1"),
    "ingresses": ("Ingress", "networking.k8s.io/v1", "/apis/networking.k8s.io/v1"),
}


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class KubeApiServer:
    """Start with ``with KubeApiServer(token="t") as srv:``; ``srv.url`` is the base URL."""

    def __init__(
        self, token: str = "test-token", bookmark_interval: float = 1.0, tls: bool = False
    ) -> None:
        """``tls``: serve HTTPS, as a real kube-apiserver does, with a certificate of a new CA
        (``ca_pem``, which ``kubeconfig()`` carries as ``certificate-authority-data``)."""
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.cond = threading.Condition()
        self.rv = 100  # etcd's revision: one counter for every kind
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {k: {} for k in KINDS}
        self.events: dict[str, list[tuple[int, str, dict[str, Any]]]] = {k: [] for k in KINDS}
        self.compacted = 0  # watches and continue tokens from before this revision get 410
        self.snapshots: dict[int, dict[str, list[dict[str, Any]]]] = {}
        self.requests: list[str] = []  # path?query of every request
        self.expire_continue = 0  # answer this many continue tokens with 410 (compaction)
        # While set, open watch streams end and new ones wait (a restarting server).
        self.hold_watches = threading.Event()
        self.stopped = False
        self.connections: set[socket.socket] = set()
        handler = type("Handler", (_Handler,), {"api": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ca_pem: bytes | None = None
        if tls:
            self._serve_tls()
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> KubeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        self.httpd.shutdown()
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.httpd.server_close()

    def _serve_tls(self) -> None:
        from .tls import issue

        issued = issue("127.0.0.1")
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            cert.write_bytes(issued.cert_pem)
            key.write_bytes(issued.key_pem)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.ca_pem = issued.ca_pem
        self.url = f"https://127.0.0.1:{self.port}"

    def kubeconfig(self, token: str | None = None, context: str = "test") -> dict[str, Any]:
        """A kubeconfig for this server (write it to a file with json.dumps)."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": "test", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": "test", "user": "test"}}],
            "current-context": context,
        }

    # --- changing the cluster -------------------------------------------------------------

    def add_service(self, namespace: str, name: str, **kw: Any) -> dict[str, Any]:
        """Add a Service built by ``service`` (same keywords)."""
        return self._put("services", service(namespace, name, **kw), "ADDED")

    def add_ingress(self, namespace: str, name: str, **kw: Any) -> dict[str, Any]:
        """Add an Ingress built by ``ingress`` (same keywords)."""
        return self._put("ingresses", ingress(namespace, name, **kw), "ADDED")

    def add_raw(self, what: str, obj: dict[str, Any]) -> None:
        """Store an object as given, even one a real server would refuse (hostile input)."""
        with self.cond:
            self.rv += 1
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            key = (str(meta.get("namespace")), str(meta.get("name") or uuid.uuid4()))
            self.objects[what][key] = obj
            self.events[what].append((self.rv, "ADDED", obj))
            self.cond.notify_all()

    def update(self, what: str, namespace: str, name: str, change: Callable[[dict], None]) -> None:
        with self.cond:
            obj = copy.deepcopy(self.objects[what][(namespace, name)])
            change(obj)
            if what == "ingresses":
                obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            self._put(what, obj, "MODIFIED")

    def delete(self, what: str, namespace: str, name: str) -> None:
        with self.cond:
            obj = copy.deepcopy(self.objects[what].pop((namespace, name)))
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.events[what].append((self.rv, "DELETED", obj))
            self.cond.notify_all()

    def compact(self) -> None:
        """Forget the history up to now, as etcd compaction does: a new watch from an older
        version, or a continue token from before, gets 410 Gone. Watches already open go on
        receiving their events, as on a real server."""
        with self.cond:
            self.compacted = self.rv
            self.snapshots.clear()
            self.cond.notify_all()

    def _put(self, what: str, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        with self.cond:
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            if kind == "ADDED" and key in self.objects[what]:
                raise ValueError(f"{what} {key} already exists")
            self.objects[what][key] = obj
            self.events[what].append((self.rv, kind, obj))
            self.cond.notify_all()
            return obj

    # --- answering ------------------------------------------------------------------------

    def list_page(
        self, what: str, namespace: str | None, limit: int, token: str
    ) -> tuple[int, dict[str, Any]]:
        kind, api_version, _ = KINDS[what]
        with self.cond:
            if token:
                try:
                    state = json.loads(base64.urlsafe_b64decode(token.encode()))
                    rv, start = int(state["rv"]), int(state["start"])
                except (ValueError, KeyError, TypeError):
                    return 400, status(400, "BadRequest", "invalid continue token")
                if self.expire_continue > 0:
                    self.expire_continue -= 1
                    # Writes happened since the first page, and etcd compacted them away.
                    self.rv += 1
                    self.compacted = self.rv
                if rv < self.compacted or rv not in self.snapshots:
                    return 410, status(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue parameter.",
                    )
                items = self.snapshots[rv][what]
            else:
                rv, start = self.rv, 0
                items = [
                    self.objects[what][k]
                    for k in sorted(self.objects[what])
                    if namespace is None or k[0] == namespace
                ]
                self.snapshots.setdefault(rv, {})[what] = items
            page = items[start : start + limit] if limit else items[start:]
            meta: dict[str, Any] = {"resourceVersion": str(rv)}
            end = start + len(page)
            if end < len(items):
                meta["continue"] = base64.urlsafe_b64encode(
                    json.dumps({"rv": rv, "start": end}).encode()
                ).decode()
                meta["remainingItemCount"] = len(items) - end
            return 200, {
                "kind": f"{kind}List",
                "apiVersion": api_version,
                "metadata": meta,
                "items": page,
            }


def service(
    namespace: str,
    name: str,
    *,
    ips: tuple[str, ...] = (),
    hostnames: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    type: str = "LoadBalancer",
    created: str | None = None,
) -> dict[str, Any]:
    """A Service as the API server returns it in a list (no kind/apiVersion)."""
    obj: dict[str, Any] = {
        "metadata": metadata(namespace, name, annotations, labels, "v1", created),
        "spec": {
            "ports": [
                {
                    "name": "http",
                    "protocol": "TCP",
                    "port": 80,
                    "targetPort": 8080,
                    "nodePort": 30080,
                }
            ],
            "selector": {"app": name},
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "type": type,
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "allocateLoadBalancerNodePorts": True,
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": _lb(ips, hostnames)},
    }
    if type != "LoadBalancer":
        for key in ("externalTrafficPolicy", "allocateLoadBalancerNodePorts"):
            obj["spec"].pop(key)
        obj["status"] = {"loadBalancer": {}}
    return obj


def ingress(
    namespace: str,
    name: str,
    *,
    hosts: tuple[str, ...] = (),
    tls_hosts: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    hostnames: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    ingress_class: str | None = "nginx",
    created: str | None = None,
) -> dict[str, Any]:
    """An Ingress (networking.k8s.io/v1) as the API server returns it in a list."""
    backend = {"service": {"name": name, "port": {"number": 80}}}
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": host,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
            for host in hosts
        ]
    }
    if ingress_class is not None:
        spec["ingressClassName"] = ingress_class
    if tls_hosts:
        spec["tls"] = [{"hosts": list(tls_hosts), "secretName": f"{name}-tls"}]
    meta = metadata(namespace, name, annotations, labels, "networking.k8s.io/v1", created)
    meta["generation"] = 1
    return {"metadata": meta, "spec": spec, "status": {"loadBalancer": _lb(ips, hostnames)}}


def metadata(
    namespace: str,
    name: str,
    annotations: dict[str, str] | None,
    labels: dict[str, str] | None,
    api_version: str,
    created: str | None = None,
) -> dict[str, Any]:
    """ObjectMeta with the fields a real server fills in (resourceVersion is set when stored)."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": str(uuid.uuid4()),
        "resourceVersion": "1",
        "creationTimestamp": created or _now(),
        "managedFields": [
            {
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": api_version,
                "time": created or _now(),
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {".": {}}}, "f:spec": {}},
            }
        ],
    }
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _lb(ips: tuple[str, ...], hostnames: tuple[str, ...]) -> dict[str, Any]:
    ingress = [{"ip": ip, "ipMode": "VIP"} for ip in ips] + [{"hostname": h} for h in hostnames]
    return {"ingress": ingress} if ingress else {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: KubeApiServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.api.connections.add(self.connection)

    def finish(self) -> None:
        self.api.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        api = self.api
        url = urlsplit(self.path)
        api.requests.append(self.path)
        # The scheme is case-insensitive (RFC 7235), as kube-apiserver's bearer token
        # authenticator reads it: the official client's in-cluster loader sends "bearer".
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or credentials != api.token:
            self._json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        what, namespace = _route(url.path)
        if what is None:
            self._json(
                404, status(404, "NotFound", "the server could not find the requested resource")
            )
            return
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if q.get("watch") in ("1", "true"):
            self._watch(what, namespace, q)
            return
        try:
            limit = int(q.get("limit", "0"))
        except ValueError:
            self._json(400, status(400, "BadRequest", "invalid limit"))
            return
        code, body = api.list_page(what, namespace, limit, q.get("continue", ""))
        self._json(code, body)

    def _json(self, code: int, body: Any) -> None:
        # Compact JSON, as the Go server writes it; orjson so that this server is not the slow
        # part of a benchmark reading 20,000 objects.
        data = orjson.dumps(body)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _watch(self, what: str, namespace: str | None, q: dict[str, str]) -> None:
        api = self.api
        kind, api_version, _ = KINDS[what]
        try:
            since = int(q.get("resourceVersion") or "0")
            timeout = float(q.get("timeoutSeconds") or "1800")
        except ValueError:
            self._json(400, status(400, "BadRequest", "invalid resourceVersion"))
            return
        bookmarks = q.get("allowWatchBookmarks") == "true"
        while api.hold_watches.is_set() and not api.stopped:
            time.sleep(0.02)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + api.bookmark_interval
        try:
            with api.cond:
                if since and since < api.compacted:
                    self._event(
                        "ERROR",
                        status(
                            410,
                            "Expired",
                            f"too old resource version: {since} ({api.compacted})",
                        ),
                    )
                    self._end()
                    return
            sent = since
            while not api.stopped and not api.hold_watches.is_set():
                with api.cond:
                    pending = [
                        (rv, t, o)
                        for rv, t, o in api.events[what]
                        if rv > sent
                        and (namespace is None or o["metadata"].get("namespace") == namespace)
                    ]
                    if not pending:
                        now = time.monotonic()
                        if now >= deadline:
                            break
                        if bookmarks and now >= next_bookmark:
                            self._event(
                                "BOOKMARK",
                                {
                                    "kind": kind,
                                    "apiVersion": api_version,
                                    "metadata": {"resourceVersion": str(api.rv)},
                                },
                            )
                            sent = max(sent, api.rv)
                            next_bookmark = now + api.bookmark_interval
                            continue
                        wait = min(deadline, next_bookmark if bookmarks else deadline) - now
                        api.cond.wait(max(0.01, min(wait, 0.5)))
                        continue
                for rv, etype, obj in pending:
                    self._event(etype, {"kind": kind, "apiVersion": api_version, **obj})
                    sent = rv
            self._end()
        except OSError:
            pass

    def _event(self, etype: str, obj: Any) -> None:
        line = orjson.dumps({"type": etype, "object": obj}) + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _route(path: str) -> tuple[str | None, str | None]:
    for what, (_kind, _version, prefix) in KINDS.items():
        if path == f"{prefix}/{what}":
            return what, None
        head = f"{prefix}/namespaces/"
        if path.startswith(head) and path.endswith(f"/{what}"):
            ns = path[len(head) : -len(what) - 1]
            if ns and "/" not in ns:
                return what, ns
    return None, None
