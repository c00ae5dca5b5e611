#!/usr/bin/env bash
# Quick start: installs what is missing, builds Luister and runs it with a private
# ClickHouse under ./data and the demo site demo.gemeente.nl (30 days of traffic).
# Extra arguments go to `luister serve` (see `luister serve --help`).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
echo "==> building luister (release; the first build takes a few minutes)" >&2
cargo build --release --bin luister
exec target/release/luister serve --demo "$@"
