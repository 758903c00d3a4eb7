#!/usr/bin/env bash
# Test dependencies of the identity suite: the OpenID provider (npm oidc-provider) it runs on
# 127.0.0.1. pysaml2's IdP needs Debian's xmlsec1, which scripts/test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/op"
command -v npm >/dev/null || { echo "identity tests need node + npm" >&2; exit 1; }
# Reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.identity-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.identity-lock
fi
