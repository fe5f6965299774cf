#!/usr/bin/env bash
# Push to main: apply the zone files with `octodns-sync --doit`, or, when OCTODNS_CHECKSUM holds
# the checksum of the reviewed plan, apply only if the plan is still exactly that one. Then
# write each changed service's fqdn back to Rancher (WRITEBACK_SINCE: the revision before the
# push); a failed write-back is reported as a warning, never fails the applied sync.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

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

for zone in $("$PY" "$HERE/octodns_plan.py" zones --config-file "$CONFIG"); do
  if ! octodns-rancher writeback --zone "$zone" ${WRITEBACK_SINCE:+--since "$WRITEBACK_SINCE"}; then
    echo "::warning title=Rancher write-back::write-back for $zone failed; DNS is applied, see the log"
  fi
done
