#!/usr/bin/env bash
# Set up and run every check: lint, types, the Python suite (SQLite, and PostgreSQL when
# STEPBACK_TEST_DATABASE_URL is set), browser tests in Debian's Chromium, the extension lint.
set -euo pipefail
cd "$(dirname "$0")/.."

IN_CI=false
case "${CI:-}" in 1 | true | TRUE | yes) IN_CI=true ;; esac

bash scripts/setup.sh test

# System packages: each one only when it is missing, one `apt-get install` per package, so a
# package that conflicts with something already here (say a Node.js from another source) can
# never block the others. Under CI a failed install stops the run with its reason.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_updated=false
install_missing() {  # install_missing PACKAGE WHY
  local package=$1 why=$2 log
  log=$(mktemp)
  echo "== $package is missing: installing Debian's $package ($why)"
  if ! command -v apt-get >/dev/null; then
    echo "no apt-get on this machine; install $package yourself ($why)" >"$log"
  elif { $apt_updated || as_root apt-get update -qq >"$log" 2>&1; } &&
    as_root apt-get install -y -qq "$package" >>"$log" 2>&1; then
    apt_updated=true
    echo "   installed $package"
    rm -f "$log"
    return 0
  fi
  apt_updated=true
  if $IN_CI; then
    echo "CI=true and $package could not be installed, so the run stops here. apt said:" >&2
    tail -n 20 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  echo "   could not install $package: tests that need it will be skipped (outside CI). apt said:"
  tail -n 5 "$log"
  rm -f "$log"
}

[ -x /usr/bin/chromium ] || install_missing chromium "the browser tests drive Debian's Chromium"
command -v node >/dev/null || install_missing nodejs "ESLint on the extension, JS unit tests"
command -v npm >/dev/null || install_missing npm "installs ESLint for the extension lint"

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
