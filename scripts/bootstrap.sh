#!/usr/bin/env bash
# Installs what the stack needs, only what is missing, so a second run costs a few hundred milliseconds.
#   scripts/bootstrap.sh run   database server + Python environment + front-end packages
#   scripts/bootstrap.sh test  the same, plus Chromium (browser tests) and poppler-utils (PDF checks)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"

need_debs=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need_debs+=("$1"); }
want postgresql
want postgresql-postgis
want postgresql-contrib
want python3-venv
want nodejs
want npm
if [ "$profile" = test ]; then
  want chromium
  want poppler-utils
  want fonts-dejavu-core
  want redis-server  # tests/gateway: a private Redis on a free port for the shared-cache tests
  want nginx-light  # tests/deploy: the tile cache's nginx.conf run for real
  want prometheus  # tests/deploy/test_monitoring.py: promtool check rules
fi
# npm from Debian may be absent while a newer node/npm is installed another way: keep the one we have.
if command -v npm >/dev/null 2>&1; then need_debs=("${need_debs[@]/npm}"); need_debs=("${need_debs[@]/nodejs}"); fi
if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then need_debs=("${need_debs[@]/python3-venv}"); fi
clean=()
for p in "${need_debs[@]}"; do [ -n "$p" ] && clean+=("$p"); done
if [ ${#clean[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing Debian packages: ${clean[*]} (run as root, or install them)" >&2; exit 1
  fi
  echo "bootstrap: installing ${clean[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${clean[@]}" >/dev/null
fi

# Python environment from the hashed lock (requirements/dev.lock, made by `make lock`; the image installs
# requirements/runtime.lock, resolved together), reinstalled only when the lock or pyproject.toml changes.
py=python3
for cand in python3.13 python3.12 python3.11 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then py="$cand"; break; fi
done
stamp=".venv/.stamp-$(cat pyproject.toml requirements/dev.lock | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # Exactly the locked versions, each checked against its hash; then the project itself, without resolving
  # anything again (--no-deps), so nothing unlocked can slip in.
  .venv/bin/python -m pip install -q --require-hashes --only-binary=:all: -r requirements/dev.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.stamp-*; touch "$stamp"
fi

# Front-end packages, installed from the lock file when it or package.json (its postinstall step) changes.
if [ -f web/package-lock.json ]; then
  wstamp="web/node_modules/.stamp-$(cat web/package.json web/package-lock.json | sha256sum | cut -c1-16)"
  if [ ! -f "$wstamp" ]; then
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    touch "$wstamp"
  fi
fi
