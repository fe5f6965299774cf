"""logs: JSON lines that a log collector can parse, text lines by default."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from octodns_rancher.logs import JsonFormatter, setup


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
