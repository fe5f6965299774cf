"""Remove credentials from URLs before they are printed, logged or served.

A URL may carry user-info (``http://user:secret@host``): a rancher-metadata URL behind a
proxy, a ``CATTLE_URL`` with API keys, a git remote with a token. Every URL that reaches a
log line, an error message, ``/healthz`` or a commit passes through here first; the log
formatters apply :func:`redact_text` to every message as a last line of defence.
"""

from __future__ import annotations

import re

# scheme://userinfo@ — the user-info runs to the last "@" before the path, query or fragment
# (as urllib.parse splits it), so "a:b@c@host" loses "a:b@c".
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*(?:@[^/?#\s@]*)*@")

MASK = "***"


def redact_url(url: str | None) -> str:
    """``url`` without its user-info part (``http://***@host/...``); other URLs unchanged."""
    return redact_text(url or "")


def redact_text(text: str) -> str:
    """``text`` with the user-info of every URL in it replaced by ``***``."""
    if "@" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
