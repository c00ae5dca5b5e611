#!/usr/bin/env bash
# Runs every test: installs what is missing, starts one throwaway ClickHouse 18.16
# for the whole run, then the Rust tests (unit + integration against ClickHouse and
# a real HTTP server), the tracker's tests, the browser tests in Chromium and the
# chDB check of our SQL on current ClickHouse.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh --test
# shellcheck source=scripts/env.sh
. scripts/env.sh

read -r ch_pid ch_url < <(bash scripts/clickhouse-test-server.sh)
# The server's subshell removes the data dir once clickhouse-server exits.
trap 'pkill -P "$ch_pid" 2>/dev/null || true; sleep 1' EXIT
export LUISTER_TEST_CLICKHOUSE_URL="$ch_url"
echo "==> test ClickHouse at $ch_url" >&2

echo "==> cargo fmt and clippy" >&2
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "==> Rust tests" >&2
cargo build --quiet --bin luister
cargo nextest run --workspace --no-fail-fast

echo "==> API contract (schemathesis against a live server)" >&2
LUISTER_BIN="$repo/target/debug/luister" bash tests/contract/run.sh

echo "==> fuzzing smoke (scripts/fuzz.sh for longer runs)" >&2
bash scripts/fuzz.sh 20

echo "==> tracker tests" >&2
(cd tracker-js && npm test)

if [ -f tests/browser/package.json ]; then
    echo "==> browser tests (Chromium)" >&2
    (cd tests/browser && LUISTER_BIN="$repo/target/debug/luister" npm test)
fi

echo "==> deployment files (compose, ClickHouse config, alerts, Grafana, Dockerfile, k8s)" >&2
bash tests/deploy/check_deploy.sh
echo "==> two collectors behind nginx (deploy/nginx/luister.conf): sessions whole, one killed" >&2
python3 tests/deploy/two_collectors.py

echo "==> SQL on current ClickHouse (chDB): generated query shapes" >&2
python3 tests/chdb/check_sql.py
echo "==> SQL on current ClickHouse (chDB): every statement the tests ran on 18.16" >&2
python3 tests/chdb/replay_query_log.py --clickhouse "$ch_url"
echo "==> publiccode.yml (standard 0.7)" >&2
python3 tests/publiccode/check.py --self-test
echo "==> all tests passed" >&2
