"""Read the environment from rancher-metadata, or from a snapshot file saved earlier.

rancher-metadata hands every caller the whole environment, so three requests are enough:
``/self/stack`` (the environment's name), ``/services`` (with their containers embedded) and
``/hosts``. Per-host or per-container requests are never made: that is what made Rancher's own
service slow on large environments.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from . import compact
from .errors import ConfigError, MetadataError, PublishError
from .logs import clip
from .redact import redact_url

if TYPE_CHECKING:
    from .httpclient import Answer

# requests (with urllib3, about 90 ms of start-up) is imported by the client that uses it
# (httpclient): a run from a snapshot file, and every other command, never reads
# rancher-metadata over HTTP.

log = logging.getLogger(__name__)

DEFAULT_URL = "http://rancher-metadata.rancher.internal"
DEFAULT_API_VERSION = "2016-07-29"
SUPPORTED_API_VERSIONS = ("2016-07-29", "2015-12-19")
SNAPSHOT_FORMAT = "octodns-rancher-snapshot/1"
# All of a run's requests to rancher-metadata (retries and pauses included) end within this.
DEFAULT_DEADLINE = 120.0
# The largest answer (or snapshot file) read: 100,000 containers are about 80 MB.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
WHAT_TO_DO = (
    "check --metadata-url (METADATA_URL), or read a snapshot file with --metadata-file "
    "(METADATA_FILE)"
)


class Snapshot:
    """The raw answers of one read of rancher-metadata, as the model stage consumes them.

    ``services`` and ``hosts`` are what the server said. A snapshot read by
    :meth:`MetadataClient.fetch` or :func:`load_snapshot` also holds them in ``compact`` form
    (only the fields the model reads), and decodes the raw answers only when they are asked
    for (to save them, say): a run that only builds the model never holds the whole decoded
    tree. Once the raw answers have been handed out, the compact form is dropped, so the model
    always reads what a caller may have changed.
    """

    def __init__(
        self,
        api_version: str,
        services: list[Any] | None,
        hosts: list[Any] | None,
        self_stack: dict[str, Any] | None = None,
        origin: str = "",
        requests: int = 0,
    ) -> None:
        self.api_version = api_version
        self._services = services
        self._hosts = hosts
        self.self_stack = self_stack
        self.origin = origin
        self.requests = requests
        self._raw: Callable[[], tuple[Any, Any]] | None = None
        self._compact: compact.Answers | None = None

    @classmethod
    def lazy(
        cls,
        api_version: str,
        answers: compact.Answers,
        raw: Callable[[], tuple[Any, Any]],
        self_stack: dict[str, Any] | None = None,
        origin: str = "",
    ) -> Snapshot:
        """A snapshot whose raw ``(services, hosts)`` are decoded by ``raw`` when first read."""
        snap = cls(api_version, None, None, self_stack, origin)
        snap._raw, snap._compact = raw, answers
        return snap

    @property
    def compact(self) -> compact.Answers | None:
        """The answers in compact form, or ``None`` once the raw ones are in use."""
        return self._compact

    def _decode(self) -> None:
        if self._raw is not None:
            self._services, self._hosts = self._raw()
            self._raw, self._compact = None, None

    @property
    def services(self) -> list[Any]:
        self._decode()
        return self._services  # type: ignore[return-value]

    @services.setter
    def services(self, value: list[Any]) -> None:
        self._decode()
        self._services = value

    @property
    def hosts(self) -> list[Any]:
        self._decode()
        return self._hosts  # type: ignore[return-value]

    @hosts.setter
    def hosts(self, value: list[Any]) -> None:
        self._decode()
        self._hosts = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return (
            self.api_version,
            self.services,
            self.hosts,
            self.self_stack,
            self.origin,
        ) == (other.api_version, other.services, other.hosts, other.self_stack, other.origin)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Snapshot(api_version={self.api_version!r}, services={self.services!r}, "
            f"hosts={self.hosts!r}, self_stack={self.self_stack!r}, origin={self.origin!r}, "
            f"requests={self.requests!r})"
        )

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
    """rancher-metadata through ``httpclient``: deadlines, size limit, same-origin redirects,
    bounded retries, and one-line errors that say what to do."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if api_version not in SUPPORTED_API_VERSIONS:
            raise MetadataError(
                f"unsupported rancher-metadata API version {api_version!r}; "
                f"use one of {', '.join(SUPPORTED_API_VERSIONS)}"
            )
        from .httpclient import Client, Limits

        self.base = f"{url.rstrip('/')}/{api_version}"
        self.api_version = api_version
        self.timeout = timeout
        self.requests_made = 0
        try:
            # A 404 is final (a metadata server that lost its data answers 404 "Invalid
            # version"); connection errors and 5xx are retried.
            limits = Limits(timeout, deadline, max_bytes, retries, backoff)
        except ValueError as e:
            raise ConfigError(f"rancher-metadata client: {e}") from None
        self.http = Client(limits, "rancher-metadata", headers={"Accept": "application/json"})

    @property
    def shown(self) -> str:
        """The base URL as logs show it (no user-info)."""
        return redact_url(self.base)

    def get(self, path: str, params: dict[str, str] | None = None, timeout: float | None = None):
        """GET ``path`` under the API version and return the decoded JSON.

        The server labels JSON as ``text/plain``, so the body is parsed whatever the header.
        """
        url, resp = self._request(path, params, timeout)
        return _decode_json(url, resp)

    def _request(
        self, path: str, params: dict[str, str] | None = None, timeout: float | None = None
    ) -> tuple[str, Answer]:
        """GET ``path`` under the API version; the URL and the answer, which must be a 200."""
        from .httpclient import HttpError

        url = f"{self.base}/{path.lstrip('/')}"
        self.requests_made += 1
        try:
            resp = self.http.request("GET", url, params=params, timeout=timeout)
        except HttpError as e:
            raise MetadataError(f"{e}; {WHAT_TO_DO}") from None
        if resp.status != 200:
            raise MetadataError(
                f"rancher-metadata answered {resp.status} for {redact_url(url)}: "
                f"{_error_text(resp)}"
            )
        return url, resp

    def _answer(self, path: str, typed: Callable[[Any], Any]) -> _Answer:
        """GET ``path`` and decode it with ``typed``, or generically if it has another shape."""
        url, resp = self._request(path)
        try:
            return _Answer(url, resp, typed(resp.content))
        except compact.NotCompact:
            answer = _Answer(url, resp, None)
            answer.value, answer.generic = _decode_json(url, resp), True
            return answer

    def version(self) -> str:
        """The current data version (a random UUID that changes on every reload)."""
        return str(self.get("version"))

    def wait_for_change(self, current: str, max_wait: int = 60) -> str:
        """Long-poll ``/version`` until it differs from ``current`` or ``max_wait`` passes."""
        params = {"wait": "true", "value": current, "maxWait": str(max_wait)}
        # The server checks its deadline on a 5 s tick: give the read that much slack.
        return str(self.get("version", params=params, timeout=max_wait + 10))

    def fetch(self, environment_known: bool = False) -> Snapshot:
        """Read the environment: 3 requests, or 2 when the environment name is given, all
        within one deadline."""
        with self.http.run():
            return self._fetch(environment_known)

    def _fetch(self, environment_known: bool) -> Snapshot:
        start = self.requests_made
        self_stack = None if environment_known else self.get("self/stack")
        services = self._answer("services", compact.services)
        hosts = self._answer("hosts", compact.hosts)
        if not services.generic and not hosts.generic:
            snap = Snapshot.lazy(
                self.api_version,
                compact.Answers(services.compact, hosts.compact),
                lambda: (services.raw(), hosts.raw()),
                self_stack=self_stack,
                origin=self.base,
            )
        else:
            snap = Snapshot(
                api_version=self.api_version,
                services=services.raw(),
                hosts=hosts.raw(),
                self_stack=self_stack,
                origin=self.base,
            )
        snap.requests = self.requests_made - start
        log.debug("read %s in %d requests", self.shown, snap.requests)
        return snap


