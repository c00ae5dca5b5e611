#!/usr/bin/env python3
"""Replays on current ClickHouse (chDB) every statement the test suite ran on 18.16.

The test ClickHouse (scripts/clickhouse-test-server.sh) logs every query. After the
Rust, browser and tracker suites have run, this script reads the distinct successful
statements from its `system.query_log` and runs each one in chDB against the same
schema, so every SQL shape Luister sends (store, query layer, tests) is proven on the
modern side too. Data-carrying inserts (`FORMAT RowBinary`) and database management
are skipped: their statements have no data here. Exits non-zero if any statement fails.

Usage: python3 tests/chdb/replay_query_log.py --clickhouse http://127.0.0.1:PORT
"""

import argparse
import json
import re
import sys
import tempfile
import urllib.request

LOGGED_QUERY_LIMIT = 100_000

SKIP = [
    re.compile(r"^\s*(CREATE|DROP)\s+DATABASE", re.I),
    re.compile(r"FORMAT\s+RowBinary", re.I),
    # The log keeps an INSERT's text without its inline rows.
    re.compile(r"VALUES\s*$", re.I),
    re.compile(r"^\s*SYSTEM\s", re.I),
    re.compile(r"system\.query_log", re.I),
    # Test helpers that read a database by name.
    re.compile(r"currentDatabase\(\)", re.I),
]


def logged_statements(url):
    """Distinct successful statements, in the order they first ran."""
    def post(sql):
        with urllib.request.urlopen(urllib.request.Request(url, data=sql.encode())) as answer:
            return answer.read().decode()

    post("SYSTEM FLUSH LOGS")
    text = post(
        "SELECT query FROM system.query_log WHERE type = 2 AND is_initial_query "
        "ORDER BY event_time, query_start_time FORMAT JSONEachRow"
    )
    seen, ordered = set(), []
    # Split on newlines only: a logged query may hold other line separators (U+2028, \x1c…)
    # that str.splitlines() would cut it at.
    for line in filter(None, text.split("\n")):
        query = json.loads(line)["query"].strip()
        # ClickHouse 18.16 logs at most 100,000 characters of a query: a longer one
        # (the goal report over a site's 100 longest goals) cannot be replayed from it.
        if len(query) >= LOGGED_QUERY_LIMIT:
            continue
        if query and query not in seen and not any(p.search(query) for p in SKIP):
            seen.add(query)
            ordered.append(query)
    return ordered


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clickhouse", required=True, help="URL of the test ClickHouse that logged the queries")
    args = parser.parse_args()
    from chdb import session

    statements = logged_statements(args.clickhouse.rstrip("/") + "/")
    if len(statements) < 50:
        print(f"only {len(statements)} statements logged: did the test suite run against this server?")
        return 1
    failures = []
    with tempfile.TemporaryDirectory() as directory:
        chdb = session.Session(directory)
        chdb.query("CREATE DATABASE IF NOT EXISTS luister_replay")
        chdb.query("USE luister_replay")
        # Tests ran in parallel and the log's clock has whole seconds: create tables
        # first, then run the rest, and give a statement that failed a second chance
        # once everything else has run.
        ddl = [s for s in statements if re.match(r"\s*CREATE\s+TABLE", s, re.I)]
        rest = [s for s in statements if s not in ddl]
        retry = []
        for statement in ddl + rest:
            try:
                chdb.query(statement, "JSONCompact")
            except Exception:  # chDB raises its own error types
                retry.append(statement)
        for statement in retry:
            try:
                chdb.query(statement, "JSONCompact")
            except Exception as error:
                failures.append((statement, str(error).splitlines()[0]))
    for statement, error in failures[:30]:
        print(f"FAILED: {statement[:300]}\n    {error[:300]}")
    print(f"chDB replay of the 18.16 query log: {len(statements)} statements, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
