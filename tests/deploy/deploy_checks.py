#!/usr/bin/env python3
"""Static checks of the deployment files, called by tests/deploy/check_deploy.sh.

Each subcommand prints what it checked and exits 1 on the first kind of problem it finds
(listing every instance of it). Needs PyYAML and docker-py (Debian: python3-yaml and
python3-docker, both pulled in by the docker-compose package); no Docker daemon.

  metrics      every metric name in the alert rules and the Grafana dashboard is exported
  promql       the dashboard's expressions, written as recording rules for promtool
  dockerfile   HEALTHCHECK is exec form `luister healthcheck`; the final stage runs as non-root
  context      what the Dockerfile copies is in the build context and not ignored by git;
               .dockerignore keeps build output, dependencies and fetched data out
  compose      a compose file (`docker compose config` output): health checks, restart
               policies, bind-mounted files that exist
  xml          ClickHouse configuration files are well-formed <clickhouse> documents
  probes       every httpGet path of the Kubernetes probes is a route the server has
  envs         `luister config` accepts the environment of the image, the compose service
               and the Kubernetes ConfigMap (it rejects unknown LUISTER_* variables)
"""

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Metrics that come from elsewhere than Luister and may appear in rules and dashboards.
EXTERNAL_METRICS = {
    "up": "Prometheus (scrape status)",
    "node_filesystem_avail_bytes": "node-exporter",
    "node_filesystem_size_bytes": "node-exporter",
    "node_filesystem_readonly": "node-exporter",
}

PROMQL_KEYWORDS = {
    "and", "or", "unless", "bool", "by", "without", "on", "ignoring",
    "group_left", "group_right", "offset", "inf", "nan",
}

# Grafana's interval variables, replaced by a duration so promtool can parse the query.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


