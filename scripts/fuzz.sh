#!/usr/bin/env bash
# Fuzzes Luister's parsers with cargo fuzz (libFuzzer): the Plausible and Matomo decoders,
# the import line, URLs and referrers, the query parameters and the personal-data
# scrubber. Each target runs for SECONDS (default 300; CI runs a short smoke with 20).
# A crash stops the run and leaves its input in fuzz/artifacts/<target>/: turn it into a
# regression test beside the code it broke, then fix the code.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET …]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/fuzz"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(plausible_decode matomo_decode import_line urls query_params pii_scrub)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi
# cargo fuzz passes -Z flags (sanitizer coverage); the stable compiler takes them this way.
export RUSTC_BOOTSTRAP=1
# AddressSanitizer needs its runtime in the toolchain: rustup's has it, Debian's rustc-web
# does not. Without it libFuzzer still runs (panics and aborts are still found).
sanitizer=address
if ! compgen -G "$(rustc --print sysroot)/lib/rustlib/*/lib/*asan*" >/dev/null; then
    echo "==> this Rust has no AddressSanitizer runtime: fuzzing without a sanitizer" >&2
    sanitizer=none
fi
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    echo "==> fuzzing $target for ${seconds}s" >&2
    log="$(mktemp)"
    if ! cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 2>"$log"; then
        tail -40 "$log" >&2
        echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)"
    summary+=("$target: ${runs:-?} executions in ${seconds}s")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
