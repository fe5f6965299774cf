#!/usr/bin/env bash
# Pull request: validate the config and zone files, then a no-op `octodns-sync` plan rendered
# with octoDNS's PlanMarkdown into $PLAN_OUTPUT (default plan.md), the body of the one
# pull-request comment that each push updates. Outputs: changes, creates, updates, deletes,
# checksum, unsafe; failed=true when it failed.
#
# The comment always shows the latest run: when validation or the plan fails (say, a refused
# takeover), $PLAN_OUTPUT says that the plan failed, with the last error line, replacing the
# previous plan, and the script exits 1 so the check fails. PLAN_JOB_FAILED=true (a later step
# of a job that failed before the plan ran) writes only that failure comment.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=ci-lib.sh
source "$(dirname "$0")/ci-lib.sh"

out="${PLAN_OUTPUT:-plan.md}"
marker="<!-- octodns-rancher-plan -->"
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT

# The last non-empty line of $errors, made safe for one line of markdown and a workflow command.
last_error() {
  local line
  line="$(tr -d '\000-\010\013-\037\177' <"$errors" | grep -v '^[[:space:]]*$' | tail -n 1 || true)"
  line="${line#"${line%%[![:space:]]*}"}" # without its indentation
  printf '%s' "${line:0:500}"
}

# failed WHAT: write the failure comment, report it, exit 1.
failed() {
  local what="$1" line
  line="$(last_error)"
  {
    echo "$marker"
    echo "# ${PLAN_TITLE:-octoDNS plan}"
    echo
    echo "> [!CAUTION]"
    echo "> **The plan failed** ($what): there is no plan for this commit, and nothing was changed."
    echo "> Fix the error and push again; the next run replaces this comment."
    echo
    if [ -n "$line" ]; then
      echo "Last error line:"
      echo
      printf '    %s\n' "$line" # an indented code block: nothing in the line is markdown
      echo
    fi
    if [ -n "${PLAN_SHA:-}" ]; then printf 'Commit %s%s%s' '`' "${PLAN_SHA:0:12}" '`'; fi
    if [ -n "${GITHUB_RUN_ID:-}" ]; then
      printf ' · [the run'"'"'s log](%s/%s/actions/runs/%s)' "${GITHUB_SERVER_URL:-https://github.com}" \
        "${GITHUB_REPOSITORY:-}" "$GITHUB_RUN_ID"
    fi
    echo
  } >"$out"
  summary "$out"
  echo "failed=true" | emit
  local message="$what: ${line:-see the log}"
  message="${message//%/%25}"
  echo "::error title=DNS plan failed::$message"
  log "plan failed ($what); failure comment written to $out"
  exit 1
}

if [ "${PLAN_JOB_FAILED:-false}" = "true" ]; then
  : >"$errors"
  failed "the job failed before the plan ran"
fi

log "validating $CONFIG"
if ! octodns-validate --config-file "$CONFIG" 2>"$errors"; then
  cat "$errors" >&2
  failed "octodns-validate --config-file $CONFIG"
fi
cat "$errors" >&2
log "planning (no changes are made)"
values="$(mktemp)"
if ! "$PY" "$HERE/octodns_plan.py" plan --config-file "$CONFIG" --output "$out" \
  --title "${PLAN_TITLE:-octoDNS plan}" >"$values" 2>"$errors"; then
  cat "$errors" >&2
  rm -f "$values"
  failed "the plan against the provider"
fi
cat "$errors" >&2
emit <"$values"
rm -f "$values"
summary "$out"
log "plan written to $out"
