#!/usr/bin/env bash
# Proves the README's quick start on a Debian 12 that has nothing but Debian's packages:
# builds a fresh bookworm root with debootstrap, puts a clean clone of this repository's
# HEAD in it and runs one of the README's two commands inside (as root, in a chroot).
#
#   sudo bash scripts/prove-fresh-debian.sh [test|run] [ROOT_DIR]
#
# `test` (default) runs `bash scripts/test.sh`; `run` runs `bash scripts/run.sh` until
# /ready answers, then stops it. Needs root, debootstrap (installed if missing) and
# Debian's package mirror; takes long (a cold Rust build plus the whole suite), so it is
# not part of the test suite. The log is ROOT_DIR.log; the root is kept for inspection
# (delete it with `rm -rf ROOT_DIR` once unmounted).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-test}"
root="${2:-/var/tmp/luister-fresh-debian}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
[ "$(id -u)" -eq 0 ] || { echo "prove-fresh-debian: run as root (debootstrap and chroot need it)" >&2; exit 2; }
case "$what" in test | run) ;; *) echo "usage: $0 [test|run] [ROOT_DIR]" >&2; exit 2 ;; esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
command -v debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

mounts=()
cleanup() {
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mkdir -p "$root$1" && mount --bind "$1" "$root$1" && mounts+=("$root$1"); }

if [ ! -x "$root/usr/bin/apt-get" ]; then
    say "debootstrap bookworm (minbase) into $root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
        || { tail -20 "$root.debootstrap.log" >&2; exit 1; }
fi
# What a Debian 12 install has: main, updates and the security archive.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
# No package may start its service inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
bind /sys
bind /dev
bind /dev/pts
mount -t tmpfs -o size=2g tmpfs "$root/dev/shm" && mounts+=("$root/dev/shm")

say "a clean clone of HEAD ($(git -C "$repo" rev-parse --short HEAD)) in $root/root/luister"
rm -rf "$root/root/luister"
git clone --quiet --no-local "$repo" "$root/root/luister"
# git is not in a fresh Debian either; the clone is made outside, as a user downloads it.

# Behind a TLS-inspecting proxy (as on this workplace's machines) the root must trust
# the proxy's CA, as the host does; the certificates in /usr/local/share/ca-certificates
# are copied in and every client is pointed at the system bundle. A machine on the open
# internet has no such CA, and this changes nothing there.
bundle=/etc/ssl/certs/ca-certificates.crt
inside() {
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        SSL_CERT_FILE="$bundle" PIP_CERT="$bundle" REQUESTS_CA_BUNDLE="$bundle" \
        NODE_EXTRA_CA_CERTS="$bundle" \
        /bin/bash -c "$1"
}
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    inside 'command -v update-ca-certificates >/dev/null || { apt-get update -qq && apt-get install -y -qq ca-certificates >/dev/null; }; update-ca-certificates >/dev/null'
fi
started=$(date +%s)
if [ "$what" = test ]; then
    say "bash scripts/test.sh inside (log: $root.log)"
    inside 'cd /root/luister && bash scripts/test.sh' >"$root.log" 2>&1 && status=0 || status=$?
else
    say "bash scripts/run.sh inside until /ready answers (log: $root.log)"
    inside 'cd /root/luister && (bash scripts/run.sh >/root/run.log 2>&1 &) ;
        for i in $(seq 1 1800); do
            if target/release/luister healthcheck --url http://127.0.0.1:8000/ready 2>/dev/null; then ok=1; break; fi
            sleep 2
        done
        pkill -TERM -f "luister serve" || true; sleep 5; cat /root/run.log; [ "${ok:-0}" = 1 ]' \
        >"$root.log" 2>&1 && status=0 || status=$?
fi
elapsed=$(($(date +%s) - started))
tail -5 "$root.log" >&2
if [ "$status" = 0 ]; then
    say "fresh Debian 12: '$what' passed in ${elapsed}s"
else
    say "fresh Debian 12: '$what' FAILED (exit $status) after ${elapsed}s; see $root.log"
fi
exit "$status"
