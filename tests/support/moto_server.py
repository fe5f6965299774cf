"""A moto server speaking the AWS APIs (Route53 first of all) on 127.0.0.1, in a child process.

Tests point the real ``octodns-sync`` (through ``octodns-route53``) and boto3 at it::

    with MotoServer() as moto:
        zone_id = moto.create_zone("example.com")
        run(["octodns-sync", "--config-file", cfg, "--doit"], env=moto.env)
        moto.record_sets(zone_id)          # what Route53 now holds
        moto.operations()                  # ["route53:ListHostedZones", ...] as received

``env`` carries dummy credentials and ``AWS_ENDPOINT_URL_ROUTE_53`` (plus the generic
``AWS_ENDPOINT_URL``) so that nothing can reach real AWS. ``reset()`` empties moto and the request
log between tests; start one server per module or session, it takes about a second.

The server runs in its own process (``python moto_server.py``) rather than in a thread so that
moto's in-memory state cannot be shared with, or wiped by, a ``mock_aws`` elsewhere in the test
process. A small WSGI layer around moto's app keeps a log of every request (method, path,
service, operation name, status, body) served at ``/_harness/requests``. Two bugs of moto 5.2.5
that real Route53 does not have are worked around here, in the harness, never in the product:
``ListHealthChecks`` without ``IsTruncated`` and a wrong "already exists" on re-creating a
record set (see ``_fix_list_health_checks`` and ``_fix_create_check``). moto enforces Route53's
1,000 values per change request but not its 32,000 characters; the harness adds that limit
(``_enforce_value_characters``) so that a batch real Route53 would refuse is refused here too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HARNESS = "/_harness/requests"
REGION = "us-east-1"
DUMMY_KEY_ID = "AKIAMOTOTESTING00000"
DUMMY_SECRET = "moto-testing-secret"  # a dummy: moto accepts any credentials


class MotoServerError(RuntimeError):
    """The moto server could not start (the message carries its output)."""


class MotoServer:
    """Start with ``with MotoServer() as moto:``; ``moto.url`` is the endpoint."""

    def __init__(self, startup_timeout: float = 60.0) -> None:
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.url = ""
        self._clients: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> MotoServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = _readline(self.proc, self.startup_timeout)
        if not line.startswith("READY "):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise MotoServerError(
                f"moto server did not start (exit {self.proc.returncode}): {line.strip()}\n{err}"
            )
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        # Drain stderr so that the child never blocks on a full pipe.
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # type: ignore[union-attr]
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe:
                    pipe.close()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what to give the programs under test ----------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Environment for ``octodns-sync`` and boto3: dummy credentials, endpoints on 127.0.0.1."""
        return {
            "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_SESSION_TOKEN": "",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ENDPOINT_URL_ROUTE_53": self.url,
            # A developer's ~/.aws must not leak in (profiles, real endpoints, SSO).
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str = "route53") -> Any:
        """A boto3 client of ``service`` talking to this server (made once, then reused)."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.session.Session(
                aws_access_key_id=DUMMY_KEY_ID,
                aws_secret_access_key=DUMMY_SECRET,
                region_name=REGION,
            ).client(service, endpoint_url=self.url)
        return self._clients[service]

    # -- state and request log -------------------------------------------------------------
    def reset(self) -> None:
        """Forget every resource moto holds and the request log."""
        self._call("POST", "/moto-api/reset")
        self.clear_requests()

    def requests(self) -> list[dict[str, Any]]:
        """Every request received since the last reset, oldest first.

        Each is ``{"method", "path", "query", "service", "operation", "status", "body"}``;
        ``operation`` is the API operation name (``ChangeResourceRecordSets``), ``service`` the
        signing name from the credential scope (``route53``, ``iam``, ``sts``).
        """
        return json.loads(self._call("GET", HARNESS))

    def clear_requests(self) -> None:
        self._call("DELETE", HARNESS)

    def operations(self, service: str | None = "route53") -> list[str]:
        """``service:Operation`` of each request (IAM action names for Route53), in order."""
        return [
            f"{r['service']}:{r['operation']}"
            for r in self.requests()
            if service is None or r["service"] == service
        ]

    # -- Route53 conveniences --------------------------------------------------------------
    def create_zone(self, name: str) -> str:
        """Create a public hosted zone and return its id (``/hostedzone/...``)."""
        name = name.rstrip(".") + "."
        resp = self.client().create_hosted_zone(Name=name, CallerReference=f"test-{name}")
        return resp["HostedZone"]["Id"]

    def record_sets(self, zone_id: str) -> list[dict[str, Any]]:
        """All record sets of a hosted zone, following pagination."""
        paginator = self.client().get_paginator("list_resource_record_sets")
        out: list[dict[str, Any]] = []
        for page in paginator.paginate(HostedZoneId=zone_id):
            out.extend(page["ResourceRecordSets"])
        return out

    def change_requests(self) -> list[dict[str, Any]]:
        """The ``ChangeResourceRecordSets`` requests received since the last reset, oldest first."""
        return [r for r in self.requests() if r["operation"] == "ChangeResourceRecordSets"]

    def _call(self, method: str, path: str) -> str:
        req = urllib.request.Request(
            self.url + path, method=method, data=None if method == "GET" else b""
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode()


ROUTE53_NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"


def counted(body: str) -> tuple[int, int]:
    """(values, characters) of a ChangeResourceRecordSets request body as Route53 counts them:
    each value, and each character of a value, of an UPSERT twice."""
    import xml.etree.ElementTree as ET

    values = characters = 0
    for change in ET.fromstring(body).iter(f"{ROUTE53_NS}Change"):
        factor = 2 if change.findtext(f"{ROUTE53_NS}Action") == "UPSERT" else 1
        found = [v.text or "" for v in change.iter(f"{ROUTE53_NS}Value")]
        values += factor * len(found)
        characters += factor * sum(map(len, found))
    return values, characters


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """First line of the child's stdout, or why there is none (it exited or stayed silent)."""
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    t.start()
    t.join(timeout)
    return box[0] if box else f"no answer within {timeout:.0f}s"


