#!/usr/bin/env bash
# `make lock`: regenerates the hashed dependency locks from pyproject.toml (run after adding a dependency).
#   requirements/runtime.lock  base + tiles, report, gateway extras: what deploy/Dockerfile installs
#   requirements/dev.lock      every extra (test included): what scripts/bootstrap.sh installs for make test / CI,
#                              resolved with runtime.lock as constraints so both agree on every shared version
# Each lock's first line records a fingerprint of the dependency lists it was made from;
# tests/deploy/test_lock.py fails when pyproject.toml moved on without `make lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/uv --version 2>/dev/null | grep -q "^uv $UV_VERSION"; then
  .venv/bin/python -m pip install -q "uv==$UV_VERSION"
fi
fp() { .venv/bin/python scripts/lock_fingerprint.py "$@"; }
# Linux on x86_64 and aarch64, CPython 3.11 (Debian bookworm's, the image's) and newer.
common=(--quiet --generate-hashes --universal --python-version 3.11 --no-header --no-annotate
        --index-url https://pypi.org/simple)
runtime_extras=(tiles report gateway)
all_extras=($(.venv/bin/python scripts/lock_fingerprint.py --list-extras))
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
.venv/bin/uv pip compile pyproject.toml "${common[@]}" "${runtime_extras[@]/#/--extra=}" -o "$tmp/runtime.lock"
.venv/bin/uv pip compile pyproject.toml "${common[@]}" "${all_extras[@]/#/--extra=}" \
  -c "$tmp/runtime.lock" -o "$tmp/dev.lock"
for name in runtime dev; do
  extras=("${runtime_extras[@]}"); [ "$name" = dev ] && extras=("${all_extras[@]}")
  { echo "# fingerprint: $(fp "${extras[@]}") (scripts/lock_fingerprint.py; regenerate with: make lock)"
    echo "# extras: ${extras[*]}"
    grep -v '^-e \|^\./\|^rezone-cpts' "$tmp/$name.lock"; } > "requirements/$name.lock"
done
echo "lock: requirements/runtime.lock ($(grep -c '==' requirements/runtime.lock) pins)," \
     "requirements/dev.lock ($(grep -c '==' requirements/dev.lock) pins)"
