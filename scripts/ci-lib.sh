# shellcheck shell=bash
# Shared by the ci-*.sh step scripts (sourced, not run): settings and GitHub Actions plumbing.
# Every step also runs outside GitHub: without GITHUB_OUTPUT / GITHUB_STEP_SUMMARY the values
# and summaries go to stderr instead.

# shellcheck disable=SC2034  # used by the scripts that source this file
CONFIG="${OCTODNS_CONFIG:-config/octodns.yaml}"
PY="${PYTHON:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }

# output KEY=VALUE lines (stdin) for later steps
emit() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then cat >>"$GITHUB_OUTPUT"; else sed 's/^/output: /' >&2; fi
}

# append a markdown file to the job summary
summary() {
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$1" >>"$GITHUB_STEP_SUMMARY"; fi
}

# OCTODNS_FORCE=true lets octoDNS apply plans it considers unsafe: "${FORCE[@]}"
FORCE=()
case "${OCTODNS_FORCE:-}" in 1 | true | yes) FORCE=(--force) ;; esac

# --- what was applied: the branch dns/applied on the remote ---------------------------------
# After each successful apply (or reconcile), the branch APPLIED_REF (default dns/applied) on
# APPLIED_REMOTE (default origin) is moved to the commit whose zone files the provider now
# matches. The write-back and the drift report start from it, so an apply that never ran (a
# pending run that GitHub cancelled for a newer one) is covered by the next.
APPLIED_REF="${APPLIED_REF:-dns/applied}"
APPLIED_REMOTE="${APPLIED_REMOTE:-origin}"

# applied_usable: whether this is a git checkout with the remote (a local run may be neither).
applied_usable() {
  if ! git check-ref-format "refs/heads/$APPLIED_REF"; then
    log "ERROR: APPLIED_REF '$APPLIED_REF' is not a valid branch name"
    exit 2
  fi
  git rev-parse --verify --quiet HEAD >/dev/null 2>&1 &&
    git remote get-url "$APPLIED_REMOTE" >/dev/null 2>&1
}

# applied_commit: the commit APPLIED_REF points at, fetched; nothing when it does not exist
# yet, or (with a warning) when the remote cannot be read.
applied_commit() {
  local ref="refs/heads/$APPLIED_REF" rc=0
  if ! applied_usable; then
    log "not a git checkout with remote $APPLIED_REMOTE: $APPLIED_REF is not used"
    return 0
  fi
  git ls-remote --exit-code "$APPLIED_REMOTE" "$ref" >/dev/null || rc=$?
  if [ "$rc" -eq 2 ]; then
    log "no $APPLIED_REF on $APPLIED_REMOTE yet"
    return 0
  fi
  if [ "$rc" -ne 0 ] || ! git fetch --quiet --no-tags "$APPLIED_REMOTE" "$ref" >&2; then
    echo "::warning title=$APPLIED_REF unreadable::could not read $APPLIED_REF from $APPLIED_REMOTE; starting from the push instead" >&2
    return 0
  fi
  git rev-parse --verify --quiet "FETCH_HEAD^{commit}"
}

# write_back SINCE: each changed service's fqdn to Rancher for every zone of $CONFIG; SINCE is
# the revision to compare with (empty: every service). A failure is a warning: DNS is applied.
write_back() {
  local since="$1" zone
  for zone in $("$PY" "$HERE/octodns_plan.py" zones --config-file "$CONFIG"); do
    if ! octodns-rancher writeback --zone "$zone" ${since:+--since "$since"}; then
      echo "::warning title=Rancher write-back::write-back for $zone failed; DNS is applied. Retry with: octodns-rancher writeback --zone $zone${since:+ --since $since}"
    fi
  done
}

# record_applied PREVIOUS: move APPLIED_REF on the remote to HEAD, only if it still is
# PREVIOUS (empty: does not exist). Failing is a warning: the next run starts further back,
# which repeats some write-back events and misses nothing.
record_applied() {
  local previous="$1" head
  applied_usable || return 0
  head="$(git rev-parse HEAD)"
  if [ "$head" = "$previous" ]; then
    log "$APPLIED_REF is already $head"
  elif git push --quiet --force-with-lease="refs/heads/$APPLIED_REF:$previous" \
    "$APPLIED_REMOTE" "$head:refs/heads/$APPLIED_REF"; then
    log "recorded $head as $APPLIED_REF on $APPLIED_REMOTE"
  else
    echo "::warning title=$APPLIED_REF not moved::could not move $APPLIED_REF to $head on $APPLIED_REMOTE; the next run starts from ${previous:-the push}"
    return 0
  fi
  echo "applied=$head" | emit
}
