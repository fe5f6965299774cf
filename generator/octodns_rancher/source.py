"""Read the environment from rancher-metadata, or from a snapshot file saved earlier.

rancher-metadata hands every caller the whole environment, so three requests are enough:
``/self/stack`` (the environment's name), ``/services`` (with their containers embedded) and
``/hosts``. Per-host or per-container requests are never made: that is what made Rancher's own
service slow on large environments.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import MetadataError

log = logging.getLogger(__name__)

DEFAULT_URL = "http://rancher-metadata.rancher.internal"
DEFAULT_API_VERSION = "2016-07-29"
SUPPORTED_API_VERSIONS = ("2016-07-29", "2015-12-19")
SNAPSHOT_FORMAT = "octodns-rancher-snapshot/1"


@dataclass
class Snapshot:
    """The raw answers of one read of rancher-metadata, as the model stage consumes them."""

    api_version: str
    services: list[Any]
    hosts: list[Any]
    self_stack: dict[str, Any] | None = None
    origin: str = ""
    requests: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "api_version": self.api_version,
            "origin": self.origin,
            "self_stack": self.self_stack,
            "services": self.services,
            "hosts": self.hosts,
        }


class MetadataClient:
    """One ``requests.Session`` for rancher-metadata: timeouts, bounded retries, clear errors."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if api_version not in SUPPORTED_API_VERSIONS:
            raise MetadataError(
                f"unsupported rancher-metadata API version {api_version!r}; "
                f"use one of {', '.join(SUPPORTED_API_VERSIONS)}"
            )
        self.base = f"{url.rstrip('/')}/{api_version}"
        self.api_version = api_version
        self.timeout = timeout
        self.requests_made = 0
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        # urllib3's Retry covers connection errors and 5xx with exponential backoff; a 404 is
        # final (a metadata server that lost its data answers 404 "Invalid version").
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=("GET", "HEAD"),
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def get(self, path: str, params: dict[str, str] | None = None, timeout: float | None = None):
        """GET ``path`` under the API version and return the decoded JSON.

        The server labels JSON as ``text/plain``, so the body is parsed whatever the header.
        """
        url = f"{self.base}/{path.lstrip('/')}"
        self.requests_made += 1
        try:
            resp = self.session.get(url, params=params, timeout=timeout or self.timeout)
        except requests.RequestException as e:
            raise MetadataError(f"rancher-metadata unreachable at {url}: {_short(e)}") from e
        if resp.status_code != 200:
            raise MetadataError(
                f"rancher-metadata answered {resp.status_code} for {url}: {_error_text(resp)}"
            )
        try:
            # orjson: a large environment's /services is tens of MB, decoded about twice as fast.
            return orjson.loads(resp.content)
        except ValueError as e:
            raise MetadataError(
                f"rancher-metadata sent invalid JSON for {url}: {resp.text[:80]!r}"
            ) from e

    def version(self) -> str:
        """The current data version (a random UUID that changes on every reload)."""
        return str(self.get("version"))

    def wait_for_change(self, current: str, max_wait: int = 60) -> str:
        """Long-poll ``/version`` until it differs from ``current`` or ``max_wait`` passes."""
        params = {"wait": "true", "value": current, "maxWait": str(max_wait)}
        # The server checks its deadline on a 5 s tick: give the read that much slack.
        return str(self.get("version", params=params, timeout=max_wait + 10))

    def fetch(self, environment_known: bool = False) -> Snapshot:
        """Read the environment: 3 requests, or 2 when the environment name is given."""
        start = self.requests_made
        self_stack = None if environment_known else self.get("self/stack")
        services = self.get("services")
        hosts = self.get("hosts")
        snap = Snapshot(
            api_version=self.api_version,
            services=services,
            hosts=hosts,
            self_stack=self_stack,
            origin=self.base,
        )
        snap.requests = self.requests_made - start
        log.debug("read %s in %d requests", self.base, snap.requests)
        return snap


def load_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot file written by ``octodns-rancher snapshot``."""
    p = Path(path)
    try:
        raw = orjson.loads(p.read_bytes())
    except OSError as e:
        raise MetadataError(f"cannot read metadata file {p}: {e.strerror or e}") from e
    except ValueError as e:
        raise MetadataError(f"metadata file {p} is not valid JSON: {e}") from e
    if not isinstance(raw, dict) or raw.get("format") != SNAPSHOT_FORMAT:
        raise MetadataError(
            f"metadata file {p} is not an octodns-rancher snapshot (format {SNAPSHOT_FORMAT})"
        )
    for key in ("services", "hosts"):
        if key not in raw:
            raise MetadataError(f"metadata file {p} has no {key!r}")
    return Snapshot(
        api_version=str(raw.get("api_version") or DEFAULT_API_VERSION),
        services=raw["services"],
        hosts=raw["hosts"],
        self_stack=raw.get("self_stack"),
        origin=str(p),
    )


def save_snapshot(snapshot: Snapshot, path: str | Path) -> None:
    """Write a snapshot as sorted, indented JSON, atomically."""
    from .publish import write_atomic

    text = json.dumps(snapshot.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(Path(path), text)


def _error_text(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:120] or resp.reason or "no body"
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(body)[:120]


def _short(e: Exception) -> str:
    """The last, most specific part of a requests error, on one line."""
    text = str(e).replace("\n", " ")
    return text if len(text) < 200 else text[:197] + "..."
