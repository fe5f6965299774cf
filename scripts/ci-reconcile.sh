#!/usr/bin/env bash
# Schedule: compare the provider with the zone files; any difference is drift (someone changed
# DNS by hand, or an apply failed half-way) or zone-file commits that were never applied (an
# apply cancelled while pending). Report it (job summary, a warning annotation, outputs drift,
# changes and pending), then put the provider back with `octodns-sync --doit` unless
# RECONCILE_DOIT=false. RECONCILE_FAIL_ON_DRIFT=true makes drift fail the job after the repair.
#
# The report starts from the last applied commit (the branch dns/applied, APPLIED_REF): it
# lists the commits since then that changed zones/ or config/. Once the provider matches the
# zone files (no drift, or repaired), the services changed since dns/applied are written back
# to Rancher and dns/applied moves to this commit, as after an apply.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

report="${DRIFT_OUTPUT:-drift.md}"
previous="$(applied_commit)"
octodns-validate --config-file "$CONFIG"
values="$("$PY" "$HERE/octodns_plan.py" plan --config-file "$CONFIG" --output "$report" \
  --title "DNS drift")"
printf '%s\n' "$values" | emit
changes="$(printf '%s\n' "$values" | sed -n 's/^changes=//p')"

# The zone-file commits since the last apply: their changes are not applied yet, not drift.
pending=0
if [ -n "$previous" ] && ! git diff --quiet "$previous" HEAD -- zones config; then
  pending="$(git rev-list --count "$previous..HEAD" -- zones config)"
  pending="${pending:-0}"
  if [ "$pending" -eq 0 ]; then pending=1; fi # not an ancestor: the files differ all the same
fi
echo "pending=$pending" | emit

# The provider matches HEAD's zone files: write back what changed since the last apply (before
# dns/applied exists, nothing: the applies did), and record HEAD as applied.
applied() {
  if [ "$pending" -gt 0 ]; then write_back "$previous"; fi
  record_applied "$previous"
}

if [ "${changes:-0}" -eq 0 ]; then
  log "no drift: the provider matches the zone files"
  echo "drift=false" | emit
  applied
  exit 0
fi
echo "drift=true" | emit
if [ "$pending" -gt 0 ]; then
  {
    echo
    echo "**Not applied yet:** $pending commit(s) changed \`zones/\` or \`config/\` since the last"
    echo "apply (\`$APPLIED_REF\` = \`${previous:0:12}\`); the changes above include theirs:"
    echo
    git log --max-count=50 --format="- \`%h\` %s" "$previous..HEAD" -- zones config
  } >>"$report"
  echo "::warning title=DNS not applied::$pending commit(s) since $APPLIED_REF (${previous:0:12}) were never applied (an apply cancelled while pending?); the repair applies them"
fi
summary "$report"
echo "::warning title=DNS drift::$changes record change(s) needed to match the zone files; see the job summary"
if [ "${RECONCILE_DOIT:-true}" = "true" ]; then
  log "reconciling $changes change(s)"
  octodns-sync --config-file "$CONFIG" --doit "${FORCE[@]}"
  applied
fi
if [ "${RECONCILE_FAIL_ON_DRIFT:-false}" = "true" ]; then
  exit 1
fi
