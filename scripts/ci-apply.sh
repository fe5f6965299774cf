#!/usr/bin/env bash
# Push to main: apply the zone files with `octodns-sync --doit`, or, when OCTODNS_CHECKSUM holds
# the checksum of the reviewed plan, apply only if the plan is still exactly that one. Then
# write each changed service's fqdn back to Rancher and record the applied commit as the branch
# dns/applied (APPLIED_REF) on the remote.
#
# The write-back compares the zone files with the last applied commit (dns/applied), so the
# changes of an apply that never ran (cancelled while pending) are written back too; before
# dns/applied exists, with WRITEBACK_SINCE (the revision before the push). A failed write-back
# is reported as a warning, never fails the applied sync.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

previous="$(applied_commit)"
log "validating $CONFIG"
octodns-validate --config-file "$CONFIG"
if [ -n "${OCTODNS_CHECKSUM:-}" ]; then
  log "applying the reviewed plan ${OCTODNS_CHECKSUM}"
  "$PY" "$HERE/octodns_plan.py" apply --config-file "$CONFIG" --checksum "$OCTODNS_CHECKSUM" \
    "${FORCE[@]}" | emit
else
  log "applying"
  octodns-sync --config-file "$CONFIG" --doit "${FORCE[@]}"
fi

since="${previous:-${WRITEBACK_SINCE:-}}"
log "writing back the services changed since ${since:-the beginning}${previous:+ ($APPLIED_REF)}"
write_back "$since"
record_applied "$previous"