class _Answer:
    """One answer of rancher-metadata: typed when it has the expected shape, raw on demand."""

    def __init__(self, url: str, resp: Answer, typed: Any) -> None:
        self.url, self.resp, self.compact = url, resp, typed
        self.value: Any = None
        self.generic = False

    def raw(self) -> Any:
        if not self.generic:
            self.value, self.generic = _decode_json(self.url, self.resp), True
        return self.value


def _decode_json(url: str, resp: Answer) -> Any:
    try:
        # orjson: a large environment's /services is tens of MB, decoded about twice as fast.
        return orjson.loads(resp.content)
    except ValueError:
        raise MetadataError(
            f"rancher-metadata sent invalid JSON for {redact_url(url)}: "
            f"'{clip(resp.content[:200].decode('utf-8', 'replace'), 80)}'"
        ) from None


def load_snapshot(
    path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES, wait: float = DEFAULT_DEADLINE
) -> Snapshot:
    """Read a snapshot file written by ``octodns-rancher snapshot`` (a pipe for at most
    ``wait`` seconds)."""
    p = Path(path)
    try:
        data = read_limited(p, max_bytes, wait)
    except OSError as e:
        raise MetadataError(f"cannot read metadata file {p}: {e.strerror or e}") from e
    try:
        typed = compact.snapshot_file(data)
        if typed.services is msgspec.UNSET or typed.hosts is msgspec.UNSET:
            raise compact.NotCompact("no services or hosts")
        if orjson.loads(memoryview(typed.format)) != SNAPSHOT_FORMAT:
            raise compact.NotCompact("not a snapshot")
        api_version = orjson.loads(memoryview(typed.api_version))
        self_stack = orjson.loads(memoryview(typed.self_stack))
    except (compact.NotCompact, ValueError):
        # The generic reader names what is wrong, if anything.
        return _load_generic(p, data)
    return Snapshot.lazy(
        str(api_version or DEFAULT_API_VERSION),
        compact.Answers(typed.services, typed.hosts),
        lambda: _raw_answers(_load_generic(p, data)),
        self_stack=self_stack,
        origin=str(p),
    )


