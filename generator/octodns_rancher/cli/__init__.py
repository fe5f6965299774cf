"""The ``octodns-rancher`` command: parses arguments and calls the pipeline, nothing more.

One module per group of subcommands (``generate`` and ``snapshot``, ``watch``, and the set-up
commands ``init``, ``iam-policy``, ``bind-policy``, ``writeback`` and ``migrate``); ``options`` holds the flags they share and
how a setting is resolved (flag, else environment variable, else config file, else default).

Exit codes: 0 success; 1 ``generate --check`` found that the zone file would change; 2 bad
usage, bad input or a failed run (nothing was written).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import __version__
from ..errors import RancherDnsError
from ..logs import MAX_OUTSIDE
from .generate import add_generate, add_snapshot
from .ops import add_bind_policy, add_iam_policy, add_init, add_migrate, add_writeback
from .options import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, log, log_flags
from .watch import add_watch

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        # Run as the program (the command line comes from sys.argv): skip the collector at exit.
        atexit.register(_skip_collections_at_exit)
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose - args.quiet, args.log_format or os.environ.get("LOG_FORMAT"))
    try:
        return int(args.func(args))
    except RancherDnsError as e:
        log.error("%s", e)
        return EXIT_ERROR
    except KeyboardInterrupt:
        log.error("interrupted; nothing was written")
        return 130
    except Exception as e:
        # The last line of defence: every failure is one ERROR line and exit 2. The known
        # failures raise RancherDnsError with a message of their own; this is for the rest.
        log.error(
            "unexpected %s: %s (run with -v for the traceback)",
            type(e).__name__,
            " ".join(str(e).split())[:MAX_OUTSIDE] or "no message",
        )
        log.debug("traceback of the unexpected error", exc_info=True)
        return EXIT_ERROR


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error reported as one ERROR line (exit 2) like every other."""

    def error(self, message: str) -> NoReturn:
        _setup_logging(0, os.environ.get("LOG_FORMAT"))
        log.error("%s: %s (see %s --help)", self.prog, message, self.prog)
        sys.exit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="octodns-rancher",
        description="Publish Rancher 1.x services in public DNS: rancher-metadata in, "
        "octoDNS zone YAML out, for review in git and `octodns-sync`.",
        epilog="Exit codes: 0 ok, 1 `generate --check` found changes, 2 error (nothing written).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    log_flags(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_generate(sub)
    add_watch(sub)
    add_snapshot(sub)
    add_init(sub)
    add_iam_policy(sub)
    add_bind_policy(sub)
    add_writeback(sub)
    add_migrate(sub)
    return parser


def _skip_collections_at_exit() -> None:
    """Spare the process the collector's passes while the interpreter shuts down.

    After a large run, the objects that live until exit (the imported modules, the zone data
    kept for comparisons) are spread over much memory, and each of the interpreter's full
    collections at shutdown walks all of them: about 0.08 s at 100,000 containers, for garbage
    that exiting frees anyway. Frozen objects are still freed as usual; only cycles among them
    are not collected: the operating system reclaims their memory when the process ends.
    """
    gc.freeze()


def _setup_logging(level: int, fmt: str | None = None) -> None:
    from .. import logs

    levels = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}
    wanted = (fmt or "text").strip().lower()
    logs.setup(levels[max(-2, min(1, level))], wanted if wanted in logs.FORMATS else "text")
    if wanted not in logs.FORMATS:
        log.warning("unknown log format %r; using text (%s)", fmt, ", ".join(logs.FORMATS))
    if level < 1:
        # octoDNS is chatty at INFO; its warnings still show.
        logging.getLogger("octodns").setLevel(logging.WARNING)
