"""Logging setup: readable lines for a terminal, JSON lines for a log collector.

Inside Rancher the container's stdout/stderr goes to whatever collects Docker logs; one JSON
object per line (``--log-format json``) keeps the level, logger and message as fields instead
of text to be parsed again.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

FORMATS = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup(level: int = logging.INFO, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger for the process.

    Text keeps ``logging.basicConfig``'s manners (a no-op when handlers exist, e.g. under a test
    runner); JSON replaces the root handlers, since mixed formats on one stream defeat a parser.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    stream = stream or sys.stderr
    if fmt == "text":
        logging.basicConfig(level=level, format=TEXT_FORMAT, stream=stream)
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
