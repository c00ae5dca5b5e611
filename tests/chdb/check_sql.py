#!/usr/bin/env python3
"""Runs Luister's schema and every query shape of its SQL compiler on current ClickHouse (chDB).

The shapes come from `cargo run -q -p luister-query --example dump_sql` (one JSON object
per line: kind, name, sql). The script creates the schema, inserts a small sample of events,
derives their visits into `sessions` (the schema's own rebuild statement) and adds unmerged
state/cancel pairs there (as live ingestion leaves them before ClickHouse merges), runs
every query, and exits non-zero if any statement fails.

With `--clickhouse http://127.0.0.1:8123` the same statements also run on that server
(e.g. the 18.16 of the test suite) and both answers must be equal, row for row.

Usage:
    pip install chdb-core
    python3 tests/chdb/check_sql.py [--shapes FILE] [--clickhouse URL]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATABASE = "luister_chdb_check"

# Unix seconds of 2026-10-27..2026-11-02 (the dump's scope is 7 days ending 2 November, Amsterdam).
T0 = 1793574000 - 6 * 86400

SAMPLE_COLUMNS = (
    "site_id, timestamp, event_id, name, visitor_id, session_id, hostname, pathname, "
    "referrer_source, country_code, city, utm_campaign, search_term, search_results, "
    "`props.key`, `props.value`, interactive, scroll_depth"
)


def sample_rows():
    """A few visits that make every shape return rows: pages, goals, searches, props."""
    rows = []
    visits = [
        (1, 11, "Google", "NL", ["/", "/schulden/hulp", "/zoeken", "/klaar/x/y"], ["huur", ""]),
        (2, 21, "Bing", "BE", ["/a1", "/zoeken", "/b"], ["huur", "paspoort"]),
        (3, 31, "Direct / None", "DE", ["/exact", "/schulden/x"], []),
    ]
    event_id = 1
    for day in range(0, 7, 3):
        for visitor, session, source, country, pages, terms in visits:
            t = T0 + day * 86400 + 36000
            for i, page in enumerate(pages):
                term = terms[i % len(terms)] if page == "/zoeken" and terms else ""
                rows.append((visitor, session + day, t + 60 * i, "pageview", page, source, country, term, 0 if i % 2 else 3, [], []))
                event_id += 1
            rows.append((visitor, session + day, t + 600, "Aanvraag", pages[-1], source, country, "", -1, ["wijk"], ["Noord"]))
            rows.append((visitor, session + day, t + 700, "search", pages[-1], source, country, "huur", 0, [], []))
            rows.append((visitor, session + day, t + 800, "engagement", pages[-1], source, country, "", -1, [], []))
    values = []
    for n, (visitor, session, ts, name, page, source, country, term, results, keys, vals) in enumerate(rows):
        values.append(
            f"('enschede.nl', {ts}, {n + 1}, '{name}', {visitor}, {session}, 'enschede.nl', '{page}', "
            f"'{source}', '{country}', 'Enschede', 'nov', '{term}', {results}, {keys!r}, {vals!r}, 1, "
            f"{80 if name == 'engagement' else 255})"
        )
    return f"INSERT INTO events ({SAMPLE_COLUMNS}) VALUES " + ", ".join(values)


SESSION_COLUMNS = (
    "site_id, session_id, visitor_id, sign, event_id, started_at, ended_at, pageviews, events, "
    "interactions, entry_page, exit_page, hostname, referrer, referrer_source, channel, utm_source, "
    "utm_medium, utm_campaign, utm_content, utm_term, country_code, region, city, browser, "
    "browser_version, os, os_version, device"
)


def transient_session_states():
    """For every visit, an earlier state and the row that cancels it: both must be invisible."""
    earlier = SESSION_COLUMNS.replace("sign, event_id, started_at, ended_at, pageviews, events, interactions, entry_page, exit_page",
                                      "toInt8(s), event_id + 1000000, started_at, started_at, toUInt32(1), toUInt32(1), toUInt32(0), entry_page, '/b'")
    return f"INSERT INTO sessions ({SESSION_COLUMNS}) SELECT {earlier} FROM sessions ARRAY JOIN [1, -1] AS s"


def load_shapes(path):
    if path:
        text = Path(path).read_text()
    else:
        text = subprocess.run(
            ["cargo", "run", "-q", "-p", "luister-query", "--example", "dump_sql"],
            cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Chdb:
    name = "chdb"

    def __init__(self):
        from chdb import session  # noqa: PLC0415 (optional dependency)

        self.dir = tempfile.TemporaryDirectory(prefix="luister-chdb-")
        self.session = session.Session(self.dir.name)
        self.session.query(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        self.session.query(f"USE {DATABASE}")

    def run(self, sql):
        result = self.session.query(sql, "JSONCompact")
        text = result.bytes().decode() if hasattr(result, "bytes") else str(result)
        return json.loads(text)["data"] if text.strip() else []

    def version(self):
        return self.run("SELECT version()")[0][0]


class Http:
    name = "clickhouse"

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.settings = {}
        major = self.post("", "SELECT version()").strip().split(".")[0]
        if major.isdigit() and int(major) < 19:
            # As luister-store does: 18.x needs this for LowCardinality; current releases reject it.
            self.settings["allow_experimental_low_cardinality_type"] = "1"
        self.post("", f"DROP DATABASE IF EXISTS {DATABASE}")
        self.post("", f"CREATE DATABASE {DATABASE}")

    def post(self, database, sql):
        params = dict(getattr(self, "settings", {}))
        if database:
            params["database"] = database
        query = urllib.parse.urlencode(params)
        req = urllib.request.Request(f"{self.url}/?{query}", data=sql.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.read().decode()
        except urllib.error.HTTPError as e:
            raise RuntimeError(e.read().decode().strip()) from None

    def run(self, sql):
        text = self.post(DATABASE, sql + " FORMAT JSONCompact" if sql.lstrip().upper().startswith("SELECT") else sql)
        return json.loads(text)["data"] if text.strip() else []

    def version(self):
        return self.run("SELECT version()")[0][0]

    def close(self):
        self.post("", f"DROP DATABASE IF EXISTS {DATABASE}")


def normalise(value):
    """JSON answers differ in quoting of 64-bit integers between releases; compare values."""
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def run_all(runner, shapes):
    failures, answers = [], {}
    for shape in shapes:
        if shape["kind"] == "migration":
            try:
                runner.run(shape["sql"])
            except Exception as e:  # noqa: BLE001 (report every failure)
                failures.append((shape["name"], str(e)))
    runner.run(sample_rows())
    for shape in shapes:
        if shape["kind"] == "migration" and shape["sql"].startswith("INSERT INTO sessions"):
            runner.run(shape["sql"])
    runner.run(transient_session_states())
    # Statements that write (building rollups of the sample): run once, before the queries.
    for shape in shapes:
        if shape["kind"] == "statement":
            try:
                runner.run(shape["sql"])
            except Exception as e:  # noqa: BLE001
                failures.append((shape["name"], f"{e}\n    {shape['sql'][:400]}"))
    for shape in shapes:
        if shape["kind"] != "query":
            continue
        key = (shape["name"], shape["sql"])
        try:
            answers[key] = normalise(runner.run(shape["sql"]))
        except Exception as e:  # noqa: BLE001
            failures.append((shape["name"], f"{e}\n    {shape['sql'][:400]}"))
    return failures, answers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", help="JSON-lines file from the dump_sql example (default: run it)")
    parser.add_argument("--clickhouse", help="also run on this ClickHouse HTTP URL and compare answers")
    args = parser.parse_args()
    shapes = load_shapes(args.shapes)
    queries = sum(1 for s in shapes if s["kind"] == "query")
    runners = [Chdb()]
    if args.clickhouse:
        runners.append(Http(args.clickhouse))
    results = {}
    failed = False
    for runner in runners:
        failures, answers = run_all(runner, shapes)
        results[runner.name] = answers
        print(f"{runner.name} {runner.version()}: {len(shapes) - queries} schema statements, {queries} queries, "
              f"{len(failures)} failed")
        for name, error in failures:
            print(f"  FAIL {name}: {error}")
        failed |= bool(failures)
        if hasattr(runner, "close"):
            runner.close()
    if len(results) == 2:
        a, b = results.values()
        differ = [k for k in a if k in b and a[k] != b[k]]
        print(f"answers compared: {len(set(a) & set(b))}, different: {len(differ)}")
        for name, _sql in differ[:20]:
            print(f"  DIFF {name}: chdb {a[(name, _sql)][:3]} vs clickhouse {b[(name, _sql)][:3]}")
        failed |= bool(differ)
    empty = sum(1 for v in results["chdb"].values() if not v)
    print(f"queries with an empty answer on chdb: {empty}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