# ------------------------------------------------------------------------------------------
# The child process: moto's WSGI app behind a logging layer.
# ------------------------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class _Operations:
    """Map a REST request to its operation name with botocore's own service model."""

    def __init__(self) -> None:
        self._routes: dict[str, list[tuple[int, str, re.Pattern[str], str]]] = {}

    def name(self, service: str, method: str, path: str, form: dict[str, str]) -> str:
        if form.get("Action"):  # query-protocol services (IAM, STS)
            return form["Action"]
        for _, m, pattern, op in self._table(service):
            if m == method and pattern.fullmatch(path):
                return op
        return f"{method} {path}"

    def _table(self, service: str) -> list[tuple[int, str, re.Pattern[str], str]]:
        if service not in self._routes:
            import botocore.session

            routes = []
            try:
                model = botocore.session.get_session().get_service_model(service)
            except Exception:
                model = None
            for op in model.operation_names if model else ():
                http = model.operation_model(op).http
                uri = http["requestUri"].split("?")[0]
                literal = len(re.sub(r"\{[^}]+\}", "", uri))
                regex = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(uri))  # {Key+}
                regex = re.sub(r"\\\{[^}]+?\\\}", "[^/]+", regex)  # {Id}
                routes.append((literal, http["method"], re.compile(regex.rstrip("/") + "/?"), op))
            routes.sort(key=lambda r: -r[0])  # most specific path first
            self._routes[service] = routes
        return self._routes[service]


def _fix_list_health_checks(body: bytes) -> bytes:
    """moto 5.2.5 answers ListHealthChecks without ``IsTruncated`` (and ``MaxItems``).

    Real Route53 always sends both; octodns-route53 reads ``resp['IsTruncated']`` and fails with
    ``KeyError: 'IsTruncated'`` on any sync that changes something. Supply the missing elements
    here, in the test harness, so that the product talks to moto exactly as it talks to AWS.
    """
    if b"<ListHealthChecksResponse" not in body or b"<IsTruncated>" in body:
        return body
    return body.replace(
        b"</ListHealthChecksResponse>",
        b"<IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHealthChecksResponse>",
    )


