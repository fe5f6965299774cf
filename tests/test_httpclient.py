"""httpclient: every limit against a real server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from octodns_rancher.httpclient import RETRY_AFTER_MAX, Client, HttpError, Limits
from tests.support.metadata_server import MetadataServer
from tests.support.misbehaving_server import (
    FORGED_LINE,
    MisbehavingServer,
    forged,
    hang,
    json_body,
    oversize,
    redirect,
    retry_after,
    status,
    trickle,
    trickling_connect_proxy,
)

MiB = 1024 * 1024


@pytest.fixture
def srv() -> Iterator[MisbehavingServer]:
    with MisbehavingServer() as s:
        yield s


def client(**limits: float) -> Client:
    return Client(Limits(**{"retries": 0, "backoff": 0.01, **limits}), "test-server")  # type: ignore[arg-type]


def test_retry_after_is_capped(srv: MisbehavingServer) -> None:
    srv.on("/x", retry_after(3600))
    started = time.monotonic()
    answer = client(retries=1).request("GET", f"{srv.url}/x")
    elapsed = time.monotonic() - started
    assert answer.status == 503 and len(srv.requests) == 2
    assert RETRY_AFTER_MAX <= elapsed < RETRY_AFTER_MAX + 3


def test_the_run_deadline_ends_retries_that_would_overrun_it(srv: MisbehavingServer) -> None:
    srv.on("/x", retry_after(3600))
    c = client(retries=10, deadline=2)
    started = time.monotonic()
    message = "no time left to retry within the run's deadline of 2 s"
    with pytest.raises(HttpError, match=message), c.run():
        c.request("GET", f"{srv.url}/x")
    assert time.monotonic() - started < 2
    assert len(srv.requests) == 1


def test_a_trickled_body_fails_at_the_request_deadline(srv: MisbehavingServer) -> None:
    srv.on("/x", trickle(b'{"a": 1}' * 20, interval=0.2))
    started = time.monotonic()
    with pytest.raises(HttpError) as e:
        client(timeout=1).request("GET", f"{srv.url}/x")
    assert time.monotonic() - started < 2.5
    assert str(e.value) == (
        f"test-server at {srv.url}/x did not send its whole answer within 1 s "
        "(the per-request deadline, connection and whole body)"
    )


def test_a_body_without_a_length_cut_at_the_deadline_is_not_taken_as_whole(
    srv: MisbehavingServer,
) -> None:
    srv.on("/x", trickle(b"[1, 2, 3]" * 20, interval=0.1, announce=False))  # 18 s in all
    started = time.monotonic()
    with pytest.raises(HttpError, match=r"did not send its whole answer within 0\.5 s"):
        client(timeout=0.5).request("GET", f"{srv.url}/x")
    assert time.monotonic() - started < 2.5


def test_a_server_that_never_answers_fails_at_the_request_deadline(
    srv: MisbehavingServer,
) -> None:
    srv.on("/x", hang())
    started = time.monotonic()
    with pytest.raises(HttpError, match=r"did not answer within 0\.5 s"):
        client(timeout=0.5, retries=1).request("GET", f"{srv.url}/x")
    assert time.monotonic() - started < 2.5
    assert len(srv.requests) == 2  # a timeout is retried like a connection error


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_refused(srv: MisbehavingServer, code: int) -> None:
    with MetadataServer() as other:
        srv.on("/2016-07-29/services", redirect(code, f"{other.url}/2016-07-29/services"))
        with pytest.raises(HttpError) as e:
            client().request("GET", f"{srv.url}/2016-07-29/services")
        assert other.requests == []  # the other host was never asked
    assert str(e.value) == (
        f"test-server at {srv.url}/2016-07-29/services redirected ({code}) to "
        f"{other.url}/2016-07-29/services, outside {srv.url}; refusing to follow it (only "
        "redirects to the same scheme, host and port are followed)"
    )


def test_redirects_within_the_origin_are_followed(srv: MisbehavingServer) -> None:
    srv.on("/old", redirect(301, "/new")).on("/new", redirect(307, f"{srv.url}/newest"))
    srv.on("/newest", json_body({"ok": True}))
    answer = client().request("GET", f"{srv.url}/old")
    assert answer.status == 200 and answer.content == b'{"ok": true}'
    assert srv.paths() == ["/old", "/new", "/newest"]


def test_a_redirect_loop_ends(srv: MisbehavingServer) -> None:
    srv.on("/loop", redirect(302, "/loop"))
    with pytest.raises(HttpError, match="more than 5 redirects"):
        client().request("GET", f"{srv.url}/loop")


def test_a_post_follows_only_307_and_308_within_the_origin(srv: MisbehavingServer) -> None:
    srv.on("/a", redirect(307, "/b")).on("/b", status(201, b"{}"))
    assert client().request("POST", f"{srv.url}/a", json={"x": 1}).status == 201
    assert [m for m, _, _ in srv.requests] == ["POST", "POST"]
    srv.on("/c", redirect(302, "/b"))
    with pytest.raises(HttpError, match="answered 302 to a POST, which would turn it into a GET"):
        client().request("POST", f"{srv.url}/c", json={"x": 1})


def test_an_announced_oversize_body_is_refused_before_it_is_read(srv: MisbehavingServer) -> None:
    srv.on("/x", oversize(3 * 1024 * MiB))  # 3 GiB announced
    with pytest.raises(HttpError) as e:
        client(max_bytes=1 * MiB).request("GET", f"{srv.url}/x")
    assert str(e.value) == (
        f"test-server at {srv.url}/x announces 3,221,225,472 bytes, more than the limit of "
        "1,048,576 bytes; refusing the answer"
    )


def test_an_unannounced_oversize_body_is_cut_at_the_limit(srv: MisbehavingServer) -> None:
    srv.on("/x", oversize(1024 * MiB, announce=False))  # 1 GiB, chunked
    with pytest.raises(HttpError, match="sent more than 4,194,304 bytes, more than the limit"):
        client(max_bytes=4 * MiB).request("GET", f"{srv.url}/x")
    assert srv.sent < 64 * MiB  # the client hung up long before the end


def test_an_error_body_is_read_only_far_enough_for_its_message(srv: MisbehavingServer) -> None:
    srv.on("/x", forged(repeat=100_000))  # about 7 MB
    answer = client().request("GET", f"{srv.url}/x")
    assert answer.status == 404 and len(answer.content) == 64 * 1024


def test_connection_refused_names_the_url_and_the_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(HttpError) as e:
            client().request("GET", f"http://user:secret@127.0.0.1:{port}/x")
    assert str(e.value) == (
        f"test-server unreachable at http://***@127.0.0.1:{port}/x: Connection refused"
    )


def test_redirect_errors_carry_no_credentials_and_no_raw_outside_text(
    srv: MisbehavingServer,
) -> None:
    srv.on("/x", redirect(302, "http://evil:pw@203.0.113.9/\nERROR x\x1b[2J"))
    with pytest.raises(HttpError) as e:
        client().request("GET", f"http://me:secret@127.0.0.1:{srv.port}/x")
    text = str(e.value)
    assert "secret" not in text and "pw" not in text and "\n" not in text and "\x1b" not in text
    assert FORGED_LINE not in text


@pytest.mark.parametrize(
    "limits",
    [{"timeout": 0}, {"timeout": -1}, {"deadline": float("nan")}, {"max_bytes": 0}],
)
def test_limits_are_checked(limits: dict) -> None:
    with pytest.raises(ValueError):
        Limits(**limits)


# -- headers with digits of other scripts ("²".isdigit() is True, int("²") fails) -------------


def test_a_content_length_of_other_digits_is_no_length(srv: MisbehavingServer) -> None:
    srv.on("/x", status(200, b'{"a": 1}', {"Content-Length": "\u00b2", "Connection": "close"}))
    answer = client().request("GET", f"{srv.url}/x")
    assert answer.status == 200 and answer.text == '{"a": 1}'


def test_a_retry_after_of_other_digits_is_ignored(srv: MisbehavingServer) -> None:
    srv.on("/x", retry_after("\u00b2"))
    answer = client(retries=1).request("GET", f"{srv.url}/x")
    assert answer.status == 503 and len(srv.requests) == 2


def test_a_trickling_proxy_is_cut_at_the_request_deadline(monkeypatch) -> None:
    """HTTPS_PROXY (requests reads it) at a proxy that trickles its answer to CONNECT: the
    per-request deadline covers the tunnel and the TLS handshake, not only the request."""
    with trickling_connect_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        started = time.monotonic()
        with pytest.raises(HttpError, match="within 1 s"):
            client(timeout=1).request("GET", "https://rancher.invalid/v2-beta")
        assert time.monotonic() - started < 2.5
