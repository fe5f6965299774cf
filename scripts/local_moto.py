#!/usr/bin/env python3
"""A local Route53 on 127.0.0.1 (moto), so that octoDNS plans and applies without an AWS account.

octodns-route53 sends its requests wherever ``AWS_ENDPOINT_URL_ROUTE_53`` points. moto's own
server (5.2.5) answers ``ListHealthChecks`` without ``IsTruncated``, which octodns-route53 reads,
so a plain ``moto_server`` fails every plan; this starts the test harness's moto server
(``tests/support/moto_server.py``), which adds it, with dummy credentials and nothing that can
reach real AWS::

  scripts/local_moto.py --zone example.com -- scripts/ci-plan.sh   # run a command against it
  scripts/local_moto.py --zone example.com                         # print the variables, wait

With a command, moto runs for as long as the command does and the command's exit code is
returned. Without one, the ``export`` lines to paste into another shell are printed and moto
runs until Ctrl-C. Its data lives in memory only.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.moto_server import MotoServer, MotoServerError

log = logging.getLogger("local_moto")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--zone",
        action="append",
        default=[],
        help="create this public hosted zone first (repeatable)",
    )
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG...] to run")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        moto = MotoServer().start()
    except MotoServerError as e:
        log.error("%s", str(e).splitlines()[0])
        return 2
    try:
        for zone in args.zone:
            log.info("hosted zone %s: %s", zone, moto.create_zone(zone))
        log.info("moto (Route53) listening on %s", moto.url)
        if command:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            try:
                return subprocess.run(command, env={**env, **moto.env}).returncode
            except FileNotFoundError:
                log.error("%s: command not found", command[0])
                return 2
        sys.stdout.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in moto.env.items()))
        sys.stdout.flush()
        log.info("paste the lines above into another shell; Ctrl-C stops moto")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        return 0
    finally:
        moto.stop()


if __name__ == "__main__":
    sys.exit(main())