def _fix_create_check() -> None:
    """moto 5.2.5 refuses to re-create a record set that was created once and since deleted.

    Its "already exists" check for a CREATE that repeats an earlier one in the zone's change
    journal lists the zone *starting at* that name (``get_record_sets(start_name=...)``) and
    raises if anything at all sorts after it, so restoring a record deleted by hand, or
    re-adding a removed service, fails with ``InvalidChangeBatch`` where Route53 accepts it.
    Check for the record set itself instead (as Route53 does), and drop the repeated journal
    entry so moto's own check does not misfire. Only this harness process is changed.
    """
    from moto.route53.exceptions import ResourceRecordAlreadyExists
    from moto.route53.models import Route53Backend

    original = Route53Backend.change_resource_record_sets

    def change_resource_record_sets(
        self: Any, zoneid: str, change_list: list[dict[str, Any]]
    ) -> None:
        zone = self.get_hosted_zone(zoneid)
        for value in change_list:
            if value["Action"] != "CREATE":
                continue
            rrset = value["ResourceRecordSet"]
            name = rrset["Name"].rstrip(".") + "."
            if any(
                r.name == name
                and r.type == rrset["Type"]
                and r.set_identifier == rrset.get("SetIdentifier")
                for r in zone.rrsets
            ):
                raise ResourceRecordAlreadyExists(name=name, _type=rrset["Type"])
            while value in zone.rr_changes:
                zone.rr_changes.remove(value)
        return original(self, zoneid, change_list)

    Route53Backend.change_resource_record_sets = change_resource_record_sets


#: Route53's limit on the characters of all ``Value`` elements of one change request (each
#: character of an UPSERT counted twice), from its documented quotas.
VALUE_CHARACTERS_LIMIT = 32000


def _value_characters(change_list: list[dict[str, Any]]) -> int:
    total = 0
    for change in change_list:
        records = change["ResourceRecordSet"].get("ResourceRecords") or []
        count = sum(len(r["Value"] if isinstance(r, dict) else r) for r in records)
        total += count * (2 if change["Action"] == "UPSERT" else 1)
    return total


def _enforce_value_characters() -> None:
    """Refuse a change request over Route53's 32,000 characters, as Route53 does (moto does not).

    The documented quota: "The sum of the number of characters (including spaces) in all Value
    elements in a request can't exceed 32,000 characters. When the value of the Action element
    is UPSERT, each character in a Value element is counted twice." The whole request is
    refused with ``InvalidChangeBatch`` and nothing of it applied.
    """
    from moto.route53.exceptions import Route53ClientError
    from moto.route53.models import Route53Backend

    original = Route53Backend.change_resource_record_sets

    def change_resource_record_sets(
        self: Any, zoneid: str, change_list: list[dict[str, Any]]
    ) -> None:
        counted = _value_characters(change_list)
        if counted > VALUE_CHARACTERS_LIMIT:
            raise Route53ClientError(
                "InvalidChangeBatch",
                f"Value elements of {counted} characters exceed the limit of "
                f"{VALUE_CHARACTERS_LIMIT} per request.",
            )
        return original(self, zoneid, change_list)

    Route53Backend.change_resource_record_sets = change_resource_record_sets


def _harness_app(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    from urllib.parse import parse_qsl

    log: list[dict[str, Any]] = []
    lock = threading.Lock()
    operations = _Operations()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        if path == HARNESS:
            with lock:
                if method == "DELETE":
                    log.clear()
                payload = json.dumps(log).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [payload]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = _Body(body)
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else ""
        text = body.decode("utf-8", "replace")
        form = (
            dict(parse_qsl(text))
            if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "")
            else {}
        )
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = b"".join(app(environ, capture))
        chunks = _fix_list_health_checks(chunks)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(chunks))))
        start_response(captured["status"], headers)
        if service and not path.startswith("/moto-api"):
            entry = {
                "method": method,
                "path": path,
                "query": environ.get("QUERY_STRING", ""),
                "service": service,
                "operation": operations.name(service, method, path, form),
                "status": int(captured["status"].split()[0]),
                "body": text,
            }
            with lock:
                log.append(entry)
        return [chunks]

    return wsgi


class _Body:
    """A re-readable request body for the wrapped app."""

    def __init__(self, data: bytes) -> None:
        import io

        self._buf = io.BytesIO(data)

    def read(self, *args: Any) -> bytes:
        return self._buf.read(*args)

    def readline(self, *args: Any) -> bytes:
        return self._buf.readline(*args)


def _serve() -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    _fix_create_check()
    _enforce_value_characters()
    app = _harness_app(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    sys.stdout.write(f"READY {server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    _serve()
