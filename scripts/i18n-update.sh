#!/usr/bin/env bash
# Re-extract user-facing strings and merge them into the sv/en/de catalogues (then translate the new ones).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output \
  --project regional-booking-hub -o locales/messages.pot .
.venv/bin/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching
