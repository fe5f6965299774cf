"""Logging setup: readable lines for a terminal, JSON lines for a log collector.

Inside Rancher the container's stdout/stderr goes to whatever collects Docker logs; one JSON
object per line (``--log-format json``) keeps the level, logger and message as fields instead
of text to be parsed again.

Much of what is logged comes from outside: service and stack names from rancher-metadata, the
body of a server's error answer, an exception's text. The formatters here are the one place
where every message is made safe before it is written, in both formats: control characters
(newlines, carriage returns, ANSI escapes, the rest of C0 and C1, Unicode's line and paragraph
separators and bidirectional overrides) are shown escaped (``\\n``, ``\\x1b``, ``\\u2028``),
so no outside text can start a line of its own or drive the terminal; a message is cut at
:data:`MAX_MESSAGE` characters; and URLs lose their user-info (``redact``). Code that puts
outside text into an error message caps it where it does so, with :func:`clip`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from .redact import redact_text

FORMATS = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"

# A log message longer than this is cut (a 2 MB error body must not become a 2 MB line).
MAX_MESSAGE = 4000
# Outside text put into an error message (a server's answer) is cut shorter, by ``clip``.
MAX_OUTSIDE = 200

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

# C0 and C1 controls, DEL, NEL, line/paragraph separators, bidi marks, overrides and isolates,
# and the byte order mark.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def escape(text: str) -> str:
    """``text`` with every control or line-breaking character shown as an escape."""
    return _UNSAFE.sub(_escape_char, text)


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left off."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} more characters]"


def clip(text: str, limit: int = MAX_OUTSIDE) -> str:
    """Outside text (a server's answer) fit for an error message: trimmed, cut, escaped."""
    return escape(cap(text.strip(), limit))


def safe_message(text: str) -> str:
    """A log message as it is written: cut to MAX_MESSAGE, escaped, URLs redacted."""
    return redact_text(escape(cap(text, MAX_MESSAGE)))


def _safe_lines(text: str) -> list[str]:
    """A traceback's lines, each made safe (a line break inside one is escaped)."""
    return [safe_message(line) for line in text.splitlines()]


class TextFormatter(logging.Formatter):
    """``LEVEL logger: message`` on one line; a traceback (only with -v) follows, indented."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = safe_message(record.getMessage())
        out = self.formatMessage(record)
        extra = []
        if record.exc_info:
            extra += _safe_lines(self.formatException(record.exc_info))
        if record.stack_info:
            extra += _safe_lines(self.formatStack(record.stack_info))
        return "\n".join([out, *(f"  {line}" for line in extra)])


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": safe_message(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = safe_message(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exception"] = "\n".join(_safe_lines(self.formatException(record.exc_info)))
        return json.dumps(out, default=str, ensure_ascii=False)


def setup(level: int = logging.INFO, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger for the process.

    Text keeps ``logging.basicConfig``'s manners (a no-op when handlers exist, e.g. under a test
    runner); JSON replaces the root handlers, since mixed formats on one stream defeat a parser.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "text":
        handler.setFormatter(TextFormatter(TEXT_FORMAT))
        logging.basicConfig(level=level, handlers=[handler])
        return
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
