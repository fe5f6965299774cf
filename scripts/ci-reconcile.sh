#!/usr/bin/env bash
# Schedule: compare the provider with the zone files; any difference is drift (someone changed
# DNS by hand, or an apply failed half-way). Report it (job summary, a warning annotation,
# outputs drift and changes), then put the provider back with `octodns-sync --doit` unless
# RECONCILE_DOIT=false. RECONCILE_FAIL_ON_DRIFT=true makes drift fail the job after the repair.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

report="${DRIFT_OUTPUT:-drift.md}"
octodns-validate --config-file "$CONFIG"
values="$("$PY" "$HERE/octodns_plan.py" plan --config-file "$CONFIG" --output "$report" \
  --title "DNS drift")"
printf '%s\n' "$values" | emit
changes="$(printf '%s\n' "$values" | sed -n 's/^changes=//p')"
if [ "${changes:-0}" -eq 0 ]; then
  log "no drift: the provider matches the zone files"
  echo "drift=false" | emit
  exit 0
fi
echo "drift=true" | emit
summary "$report"
echo "::warning title=DNS drift::$changes record change(s) needed to match the zone files; see the job summary"
if [ "${RECONCILE_DOIT:-true}" = "true" ]; then
  log "reconciling $changes change(s)"
  octodns-sync --config-file "$CONFIG" --doit "${FORCE[@]}"
fi
if [ "${RECONCILE_FAIL_ON_DRIFT:-false}" = "true" ]; then
  exit 1
fi
