"""octoDNS's ``Manager`` loaded from a config file, its failure reported in one line.

Loading a config can fail in many ways (a missing ``env/`` secret, a provider class that does
not import, bad YAML), and octoDNS logs some of them itself, with a traceback, before raising:
``EnvironSecrets`` does for an unset variable. The commands here (``migrate``, ``watch
--apply``) turn the exception into one line naming the config, so octoDNS's own error records
from the load are held back: dropped when the load fails (the line says the same, the
traceback is logged at debug level), passed on unchanged when it succeeds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError

log = logging.getLogger(__name__)


def load_manager(config_file: Path) -> Any:
    """``octodns.manager.Manager(config_file)``; ConfigError in one line when it cannot load."""
    from octodns.manager import Manager

    config_file = Path(config_file)
    if not config_file.is_file():
        raise ConfigError(f"octoDNS config {config_file} not found (render it with init)")
    with _held_errors() as held:
        try:
            manager = Manager(str(config_file))
        except Exception as e:  # octoDNS raises many kinds; one line naming the file is enough
            log.debug("loading %s failed", config_file, exc_info=e)
            raise ConfigError(f"cannot load octoDNS config {config_file}: {one_line(e)}") from e
    for record in held:
        logging.getLogger(record.name).handle(record)
    return manager


def one_line(e: BaseException, limit: int = 400) -> str:
    """An exception's message on one line, at most ``limit`` characters."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _held_errors() -> Iterator[list[logging.LogRecord]]:
    """Hold back error records with a traceback that other libraries log meanwhile."""
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        if (
            record.levelno >= logging.ERROR
            and record.exc_info
            and not record.name.startswith("octodns_rancher")
        ):
            held.append(record)
            return False
        return True

    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(hold)
    try:
        yield held
    finally:
        for handler in handlers:
            handler.removeFilter(hold)
