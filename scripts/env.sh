# Sourced by setup.sh, run.sh and test.sh (needs $repo): puts the tools that setup.sh
# installs beside Debian's on PATH. On a plain Debian 12 those are a Python virtual
# environment (Debian's python3 refuses pip installs), a current Node.js from the npm
# registry (Debian's 18 is too old for the browser tests) and binaries unpacked from
# Debian packages without installing their services (promtool, nginx).
luister_tools="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/luister/tools"
if [ -d "$luister_tools/node/bin" ]; then
    PATH="$luister_tools/node/bin:$PATH"
fi
if [ -x "$repo/.venv/bin/python3" ]; then
    PATH="$repo/.venv/bin:$PATH"
fi
# Tools installed with `cargo install` (cargo-nextest, cargo-fuzz) when cargo is Debian's.
PATH="$PATH:$luister_tools:${CARGO_HOME:-${HOME:-/tmp}/.cargo}/bin"
export PATH
