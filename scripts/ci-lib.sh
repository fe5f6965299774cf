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
