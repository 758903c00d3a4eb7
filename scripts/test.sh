#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite on SQLite and the storage tests
# again on PostgreSQL (127.0.0.1:5432, database "test"; started here if it is down).
# Extra arguments go to pytest, e.g. ./scripts/test.sh -x tests/hub
set -uo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

system_packages=()
command -v xmlsec1 >/dev/null || system_packages+=(xmlsec1)   # pysaml2's test identity provider
command -v pg_isready >/dev/null || system_packages+=(postgresql-client)
[ -x /usr/bin/chromium ] || system_packages+=(chromium)   # the browser suite (tests/browser)
if ((${#system_packages[@]})); then
  apt-get update -qq && apt-get install -y -qq "${system_packages[@]}" >/dev/null || exit 1
fi
for script in tests/*/install-test-deps.sh; do
  [ -f "$script" ] && { bash "$script" || exit 1; }
done

[ -x .venv/bin/python ] || python3 -m venv .venv || exit 1
.venv/bin/pip install -q -e '.[test]' || exit 1
.venv/bin/pybabel compile -d locales >/dev/null || exit 1
.venv/bin/ruff check . || exit 1

echo "== SQLite: the whole suite"
env -u HUB_TEST_DATABASE_URL .venv/bin/pytest "$@"
sqlite_status=$?

echo "== PostgreSQL: everything that touches storage"
pg_url=${HUB_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
HUB_TEST_DATABASE_URL=$pg_url .venv/bin/pytest -m storage "$@"
pg_status=$?

echo "== SQLite suite exit $sqlite_status, PostgreSQL suite exit $pg_status"
[ "$sqlite_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