def fail(lines):
    for line in lines:
        print(f"  {line}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- metric names


def metrics_from_sources():
    """Names as the registry in crates/*/src exports them: prefix, plus histogram series."""
    names = set()
    prefix = None
    for path in sorted(REPO.glob("crates/*/src/**/*.rs")):
        text = path.read_text(encoding="utf-8")
        if "prometheus::" not in text and "use prometheus" not in text:
            continue
        found = re.search(r'Registry::new_custom\(\s*Some\(\s*"([a-z_]+)"', text)
        if found:
            prefix = found.group(1)
        for kind, name in re.findall(
            r'\b(HistogramOpts|Opts|IntCounter|IntGauge|Counter|Gauge)::new\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"',
            text,
        ):
            names.add((kind, name))
    if not names:
        fail(["no metric registrations found in crates/*/src (did the registration calls change?)"])
    exported = set()
    for kind, name in names:
        full = f"{prefix}_{name}" if prefix else name
        if kind == "HistogramOpts":
            exported.update({f"{full}_bucket", f"{full}_sum", f"{full}_count"})
        else:
            exported.add(full)
    return exported, "crates/*/src (registration calls)"


def metrics_from_url(url):
    """Names a running Luister exports, from its Prometheus text format."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode("utf-8")
    exported = set()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        exported.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    if not exported:
        fail([f"{url} exported no samples"])
    return exported, url


def metric_names_in(expr):
    """Metric names in a PromQL expression: identifiers outside strings, selectors,
    ranges and label lists that are neither functions nor keywords."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr
    )
    names = set()
    for match in re.finditer(r"(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        name = match.group(0)
        following = expr[match.end():].lstrip()
        if following.startswith("("):
            continue  # a function
        if name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def alert_expressions(path):
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            yield f"{path.relative_to(REPO)}: {name}", str(rule["expr"])


def dashboard_expressions(path):
    doc = json.loads(path.read_text(encoding="utf-8"))

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(doc.get("panels", [])):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield f"{path.relative_to(REPO)}: {panel.get('title')!r} {target.get('refId')}", target["expr"]


def cmd_metrics(args):
    exported, origin = metrics_from_sources()
    problems = []
    notes = []
    if args.metrics_url:
        # A running server confirms the list read from the sources. A labelled metric
        # shows no sample until its first labelled value (e.g. the first dropped event),
        # so a name may be missing there and still be exported.
        live, url = metrics_from_url(args.metrics_url)
        for name in sorted(live - exported):
            if name.startswith("luister_"):
                problems.append(f"{url} exports {name}, which the source scan missed: update metrics_from_sources")
        origin = f"{origin}, confirmed by {url}"
    else:
        live = None
    used = set()
    for where, expr in [*(w for path in args.rules for w in alert_expressions(Path(path).resolve())),
                        *(w for path in args.dashboards for w in dashboard_expressions(Path(path).resolve()))]:
        for name in metric_names_in(expr):
            used.add(name)
            if name not in exported and name not in EXTERNAL_METRICS:
                problems.append(f"{where}: {name} is not exported by Luister ({origin})")
            elif live is not None and name in exported and name not in live:
                notes.append(name)
    if not used:
        problems.append("no metric names found in the rules or dashboards")
    if problems:
        fail(problems)
    print(f"  {len(used)} metric names used, all among the {len(exported)} names from {origin} "
          f"or {sorted(EXTERNAL_METRICS)}")
    if notes:
        print(f"  no sample yet on the running server (labelled, not observed so far): {', '.join(sorted(set(notes)))}")


def cmd_promql(args):
    """Writes the dashboard's expressions as recording rules (for `promtool check rules`)."""
    import yaml

    rules = []
    for path in args.dashboards:
        for i, (_where, expr) in enumerate(dashboard_expressions(Path(path).resolve())):
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            if "$" in expr:
                fail([f"{path}: unknown Grafana variable in {expr}"])
            rules.append({"record": f"dashboard:expr_{i}", "expr": expr})
    Path(args.output).write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    print(f"  {len(rules)} dashboard expressions written to {args.output}")


# ---------------------------------------------------------------- Dockerfile


def dockerfile_instructions(path):
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    instructions = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    return instructions


def final_stage(instructions):
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def cmd_dockerfile(args):
    path = Path(args.dockerfile).resolve()
    instructions = dockerfile_instructions(path)
    problems = []

    healthchecks = [rest for word, rest in final_stage(instructions) if word == "HEALTHCHECK"]
    if len(healthchecks) != 1:
        problems.append(f"the final stage has {len(healthchecks)} HEALTHCHECK instructions, want 1")
    for rest in healthchecks:
        found = re.search(r"\bCMD\s+(.*)$", rest)
        command = found.group(1).strip() if found else ""
        try:
            argv = json.loads(command)
        except json.JSONDecodeError:
            argv = None
        if not isinstance(argv, list):
            problems.append(f"HEALTHCHECK is not exec form (CMD [\"luister\", \"healthcheck\", ...]): {rest}")
        elif argv[:2] != ["luister", "healthcheck"]:
            problems.append(f"HEALTHCHECK does not run `luister healthcheck`: {argv}")

    users = [rest for word, rest in final_stage(instructions) if word == "USER"]
    if not users:
        problems.append("the final stage sets no USER, so the container runs as root")
    else:
        user = users[-1].split(":")[0].strip()
        if user in ("root", "0", ""):
            problems.append(f"the final stage runs as root (USER {users[-1]})")
    if problems:
        fail(problems)
    print(f"  {path.relative_to(REPO)}: HEALTHCHECK {healthchecks[0]}; USER {users[-1]}")


# ---------------------------------------------------------------- build context


def copy_sources(instructions):
    """Sources of COPY/ADD instructions that read from the build context."""
    sources = []
    for word, rest in instructions:
        if word not in ("COPY", "ADD"):
            continue
        parts = rest.split()
        if any(p.startswith("--from=") for p in parts):
            continue
        parts = [p for p in parts if not p.startswith("--")]
        if parts and parts[0].startswith("["):
            parts = json.loads(" ".join(parts))
        sources.extend(parts[:-1])
    return sources


def build_context(root, dockerfile):
    """Files docker would send, per .dockerignore (docker-py's implementation of it)."""
    from docker.utils.build import exclude_paths

    patterns = []
    ignore = root / ".dockerignore"
    if ignore.exists():
        patterns = [
            line.strip()
            for line in ignore.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    return set(exclude_paths(str(root), patterns, dockerfile=str(dockerfile)))


def not_git_ignored(root):
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode("utf-8")
    return {p for p in out.split("\0") if p}


def in_set(path, files):
    """A file in the set, or a directory with at least one file of the set under it."""
    path = path.strip("/")
    return path in files or any(f.startswith(path + "/") for f in files)


def cmd_context(args):
    root = REPO
    dockerfile = Path(args.dockerfile).resolve()
    context = build_context(root, dockerfile.relative_to(root))
    tracked = not_git_ignored(root)
    problems = []

    needed = []
    for source in copy_sources(dockerfile_instructions(dockerfile)):
        if source in (".", "./"):
            continue
        needed.append((source, f"COPY in {dockerfile.relative_to(root)}"))
    # What cargo needs besides .rs files: every workspace member's manifest, and the files
    # that the sources embed with include_str!/include_bytes!.
    import tomllib

    workspace = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))["workspace"]
    for pattern in workspace.get("members", []):
        for member in sorted(root.glob(pattern)):
            if (member / "Cargo.toml").exists():
                needed.append((str((member / "Cargo.toml").relative_to(root)), "workspace member"))
    needed.append(("Cargo.lock", "cargo build --locked"))
    for source in sorted(root.glob("crates/*/src/**/*.rs")):
        for included in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)', source.read_text(encoding="utf-8")):
            target = os.path.normpath(source.parent / included)
            needed.append((os.path.relpath(target, root), f"include_str! in {source.relative_to(root)}"))

    for path, why in needed:
        if not in_set(path, tracked):
            problems.append(f"{path} ({why}) is missing or ignored by git: a clean clone has no such file")
        elif not in_set(path, context):
            problems.append(f"{path} ({why}) is excluded from the build context by .dockerignore")

    for excluded in args.must_exclude:
        leaked = sorted(f for f in context if f == excluded or f.startswith(excluded.rstrip("/") + "/")
                        or f"/{excluded.rstrip('/')}/" in f"/{f}")
        if leaked:
            problems.append(f"{excluded} is in the build context ({len(leaked)} files, e.g. {leaked[0]})")
    if problems:
        fail(problems)
    print(f"  {len(needed)} needed paths in the context of {len(context)} files; "
          f"kept out: {', '.join(args.must_exclude)}")


