#!/usr/bin/env bash
# Set up, then run the whole test suite: lint (ruff) and pytest, which starts its own
# rancher-metadata, PowerDNS and moto servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check generator tests scripts bench
.venv/bin/ruff format --check generator tests scripts bench
exec .venv/bin/python -m pytest "$@"
