"""redact: user-info never leaves the process inside a URL."""

from __future__ import annotations

import pytest

from octodns_rancher.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:secret@host:8080/v1", "http://***@host:8080/v1"),
        ("https://token@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("http://a:b@c@host/x?q=@y", "http://***@host/x?q=@y"),
        ("http://host/path@x", "http://host/path@x"),
        ("http://host:1/", "http://host:1/"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("", ""),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_finds_every_url() -> None:
    text = (
        "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: "
        "http://u:pw@h:1/2016-07-29/self/stack (Caused by x) and https://tok@git.example/r"
    )
    out = redact_text(text)
    assert "pw" not in out and "tok@" not in out and "u:" not in out
    assert "http://***@h:1/2016-07-29/self/stack" in out
    assert "https://***@git.example/r" in out
