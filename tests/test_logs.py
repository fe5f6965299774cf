"""logs: JSON lines that a log collector can parse, text lines by default."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from octodns_rancher.logs import MAX_MESSAGE, TEXT_FORMAT, JsonFormatter, TextFormatter, clip, setup


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord(
        {"name": "octodns_rancher.watch", "levelname": "WARNING", "levelno": 30, "msg": msg}
    )
    rec.args = args
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_json_line_has_time_level_logger_message_and_extras() -> None:
    line = JsonFormatter().format(record("%s: retrying in %.1f s", "zones/x.yaml", 2, zone="x."))
    data = json.loads(line)
    assert data["level"] == "WARNING"
    assert data["logger"] == "octodns_rancher.watch"
    assert data["message"] == "zones/x.yaml: retrying in 2.0 s"
    assert data["zone"] == "x."
    assert data["time"].endswith("+00:00")
    assert "\n" not in line


def test_json_line_carries_the_traceback() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        rec = record("failed")
        rec.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(rec))
    assert "ValueError: bad" in data["exception"]


def test_setup_json_replaces_handlers() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        setup(logging.INFO, "json", stream)
        logging.getLogger("octodns_rancher.test").info("hello %s", "world")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert json.loads(stream.getvalue())["message"] == "hello world"


def test_setup_refuses_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown log format"):
        setup(logging.INFO, "xml")


FORGED = "web\nERROR octodns_rancher: forged\r\x1b[31mred\x1b[0m\x85\u2028\u2029\x7f\x00end"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_outside_text_cannot_forge_a_line_or_reach_the_terminal(fmt: str) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        root.handlers[:] = []
        setup(logging.INFO, fmt, stream)
        logging.getLogger("octodns_rancher.records").warning("service %s: no record", FORGED)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    out = stream.getvalue()
    assert out.count("\n") == 1 and out.endswith("\n")
    assert not any(c in out[:-1] for c in "\r\x1b\x85\u2028\u2029\x7f\x00")
    text = json.loads(out)["message"] if fmt == "json" else out
    assert "web\\nERROR octodns_rancher: forged\\r\\x1b[31mred" in text
    assert "\\x85\\u2028\\u2029\\x7f\\x00end" in text


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_huge_message_is_capped(fmt: str) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        root.handlers[:] = []
        setup(logging.INFO, fmt, stream)
        logging.getLogger("octodns_rancher.source").error("answered 404: %s", "x" * 2_000_000)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    out = stream.getvalue()
    assert len(out) < MAX_MESSAGE + 200
    text = json.loads(out)["message"] if fmt == "json" else out
    assert "... [1,996,014 more characters]" in text


def test_a_traceback_in_text_format_is_indented_so_it_cannot_forge_a_line() -> None:
    try:
        raise ValueError("bad\nERROR octodns_rancher: forged")
    except ValueError:
        rec = record("failed")
        rec.exc_info = sys.exc_info()
    lines = TextFormatter(TEXT_FORMAT).format(rec).splitlines()
    assert lines[0] == "WARNING octodns_rancher.watch: failed"
    assert all(line.startswith("  ") for line in lines[1:])


def test_clip_escapes_and_shortens_outside_text() -> None:
    assert clip("a\nb", 10) == "a\\nb"
    assert clip("x" * 50, 10) == "xxxxxxxxxx... [40 more characters]"
    assert clip("  padded \n") == "padded"