# ---------------------------------------------------------------- compose


def cmd_compose(args):
    import yaml

    doc = yaml.safe_load(sys.stdin.read())
    services = doc.get("services", {})
    problems = []
    for name in args.expect_services:
        if name not in services:
            problems.append(f"service {name} is missing")
    for name, service in services.items():
        if not service.get("restart"):
            problems.append(f"service {name} has no restart policy")
        test = (service.get("healthcheck") or {}).get("test")
        if not test:
            problems.append(f"service {name} has no health check")
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source = volume.split(":")[0]
                kind = "bind" if source.startswith(("/", ".")) else "volume"
            else:
                source, kind = volume.get("source", ""), volume.get("type")
            if kind == "bind" and source != "/" and not Path(source).exists():
                problems.append(f"service {name} mounts {source}, which does not exist")
    luister = services.get("luister", {})
    test = (luister.get("healthcheck") or {}).get("test") or []
    if luister and test[:3] != ["CMD", "luister", "healthcheck"]:
        problems.append(f"service luister's health check is not [CMD, luister, healthcheck, ...]: {test}")
    if problems:
        fail(problems)
    print(f"  services {', '.join(services)}: each has a restart policy and a health check; "
          f"bind-mounted files exist")


# ---------------------------------------------------------------- ClickHouse XML


def cmd_xml(args):
    problems = []
    for path in args.files:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as error:
            problems.append(f"{path}: {error}")
            continue
        if root.tag != "clickhouse":
            problems.append(f"{path}: root element is <{root.tag}>, want <clickhouse>")
    if problems:
        fail(problems)
    print(f"  {len(args.files)} files are well-formed <clickhouse> documents")


# ---------------------------------------------------------------- Kubernetes probes


