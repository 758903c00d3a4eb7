#!/usr/bin/env bash
# Install the hub and run it with a seeded demo region on SQLite (under ./instance).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e .
.venv/bin/pybabel compile -d locales >/dev/null
export HUB_INSTANCE_PATH=${HUB_INSTANCE_PATH:-$PWD/instance}
export HUB_SECRET_KEY=${HUB_SECRET_KEY:-dev}   # a demo key; production refuses it
export HUB_DEV_LOGIN=${HUB_DEV_LOGIN:-1}         # the labelled test login; production refuses it
export HUB_DEV_STAFF_LOGIN=${HUB_DEV_STAFF_LOGIN:-1}  # the labelled staff test login at /admin/dev-login
exec .venv/bin/hub demo "$@"
