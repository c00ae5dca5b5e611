#!/usr/bin/env python3
"""Loads deploy/clickhouse/*.xml into current ClickHouse (chDB, pip chdb-core) the way
docker-compose.yml mounts them, and checks that they do what they say:

- the system log tables logs.xml drops are not created, the ones it keeps have a TTL;
  the per-query and per-second ones are dropped, and whatever is left has a TTL;
- every server setting in low-resources.xml is one ClickHouse knows and takes;
- every profile setting in low-resources-profile.xml is in force for queries.

The base configuration stands in for the image's config.xml: its system log sections,
by name, as ClickHouse 25.8 ships them. A control run without logs.xml shows that the
base does create those tables, so the check cannot pass by creating nothing.

  python3 tests/deploy/clickhouse_config.py
"""

import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SERVER_DIR = "/etc/clickhouse-server/"

# The system log sections of ClickHouse 25.8's stock config.xml.
STOCK_LOGS = [
    "query_log", "trace_log", "query_thread_log", "query_views_log", "part_log", "text_log",
    "metric_log", "latency_log", "error_log", "query_metric_log", "asynchronous_metric_log",
    "crash_log", "processors_profile_log", "asynchronous_insert_log", "backup_log",
    "s3queue_log", "blob_storage_log",
]

# Written at every query or every second, read by no one here: these must be gone.
MUST_DROP = [
    "query_thread_log", "query_views_log", "query_metric_log", "trace_log", "text_log",
    "metric_log", "latency_log", "asynchronous_metric_log", "processors_profile_log",
]
# Tables that may stay without a TTL: crash_log is normally empty; user_query_log is chDB's.
NO_TTL_NEEDED = {"crash_log", "user_query_log"}

PROBE = r"""
import json, sys, time, chdb
conn = chdb.connect(":memory:?config-file=" + sys.argv[1])
cur = conn.cursor()
cur.execute("SELECT 1"); cur.fetchall()
time.sleep(1.5)
cur.execute("SYSTEM FLUSH LOGS")
cur.execute("SELECT name, create_table_query FROM system.tables WHERE database = 'system' AND name LIKE '%\\_log'")
tables = {name: "TTL" in query for name, query in cur.fetchall()}
cur.execute("SELECT name, value, changed FROM system.server_settings")
server = {name: [value, changed] for name, value, changed in cur.fetchall()}
cur.execute("SELECT name, value FROM system.settings")
settings = dict(cur.fetchall())
print(json.dumps({"tables": tables, "server": server, "settings": settings}))
"""


def mounted_files():
    """(file in the repo, directory under /etc/clickhouse-server) from docker-compose.yml."""
    service = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["clickhouse"]
    mounts = []
    for volume in service.get("volumes", []):
        source, _, rest = volume.partition(":")
        target = rest.split(":")[0]
        if target.startswith(SERVER_DIR):
            subdir, name = target[len(SERVER_DIR):].split("/", 1)
            mounts.append((REPO / source, subdir, name))
    return mounts


def probe(mounts):
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "config.d").mkdir()
        (work / "users.d").mkdir()
        logs = "".join(
            f"<{t}><database>system</database><table>{t}</table>"
            f"<flush_interval_milliseconds>1000</flush_interval_milliseconds></{t}>"
            for t in STOCK_LOGS
        )
        (work / "config.xml").write_text(
            f"<clickhouse><users_config>{work / 'users.xml'}</users_config>{logs}</clickhouse>", encoding="utf-8"
        )
        (work / "users.xml").write_text(
            "<clickhouse><profiles><default/></profiles><users><default><profile>default</profile>"
            "<password/><networks><ip>::/0</ip></networks></default></users></clickhouse>",
            encoding="utf-8",
        )
        for source, subdir, name in mounts:
            shutil.copy(source, work / subdir / name)
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(work / "config.xml")],
            check=True, capture_output=True, text=True, timeout=300, cwd=work,
        ).stdout
        return json.loads(out.strip().splitlines()[-1])


def leaves(element, path=()):
    for child in element:
        if len(child):
            yield from leaves(child, path + (child.tag,))
        elif child.text is not None and child.text.strip():
            yield path + (child.tag,), child.text.strip()


def main():
    try:
        import chdb  # noqa: F401
    except ImportError:
        print("  chDB is required: python3 -m pip install chdb-core", file=sys.stderr)
        return 1
    mounts = mounted_files()
    if not mounts:
        print(f"  {COMPOSE.name} mounts no file into {SERVER_DIR}", file=sys.stderr)
        return 1
    problems = []
    logs_file = [m for m in mounts if m[0].name == "logs.xml"]
    if not logs_file:
        problems.append("docker-compose.yml does not mount deploy/clickhouse/logs.xml")

    try:
        control = probe([m for m in mounts if m[0].name != "logs.xml"])
        result = probe(mounts)
    except subprocess.CalledProcessError as error:
        lines = [line for line in error.stderr.splitlines() if line.strip()]
        print(f"  ClickHouse (chDB) refused the configuration: {lines[-1] if lines else error}",
              file=sys.stderr)
        return 1

    if logs_file:
        root = ET.parse(logs_file[0][0]).getroot()
        dropped = [e.tag for e in root if e.get("remove")]
        kept = [e.tag for e in root if e.find("ttl") is not None]
        created_by_base = [t for t in dropped if t in control["tables"]]
        if len(created_by_base) < 5:
            problems.append(f"the control run created only {created_by_base}: the check proves nothing")
        for table in dropped:
            if table in result["tables"]:
                problems.append(f"system.{table} is still created, though logs.xml removes it")
        for table in MUST_DROP:
            if table in result["tables"]:
                problems.append(f"system.{table} is created: logs.xml must remove it")
        for table, has_ttl in sorted(result["tables"].items()):
            if not has_ttl and table not in NO_TTL_NEEDED:
                problems.append(f"system.{table} is created without a TTL: remove it or give it one")
        for table in kept:
            if table not in result["tables"]:
                problems.append(f"system.{table} is not created, though logs.xml keeps it")
            elif not result["tables"][table]:
                problems.append(f"system.{table} has no TTL, though logs.xml sets one")

    for source, subdir, _name in mounts:
        root = ET.parse(source).getroot()
        if subdir == "config.d" and source.name != "logs.xml":
            for path, _value in leaves(root):
                if len(path) != 1:
                    continue  # a section such as send_crash_reports, not a setting
                name = path[0]
                if name not in result["server"]:
                    problems.append(f"{source.name}: {name} is not a ClickHouse server setting")
                elif not result["server"][name][1]:
                    problems.append(f"{source.name}: {name} did not take effect")
        if subdir == "users.d":
            for path, value in leaves(root):
                if path[:2] != ("profiles", "default"):
                    continue
                name = path[2]
                if name not in result["settings"]:
                    problems.append(f"{source.name}: {name} is not a ClickHouse setting")
                elif result["settings"][name] != value:
                    problems.append(f"{source.name}: {name} is {result['settings'][name]}, not {value}")

    if problems:
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    version = subprocess.run(
        [sys.executable, "-c", "import chdb; print(chdb.query('SELECT version()', 'TSV'))"],
        capture_output=True, text=True,
    ).stdout.strip()
    print(f"  ClickHouse {version} (chDB) loads {', '.join(m[0].name for m in mounts)}; "
          f"system log tables now: {', '.join(sorted(result['tables']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
