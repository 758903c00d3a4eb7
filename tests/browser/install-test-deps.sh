#!/usr/bin/env bash
# Test dependencies of the browser suite: axe-core (npm), injected into Debian's Chromium.
# Chromium itself comes from scripts/test.sh (apt); Playwright's own browsers are never downloaded.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "browser tests need node + npm" >&2; exit 1; }
# Reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.browser-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.browser-lock
fi
