"""The one way we talk HTTP to servers we do not control: rancher-metadata and the Rancher API.

A server can be slow, lying or hostile, and a run must still end, in bounded time and memory,
with one clear error. Every request made here has:

- a **deadline per request** (``timeout``) covering the connection, the headers and the whole
  body: a watchdog shuts the connection down when it passes, so a server that sends one byte
  every few seconds cannot hold a request longer than the timeout (``watchdog``);
- a **deadline per run** (``deadline``) over all requests, retries and pauses together;
- **bounded retries** of connection errors and the statuses in ``retry_status``, with
  exponential backoff; a ``Retry-After`` answer is honoured up to :data:`RETRY_AFTER_MAX`
  seconds, never more (``Retry-After: 3600`` is a wait of 5 s, not an hour);
- a **size limit** (``max_bytes``): a ``Content-Length`` above it is refused before reading, a
  body is read in pieces and refused as soon as it passes the limit, so memory stays bounded;
- **redirects within the origin only**: a redirect to another scheme, host or port is refused
  with an error naming both URLs (the other host's data is never read, a POST is never sent
  there); within the origin at most :data:`MAX_REDIRECTS` are followed, a POST only by 307/308,
  which keep the method and the body;
- **errors that name the URL** (user-info redacted) and the cause (the operating system's
  reason, such as ``Connection refused``), with the server's own words cut to a few hundred
  characters and escaped.

requests' and urllib3's own retries are off (their ``Retrying (Retry(total=...))`` warnings
never appear); each of our retries is logged at debug level.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from .logs import clip
from .redact import redact_url
from .watchdog import Adapter, Watchdog

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 512 * MiB
RETRY_AFTER_MAX = 5.0
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# The body of an answer that is not a success is read only this far (for its message).
ERROR_BODY_MAX = 64 * 1024
CHUNK = 1 * MiB


class HttpError(Exception):
    """A request failed for good; the message names the URL and the cause, on one line."""


@dataclass(frozen=True)
class Limits:
    """How long, how often and how much. Seconds and bytes."""

    timeout: float = 10.0
    deadline: float = 120.0
    max_bytes: int = DEFAULT_MAX_BYTES
    retries: int = 3
    backoff: float = 0.5
    retry_status: frozenset[int] = frozenset({500, 502, 503, 504})

    def __post_init__(self) -> None:
        for name in ("timeout", "deadline"):
            value = getattr(self, name)
            if not value > 0 or value == float("inf"):
                raise ValueError(f"invalid {name} {value!r}: expected a number of seconds > 0")
        if self.max_bytes <= 0:
            raise ValueError(f"invalid size limit {self.max_bytes!r}: expected bytes > 0")
        if self.retries < 0 or not self.backoff >= 0:
            raise ValueError("retries and backoff must not be negative")


@dataclass
class Answer:
    """A server's complete answer: the final URL, status, reason, headers and body."""

    url: str
    status: int
    reason: str
    headers: Any
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Client:
    """One ``requests.Session`` with the limits above; ``what`` names the server in errors."""

    def __init__(
        self,
        limits: Limits,
        what: str,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.limits, self.what = limits, what
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.session.auth = auth
        adapter = Adapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._run_ends: float | None = None

    def close(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def run(self) -> Iterator[None]:
        """Requests inside share one deadline (``limits.deadline`` from now)."""
        outer = self._run_ends
        if outer is None:
            self._run_ends = time.monotonic() + self.limits.deadline
        try:
            yield
        finally:
            self._run_ends = outer

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> Answer:
        """Send a request (with retries) and return the final answer, whatever its status.

        Raises ``HttpError`` when no answer came: unreachable, too slow, too large, refused
        redirect, or the retries ran out on a connection error. An answer with a status in
        ``retry_status`` is returned once the retries ran out.
        """
        timeout = timeout or self.limits.timeout
        ends = self._run_ends
        if ends is None:
            # Outside a run a request is a run of its own (a long-poll may take longer).
            ends = time.monotonic() + max(self.limits.deadline, timeout)
        attempt = 0
        while True:
            try:
                answer = self._follow(method, url, params, json, timeout, ends)
            except _Retryable as e:
                why, wait, answer = str(e), None, None
            else:
                if answer.status not in self.limits.retry_status:
                    return answer
                why = f"{self.what} answered {answer.status} for {redact_url(url)}"
                wait = _retry_after(answer.headers.get("Retry-After"))
            if attempt >= self.limits.retries:
                if answer is not None:
                    return answer
                raise HttpError(why)
            pause = retry_pause(self.limits.backoff, attempt, wait)
            if time.monotonic() + pause >= ends:
                raise HttpError(
                    f"{why}; no time left to retry within the run's deadline of "
                    f"{self.limits.deadline:g} s"
                )
            attempt += 1
            log.debug(
                "%s %s: %s; retry %d of %d in %.2f s",
                method,
                redact_url(url),
                why,
                attempt,
                self.limits.retries,
                pause,
            )
            time.sleep(pause)

    def _follow(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        json: Any,
        timeout: float,
        ends: float,
    ) -> Answer:
        """One attempt: the request and the redirects within the origin that it leads to."""
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._once(method, url, params, json, timeout, ends)
            if answer.status not in REDIRECTS or "Location" not in answer.headers:
                return answer
            target = urljoin(answer.url, answer.headers["Location"])
            shown = redact_url(clip(target))
            if _origin(target) != origin:
                raise HttpError(
                    f"{self.what} at {redact_url(answer.url)} redirected ({answer.status}) to "
                    f"{shown}, outside {origin_text(origin)}; refusing to follow it (only "
                    "redirects to the same scheme, host and port are followed)"
                )
            if method != "GET" and answer.status not in (307, 308):
                raise HttpError(
                    f"{self.what} at {redact_url(answer.url)} answered {answer.status} to a "
                    f"{method}, which would turn it into a GET of {shown}; refusing"
                )
            log.debug("%s: %d to %s", redact_url(answer.url), answer.status, shown)
            url, params = target, None
        raise HttpError(f"{self.what} at {redact_url(url)}: more than {MAX_REDIRECTS} redirects")

    def _once(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        json: Any,
        timeout: float,
        ends: float,
    ) -> Answer:
        shown = redact_url(url)
        left = ends - time.monotonic()
        if left <= 0:
            raise HttpError(
                f"{self.what} at {shown}: the run's deadline of {self.limits.deadline:g} s passed"
            )
        budget = min(timeout, left)
        started = time.monotonic()
        watchdog = Watchdog(budget).watching()
        resp = None
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                json=json,
                timeout=(budget, budget),
                stream=True,
                allow_redirects=False,
            )
            ok = resp.status_code < 300
            limit = self.limits.max_bytes if ok else ERROR_BODY_MAX
            content = self._read(resp, shown, limit, ok, started + budget)
            if watchdog.fired:  # a body without a length ends where the connection was cut
                raise requests.ConnectionError("cut at the deadline")
        except requests.RequestException as e:
            if watchdog.fired or time.monotonic() - started >= budget:
                raise _Retryable(self._too_slow(shown, budget, timeout, resp is not None)) from None
            raise _Retryable(f"{self.what} unreachable at {shown}: {os_reason(e)}") from None
        finally:
            watchdog.done()
            if resp is not None:
                resp.close()
        return Answer(resp.url, resp.status_code, resp.reason or "", resp.headers, content)

    def _read(
        self, resp: requests.Response, shown: str, limit: int, ok: bool, ends: float
    ) -> bytes:
        """The body, in pieces, within the request's deadline and the size limit."""
        length = resp.headers.get("Content-Length", "")
        if ok and is_number(length) and int(length) > limit:
            raise HttpError(self._too_large(shown, f"announces {int(length):,} bytes"))
        pieces, size = [], 0
        for piece in resp.iter_content(CHUNK):
            size += len(piece)
            if size > limit:
                if not ok:  # an error's message: its beginning is enough
                    pieces.append(piece[: len(piece) - (size - limit)])
                    break
                raise HttpError(self._too_large(shown, f"sent more than {limit:,} bytes"))
            pieces.append(piece)
            if time.monotonic() > ends:
                raise requests.ConnectionError("deadline passed")
        return b"".join(pieces)

    def _too_slow(self, shown: str, budget: float, timeout: float, answered: bool) -> str:
        what = "did not send its whole answer" if answered else "did not answer"
        if budget < timeout:
            return f"{self.what} at {shown} {what} before the run's deadline of " + (
                f"{self.limits.deadline:g} s passed"
            )
        return (
            f"{self.what} at {shown} {what} within {timeout:g} s "
            "(the per-request deadline, connection and whole body)"
        )

    def _too_large(self, shown: str, detail: str) -> str:
        return (
            f"{self.what} at {shown} {detail}, more than the limit of "
            f"{self.limits.max_bytes:,} bytes; refusing the answer"
        )


def origin_text(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}:{port}"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if is_number(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_pause(backoff: float, attempt: int, asked: float | None) -> float:
    """Seconds before retry ``attempt + 1``: exponential backoff, or longer when the server
    asked for it (``Retry-After``), never more than ``RETRY_AFTER_MAX`` for that."""
    pause = backoff * 2**attempt
    if asked is not None:
        pause = max(pause, min(asked, RETRY_AFTER_MAX))
    return pause


def is_number(text: str) -> bool:
    """Whether ``text`` is a whole number in ASCII digits, as HTTP headers write them.

    ``str.isdigit`` alone also takes superscripts, which ``int`` refuses (``"²"``: a header
    holding one would crash the run instead of being ignored), and other scripts' digits, which
    no HTTP header may hold.
    """
    return text.isascii() and text.isdigit()


def causes(e: BaseException) -> Iterator[BaseException]:
    """``e`` and every exception inside it, nearest first: its cause and context, and what
    requests and urllib3 wrap (``reason``, the arguments); each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [e]
    while todo:
        err = todo.pop(0)
        if id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        nxt = [err.__cause__, err.__context__, getattr(err, "reason", None), *err.args]
        todo += [x for x in nxt if isinstance(x, BaseException)]


def os_reason(e: BaseException) -> str:
    """The operating system's reason inside a requests error (``Connection refused``), or its
    last line."""
    for err in causes(e):
        if isinstance(err, OSError) and err.strerror:
            return err.strerror
        if isinstance(err, (socket.timeout, TimeoutError)):
            return "timed out"
    return clip(str(e).splitlines()[-1] if str(e) else type(e).__name__)


class _Retryable(HttpError):
    """No answer this time (connection failed, too slow); the next attempt may do better."""