def read_limited(
    p: Path, max_bytes: int, wait: float = DEFAULT_DEADLINE, what: str = "metadata file"
) -> bytes:
    """The bytes of a regular file or a pipe, refused past ``max_bytes`` (``/dev/zero``, a
    file of many GB) or past ``wait`` seconds (a pipe whose writer never finishes); errors
    call the file ``what``.

    The file is opened without blocking, so a FIFO that nobody writes reads as empty instead
    of waiting forever; devices and directories are refused.
    """
    import select

    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise MetadataError(f"{what} {p} is a directory")
        if stat.S_ISREG(st.st_mode):
            if st.st_size > max_bytes:
                raise MetadataError(_too_large(p, max_bytes, what))
            os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(max_bytes + 1)
        elif stat.S_ISFIFO(st.st_mode):
            data = _read_pipe(fd, p, max_bytes, wait, select.select, what)
        else:
            raise MetadataError(f"{what} {p} is not a regular file or a pipe")
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise MetadataError(_too_large(p, max_bytes, what))
    return data


def _read_pipe(fd: int, p: Path, max_bytes: int, wait: float, select: Any, what: str) -> bytes:
    ends = time.monotonic() + wait
    pieces: list[bytes] = []
    size = 0
    while True:
        left = ends - time.monotonic()
        if left <= 0 or not select([fd], [], [], left)[0]:
            raise MetadataError(f"{what} {p}: the pipe did not end within {wait:g} s")
        try:
            piece = os.read(fd, 1 << 20)
        except BlockingIOError:
            continue
        if not piece:
            return b"".join(pieces)
        size += len(piece)
        if size > max_bytes:
            raise MetadataError(_too_large(p, max_bytes, what))
        pieces.append(piece)


def _too_large(p: Path, max_bytes: int, what: str) -> str:
    return (
        f"{what} {p} is larger than the limit of {max_bytes:,} bytes "
        "(--max-answer-size, METADATA_MAX_SIZE)"
    )


def _raw_answers(snap: Snapshot) -> tuple[Any, Any]:
    return snap.services, snap.hosts


def _load_generic(p: Path, data: bytes) -> Snapshot:
    try:
        raw = orjson.loads(data)
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
    try:
        write_atomic(Path(path), text)
    except OSError as e:
        raise PublishError(f"cannot write snapshot {path}: {e.strerror or e}") from None


def _error_text(resp: Answer) -> str:
    """The server's own words about an error, cut short and escaped: it is outside text."""
    try:
        body = orjson.loads(resp.content)
    except ValueError:
        return clip(resp.text) or resp.reason or "no body"
    if isinstance(body, dict) and "message" in body:
        return clip(str(body["message"]))
    return clip(str(body))