def cmd_probes(args):
    import yaml

    routes = set()
    for source in sorted(REPO.glob("crates/luister-server/src/**/*.rs")):
        routes.update(re.findall(r'\.route\(\s*"(/[^"]*)"', source.read_text(encoding="utf-8")))
    problems = []
    probes = 0
    for path in args.manifests:
        for doc in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
            if not doc or doc.get("kind") != "Deployment":
                continue
            for container in doc["spec"]["template"]["spec"]["containers"]:
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    get = (container.get(probe) or {}).get("httpGet")
                    if not get:
                        continue
                    probes += 1
                    if get["path"] not in routes:
                        problems.append(f"{path}: {container['name']} {probe} asks {get['path']}, "
                                        f"not a route of crates/luister-server ({sorted(routes)})")
    if not probes:
        problems.append("no httpGet probes found")
    if problems:
        fail(problems)
    print(f"  {probes} probes ask routes the server has")


# ---------------------------------------------------------------- environments


def dockerfile_env(path):
    env = {}
    for word, rest in final_stage(dockerfile_instructions(path)):
        if word == "ENV":
            for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', rest):
                env[key] = value.strip('"')
    return env


def cmd_envs(args):
    import yaml

    image = dockerfile_env(Path(args.dockerfile).resolve())
    compose = yaml.safe_load(Path(args.compose_config).read_text(encoding="utf-8"))
    service = {k: str(v) for k, v in (compose["services"]["luister"].get("environment") or {}).items()}
    configmap = {}
    for doc in yaml.safe_load_all(Path(args.configmap).read_text(encoding="utf-8")):
        if doc and doc.get("kind") == "ConfigMap":
            configmap.update(doc.get("data") or {})
    # The Secret's keys as deploy/k8s/deployment.yaml's comment creates it.
    secret = {"LUISTER_CLICKHOUSE_PASSWORD": "x", "LUISTER_ADMIN_TOKEN": "y"}
    cases = {
        "image": image,
        "compose (image + service)": {**image, **service},
        "kubernetes (image + ConfigMap + Secret)": {**image, **configmap, **secret},
        "a deliberate typo (must be refused)": {**image, "LUISTER_LISTNE": "0.0.0.0:8000"},
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("LUISTER_")}
    problems = []
    for name, env in cases.items():
        run = subprocess.run([args.luister, "config"], env={**base, **env}, capture_output=True,
                             text=True, cwd="/", timeout=60)
        refused = run.returncode != 0
        if refused != name.startswith("a deliberate typo"):
            detail = run.stderr.strip().splitlines()[-1:] or ["accepted"]
            problems.append(f"{name}: luister config {'refused' if refused else 'accepted'} it: {detail[0]}")
    if problems:
        fail(problems)
    print(f"  luister config accepts {', '.join(list(cases)[:3])}, and refuses a typo")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("metrics")
    p.add_argument("--rules", nargs="*", default=[])
    p.add_argument("--dashboards", nargs="*", default=[])
    p.add_argument("--metrics-url", default=os.environ.get("METRICS_URL"))
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("promql")
    p.add_argument("--dashboards", nargs="+", required=True)
    p.add_argument("--output", required=True)
    p.set_defaults(func=cmd_promql)

    p = sub.add_parser("dockerfile")
    p.add_argument("dockerfile")
    p.set_defaults(func=cmd_dockerfile)

    p = sub.add_parser("context")
    p.add_argument("dockerfile")
    p.add_argument("--must-exclude", nargs="*", default=[])
    p.set_defaults(func=cmd_context)

    p = sub.add_parser("compose")
    p.add_argument("--expect-services", nargs="*", default=[])
    p.set_defaults(func=cmd_compose)

    p = sub.add_parser("xml")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_xml)

    p = sub.add_parser("envs")
    p.add_argument("--luister", required=True)
    p.add_argument("--dockerfile", required=True)
    p.add_argument("--compose-config", required=True)
    p.add_argument("--configmap", required=True)
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser("probes")
    p.add_argument("manifests", nargs="+")
    p.set_defaults(func=cmd_probes)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
