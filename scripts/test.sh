#!/usr/bin/env bash
# Set up and run every check: lint, types, the Python suite (SQLite, and PostgreSQL when
# STEPBACK_TEST_DATABASE_URL is set), browser tests in Debian's Chromium, the extension lint.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh test

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
if ! command -v chromium >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "== installing Chromium and Node.js from Debian's packages (browser and extension tests)"
  as_root apt-get update -qq && as_root apt-get install -y -qq chromium nodejs npm >/dev/null \
    || echo "could not install chromium/nodejs: browser tests will be skipped (outside CI)"
fi

echo "== ruff"
.venv/bin/ruff check server tests bench deploy
echo "== mypy"
.venv/bin/mypy

if [ -f extension/package.json ]; then
  echo "== extension lint"
  (cd extension && npm ci --no-audit --no-fund --loglevel=error && npm run --silent lint)
fi

status=0
echo "== pytest (SQLite)"
env -u STEPBACK_TEST_DATABASE_URL .venv/bin/python -m pytest -m "not postgres" "$@" || status=$?
if [ -n "${STEPBACK_TEST_DATABASE_URL:-}" ]; then
  echo "== pytest (PostgreSQL: ${STEPBACK_TEST_DATABASE_URL%%\?*})"
  .venv/bin/python -m pytest "$@" || status=$?
fi
echo "== bench/panel_render.py --quick (the panel benchmark still runs)"
.venv/bin/python bench/panel_render.py --quick || status=$?
# pytest exits 5 when it collected nothing: that is a failure here, not a pass.
exit "$status"
