#!/usr/bin/env bash
# Pull request: validate the config and zone files, then a no-op `octodns-sync` plan rendered
# with octoDNS's PlanMarkdown into $PLAN_OUTPUT (default plan.md), the body of the one
# pull-request comment that each push updates. Outputs: changes, creates, updates, deletes,
# checksum, unsafe.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

out="${PLAN_OUTPUT:-plan.md}"
log "validating $CONFIG"
octodns-validate --config-file "$CONFIG"
log "planning (no changes are made)"
"$PY" "$HERE/octodns_plan.py" plan --config-file "$CONFIG" --output "$out" \
  --title "${PLAN_TITLE:-octoDNS plan}" | emit
summary "$out"
log "plan written to $out"
