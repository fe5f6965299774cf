#!/usr/bin/env bash
# Generate: read rancher-metadata (METADATA_URL, from a runner that can reach it) or a snapshot
# (METADATA_FILE, e.g. an artifact of a run inside Rancher), write the zone files and commit
# them locally when they changed. The workflow turns the commit into a pull request.
# Outputs: changed (true/false), title (the commit subject), body-path (the commit message).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

args=(generate --commit)
if [ -n "${GENERATOR_CONFIG:-}" ]; then args+=(--config "$GENERATOR_CONFIG"); fi
if [ -n "${METADATA_FILE:-}" ]; then
  args+=(--metadata-file "$METADATA_FILE")
elif [ -n "${METADATA_URL:-}" ]; then
  args+=(--metadata-url "$METADATA_URL")
fi

before="$(git rev-parse HEAD)"
octodns-rancher "${args[@]}"
if [ "$(git rev-parse HEAD)" = "$before" ]; then
  log "zone files unchanged"
  echo "changed=false" | emit
  exit 0
fi
body="${PR_BODY_OUTPUT:-pr-body.md}"
git log -1 --format=%b >"$body"
{
  echo "changed=true"
  echo "title=$(git log -1 --format=%s)"
  echo "body-path=$body"
} | emit
log "committed $(git log -1 --format=%s)"
