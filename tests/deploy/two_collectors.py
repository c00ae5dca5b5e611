#!/usr/bin/env python3
"""Two Luister collectors behind Debian's nginx, configured from deploy/nginx/luister.conf.

Checks what the shipped configuration promises:
  (a) sessions stay whole: every request of a client reaches one collector, so each
      client's multi-page visit is one visitor and one visit, and the query API counts
      as many visitors and visits as there were clients;
  (b) salts are shared through ClickHouse: one client sent straight to each collector
      gets the same visitor id from both;
  (c) one collector killed (SIGKILL) under load: the other takes over, and every event
      answered 202 is stored exactly once after the killed collector was restarted with
      its spool. Failed requests are allowed, counted and reported.

The clients are loopback addresses 127.0.N.1 with distinct third octets, because
ip_hash keys on the first three octets of an IPv4 address (Linux routes all of
127.0.0.0/8 to lo). Only loopback is used. Python 3 standard library only; needs
`nginx` and `openssl` (Debian: `apt-get install -y nginx openssl`) and a built
`luister` (LUISTER_BIN, else target/debug/luister). ClickHouse: LUISTER_TEST_CLICKHOUSE_URL,
else scripts/clickhouse-test-server.sh starts one.

    python3 tests/deploy/two_collectors.py [--balance ip_hash|consistent]

Exit status: 0 all checks passed, 1 a check failed, 2 something needed is missing.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONF = REPO / "deploy" / "nginx" / "luister.conf"
SITE = "twee.gemeente.test"
ADMIN_TOKEN = "two-collectors-test-token-0123456789abcdef"
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36")
CLIENTS = 40            # client n has address 127.0.(10+n).1
PAGES_PER_VISIT = 5     # phase (a)
LOAD_SECONDS = 14.0     # phase (c): kill after 2 s, restart 2 s later
KILL_AFTER = 2.0
DOWN_FOR = 2.0
PAUSE = 0.1             # between one client's requests in phase (c)


class CheckFailed(Exception):
    pass


class Missing(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quietly(fn, *args, **kwargs):
    """For clean-up: one step that fails must not keep the next from running."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - reported, then the next step runs
        print(f"clean-up: {getattr(fn, '__name__', fn)}: {e}", file=sys.stderr)


def client_addr(n):
    return f"127.0.{10 + n}.1"


# --- ClickHouse --------------------------------------------------------------------

class ClickHouse:
    def __init__(self, stack):
        self.url = os.environ.get("LUISTER_TEST_CLICKHOUSE_URL", "").rstrip("/")
        self.database = f"luister_two_collectors_{os.getpid()}_{int(time.time())}"
        if not self.url:
            self.url = self._start(stack)
        stack.callback(quietly, self.query, f"DROP DATABASE IF EXISTS {self.database}",
                       database="")

    def _start(self, stack):
        script = REPO / "scripts" / "clickhouse-test-server.sh"
        proc = subprocess.Popen(["bash", str(script)], stdout=subprocess.PIPE, text=True)
        line = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(90)
        if not line or not line[0].strip():
            proc.kill()
            raise Missing(f"{script} did not print `<pid> <url>` (is clickhouse-server installed?)")
        pid, url = line[0].split()
        proc.stdout.close()
        proc.wait(10)
        stack.callback(quietly, stop_script_server, int(pid))
        return url

    def query(self, sql, database=None):
        db = self.database if database is None else database
        url = f"{self.url}/?" + urllib.parse.urlencode({"database": db} if db else {})
        with urllib.request.urlopen(url, data=sql.encode(), timeout=30) as resp:
            return resp.read().decode()

    def rows(self, sql):
        return [json.loads(l) for l in self.query(sql + " FORMAT JSONEachRow").splitlines() if l]


def children_of(pid):
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def stop_script_server(pid):
    """The script's subshell runs clickhouse-server and removes its data dir after it."""
    for kid in children_of(pid):
        try:
            os.kill(kid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists():
        for kid in children_of(pid) + [pid]:
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- Luister -----------------------------------------------------------------------

def luister_env(ch, extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUISTER_")}
    env["LUISTER_DATA_FILES"] = os.environ.get("LUISTER_DATA_FILES", str(REPO / "vendor-data"))
    env.update({
        "LUISTER_CLICKHOUSE_URL": ch.url,
        "LUISTER_CLICKHOUSE_DATABASE": ch.database,
        "LUISTER_ADMIN_TOKEN": ADMIN_TOKEN,
        # nginx connects from 127.0.0.1: its X-Forwarded-For is believed, nobody else's.
        "LUISTER_TRUSTED_PROXIES": "127.0.0.1",
        "LUISTER_RATE_LIMIT_COLLECTOR_PER_CLIENT": "0",
        "LUISTER_LOG": "warn",
    })
    env.update(extra)
    return env


class Collector:
    def __init__(self, name, binary, env, workdir):
        self.name, self.binary = name, binary
        self.port = free_port()
        self.data_dir = workdir / f"data-{name}"
        self.log = workdir / f"collector-{name}.log"
        self.env = {**env, "LUISTER_LISTEN": f"127.0.0.1:{self.port}",
                    "LUISTER_DATA_DIR": str(self.data_dir)}
        self.proc = None

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, cwd=REPO,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CheckFailed(f"collector {self.name} exited with {self.proc.returncode}; "
                                  f"log:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise CheckFailed(f"collector {self.name} not ready after {timeout}s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values

    def received(self):
        return int(self.metrics().get('luister_events_received_total{source="plausible"}', 0))


# --- nginx -------------------------------------------------------------------------

def substitute(pattern, repl, text, expected=1):
    new, n = re.subn(pattern, repl, text, flags=re.M)
    if n != expected:
        raise CheckFailed(f"deploy/nginx/luister.conf changed shape: {pattern!r} matched {n} "
                          f"times, the test expects {expected}")
    return new


def derive_nginx_conf(shipped, collectors, https_port, http_port, workdir, balance):
    """The shipped file with loopback addresses, test certificates and logs in workdir."""
    m = re.search(r"^upstream\s+(\w+)\s*\{(.*?)^\}", shipped, flags=re.M | re.S)
    if not m:
        raise CheckFailed("deploy/nginx/luister.conf has no upstream block")
    body = m.group(2)
    servers = list(re.finditer(r"^(\s*)server\s+\S+:\d+((?:\s+[^;\s]+)*)\s*;\n", body, re.M))
    if len(servers) < 2:
        raise CheckFailed("the shipped upstream must list at least two collectors")
    indent, params = servers[0].group(1), servers[0].group(2)
    ours = "".join(f"{indent}server 127.0.0.1:{c.port}{params};\n" for c in collectors)
    body = body[:servers[0].start()] + ours + body[servers[-1].end():]
    if balance == "consistent":
        body = substitute(r"^(\s*)ip_hash;", r"\1hash $binary_remote_addr consistent;", body)
    else:
        substitute(r"^\s*ip_hash;", "", body)  # must be there
    conf = shipped[:m.start(2)] + body + shipped[m.end(2):]
    for name in re.findall(r"proxy_pass\s+http://(\w+)", conf):
        if name != m.group(1):
            raise CheckFailed(f"proxy_pass to {name}, not the upstream {m.group(1)}")
    conf = substitute(r"^\s*listen\s+\[::\]:\d+[^;]*;\n", "", conf, expected=2)
    conf = substitute(r"^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{http_port};", conf)
    conf = substitute(r"^(\s*)listen\s+443(\s[^;]*)?;", rf"\1listen 127.0.0.1:{https_port}\2;",
                      conf)
    conf = substitute(r"^(\s*ssl_certificate)\s+\S+;", rf"\1 {workdir}/cert.pem;", conf)
    conf = substitute(r"^(\s*ssl_certificate_key)\s+\S+;", rf"\1 {workdir}/key.pem;", conf)
    conf = conf.replace("/var/log/nginx/", f"{workdir}/")
    temp = "\n".join(f"    {kind}_temp_path {workdir}/{kind}-temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (workdir / "luister.conf").write_text(conf)
    return (f"daemon off;\nworker_processes 2;\npid {workdir}/nginx.pid;\n"
            f"error_log {workdir}/error.log notice;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n{temp}\n    access_log off;\n    include {workdir}/luister.conf;\n}}\n")


def start_nginx(stack, collectors, workdir, balance):
    # scripts/setup.sh --test unpacks Debian's nginx binary there (no service started).
    tools = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "luister" / "tools"
    nginx = (os.environ.get("NGINX") or shutil.which("nginx")
             or shutil.which("nginx", path=f"/usr/sbin:{tools}"))
    if not nginx:
        raise Missing("nginx not found: install Debian's nginx (`apt-get install -y nginx`; "
                      "then `systemctl disable --now nginx` if it started one)")
    if not shutil.which("openssl"):
        raise Missing("openssl not found: `apt-get install -y openssl`")
    ngx_dir = workdir / "nginx"
    ngx_dir.mkdir()
    if os.geteuid() == 0:
        ngx_dir.chmod(0o711)  # workers run as nobody and create nothing but temp files here
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=analytics.gemeente.example",
                    "-keyout", str(ngx_dir / "key.pem"), "-out", str(ngx_dir / "cert.pem")],
                   check=True, capture_output=True)
    https_port, http_port = free_port(), free_port()
    conf = derive_nginx_conf(SHIPPED_CONF.read_text(), collectors, https_port, http_port,
                             ngx_dir, balance)
    (ngx_dir / "nginx.conf").write_text(conf)
    args = [nginx, "-p", f"{ngx_dir}/", "-c", str(ngx_dir / "nginx.conf"),
            "-e", str(ngx_dir / "error.log")]
    test = subprocess.run(args + ["-t"], capture_output=True, text=True)
    if test.returncode != 0:
        raise CheckFailed(f"nginx -t refused the derived configuration:\n{test.stderr}")
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)

    def stop():
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    stack.callback(quietly, stop)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            return https_port, ngx_dir
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise CheckFailed(f"nginx did not start; see {ngx_dir}/error.log:\n"
                                  f"{(ngx_dir / 'error.log').read_text()[-2000:]}")
            time.sleep(0.05)


# --- clients -----------------------------------------------------------------------

TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


class Client:
    """One visitor: one source address, one kept-alive TLS connection to nginx."""

    def __init__(self, n, port):
        self.n, self.addr, self.port, self.conn = n, client_addr(n), port, None

    def send(self, path):
        """Posts one pageview; the status, or an error text when no answer came."""
        body = json.dumps({"n": "pageview", "u": f"https://{SITE}{path}", "d": SITE, "r": None})
        headers = {"Content-Type": "text/plain", "User-Agent": UA}
        try:
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=15,
                                                        context=TLS,
                                                        source_address=(self.addr, 0))
            self.conn.request("POST", "/api/event", body, headers)
            resp = self.conn.getresponse()
            resp.read()
            if resp.will_close:
                self.close()
            return resp.status
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return f"{type(e).__name__}: {e}"

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def send_direct(collector, client_ip, path):
    """Straight to one collector, as if from nginx for `client_ip` (127.0.0.1 is trusted)."""
    conn = http.client.HTTPConnection("127.0.0.1", collector.port, timeout=10)
    body = json.dumps({"n": "pageview", "u": f"https://{SITE}{path}", "d": SITE, "r": None})
    conn.request("POST", "/api/event", body, {"Content-Type": "text/plain", "User-Agent": UA,
                                               "X-Forwarded-For": client_ip})
    status = conn.getresponse().status
    conn.close()
    return status


def api_aggregate(port):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=TLS)
    conn.request("GET", f"/api/v1/stats/aggregate?site_id={SITE}&period=day"
                        "&metrics=visitors,visits,pageviews",
                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    if resp.status != 200:
        raise CheckFailed(f"query API answered {resp.status}: {body}")
    return {k: v["value"] for k, v in json.loads(body)["results"].items()}


def wait_stored(ch, prefix, at_least, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        stored = int(ch.query(f"SELECT count() FROM events WHERE pathname LIKE '{prefix}%'"))
        if stored >= at_least or time.monotonic() > deadline:
            return stored
        time.sleep(0.25)


# --- the checks --------------------------------------------------------------------

def check(failures, ok, message):
    print(f"  {'ok  ' if ok else 'FAIL'} {message}")
    if not ok:
        failures.append(message)


def phase_sessions(ch, collectors, port, failures):
    """(a): every client's visit reaches one collector and is one visit."""
    print(f"(a) {CLIENTS} clients, {PAGES_PER_VISIT} pageviews each, through nginx")
    clients = [Client(n, port) for n in range(CLIENTS)]
    owner, before = {}, [c.received() for c in collectors]
    for client in clients:  # one at a time, to see which collector each lands on
        status = client.send(f"/c{client.n}/p0")
        after = [c.received() for c in collectors]
        moved = [i for i in range(len(collectors)) if after[i] != before[i]]
        if status != 202 or len(moved) != 1:
            raise CheckFailed(f"first pageview of {client.addr}: {status}, collectors {moved}")
        owner[client.n], before = moved[0], after
    statuses = []

    def visit(client):
        for j in range(1, PAGES_PER_VISIT):
            statuses.append(client.send(f"/c{client.n}/p{j}"))
            time.sleep(0.05)
        client.close()
    threads = [threading.Thread(target=visit, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    sent = CLIENTS * PAGES_PER_VISIT
    bad = [s for s in statuses if s != 202]
    check(failures, not bad, f"{sent} pageviews answered 202 ({len(bad)} not: {bad[:3]})")
    share = [sum(1 for o in owner.values() if o == i) for i in range(len(collectors))]
    expected = [n * PAGES_PER_VISIT for n in share]
    got = [c.received() for c in collectors]
    check(failures, got == expected and all(share),
          f"clients per collector {share}; events per collector {got}, "
          f"expected {expected} if every client stays on its collector")
    stored = wait_stored(ch, "/c", sent)
    check(failures, stored == sent, f"{stored} of {sent} pageviews stored")
    rows = ch.rows("SELECT pathname, toString(visitor_id) AS v, toString(session_id) AS s "
                   "FROM events WHERE pathname LIKE '/c%'")
    per_client = {}
    for r in rows:
        per_client.setdefault(r["pathname"].split("/")[1], []).append(r)
    split = [k for k, rs in per_client.items()
             if len({r["v"] for r in rs}) != 1 or len({r["s"] for r in rs}) != 1]
    visitors = {r["v"] for r in rows}
    check(failures, not split and len(visitors) == CLIENTS,
          f"one visitor and one session id per client: {len(visitors)} visitors, "
          f"{len(split)} clients split {split[:3]}")
    # A batch's visit rows are a second INSERT after its events: wait for them too.
    deadline = time.monotonic() + 15
    while True:
        open_visits = int(ch.query("SELECT count() FROM (SELECT session_id FROM sessions "
                                   "GROUP BY session_id HAVING sum(sign) > 0)"))
        if open_visits >= CLIENTS or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    check(failures, open_visits == CLIENTS, f"sessions table: {open_visits} visits")
    agg = api_aggregate(port)
    want = {"visitors": CLIENTS, "visits": CLIENTS, "pageviews": sent}
    check(failures, agg == want, f"query API through nginx: {agg}, expected {want}")
    return owner, share


def phase_salts(ch, collectors, failures):
    """(b): the same client straight to each collector gets one visitor id."""
    print("(b) one client sent straight to each collector")
    for c in collectors:
        status = send_direct(c, "127.0.250.1", f"/direct/{c.name}")
        check(failures, status == 202, f"collector {c.name} answered {status}")
    wait_stored(ch, "/direct/", len(collectors))
    ids = {r["pathname"]: r["v"] for r in ch.rows(
        "SELECT pathname, toString(visitor_id) AS v FROM events WHERE pathname LIKE '/direct/%'")}
    check(failures, len(ids) == len(collectors) and len(set(ids.values())) == 1,
          f"visitor ids {sorted(set(ids.values()))} (one expected)")
    dup = ch.rows("SELECT rotation, toString(period_start) AS day, count() AS n FROM salts "
                  "GROUP BY rotation, period_start HAVING n > 1")
    salts = int(ch.query("SELECT count() FROM salts"))
    print(f"  info {salts} salt rows in ClickHouse")
    if dup:
        print(f"  warn {len(dup)} salt periods have more than one row (the collectors, started "
              f"together, both created one): {[(d['rotation'], d['day']) for d in dup]}")
    return dup


def phase_kill(ch, collectors, owner, port, failures):
    """(c): SIGKILL the busiest collector under load, restart it, count every event."""
    share = [sum(1 for o in owner.values() if o == i) for i in range(len(collectors))]
    v = max(range(len(collectors)), key=lambda i: share[i])
    victim = collectors[v]
    print(f"(c) load from {CLIENTS} clients for {LOAD_SECONDS:.0f}s; SIGKILL collector "
          f"{victim.name} after {KILL_AFTER:.0f}s, restart it {DOWN_FOR:.0f}s later")
    results, lock = [], threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS

    def load(client):
        j = 0
        while time.monotonic() < stop_at:
            start = time.monotonic()
            status = client.send(f"/k{client.n}/p{j}")
            with lock:
                results.append((client.n, f"/k{client.n}/p{j}", status, start))
            j += 1
            time.sleep(PAUSE)
        client.close()
    base = [c.received() for c in collectors]
    threads = [threading.Thread(target=load, args=(Client(n, port),), daemon=True)
               for n in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(KILL_AFTER)
    victim_metrics = victim.metrics()
    victim.kill()
    t_kill = time.monotonic()
    with lock:
        victim_acked = {p for n, p, s, t in results if owner[n] == v and s == 202 and t < t_kill}
    in_clickhouse = {r["pathname"] for r in ch.rows(
        "SELECT pathname FROM events WHERE pathname LIKE '/k%'")}
    unflushed = len(victim_acked - in_clickhouse)  # only in the victim's spool now
    time.sleep(DOWN_FOR)
    victim.start()
    victim.wait_ready()
    t_back = time.monotonic()
    for t in threads:
        t.join(LOAD_SECONDS + 30)
    received = [c.received() - (0 if i == v else base[i]) for i, c in enumerate(collectors)]
    before_kill = victim_metrics.get('luister_events_received_total{source="plausible"}', 0)
    received[v] += int(before_kill) - base[v]

    acked = {p for _, p, s, _ in results if s == 202}
    sent = {p for _, p, _, _ in results}
    failed = [(n, s, t) for n, _, s, t in results if s != 202]
    stored_n = wait_stored(ch, "/k", len(acked), timeout=40)
    counts = {r["pathname"]: int(r["n"]) for r in ch.rows(
        "SELECT pathname, count() AS n FROM events WHERE pathname LIKE '/k%' GROUP BY pathname")}
    missing = acked - counts.keys()
    doubled = [p for p, n in counts.items() if n > 1]
    foreign = counts.keys() - sent
    takeover = sum(1 for n, _, s, t in results
                   if owner[n] == v and s == 202 and t_kill < t < t_back)
    late_failures = [f for f in failed if f[2] > t_kill + 1.0]
    kinds = {}
    for _, s, _ in failed:
        kinds[str(s)[:60]] = kinds.get(str(s)[:60], 0) + 1
    check(failures, not missing, f"every acknowledged event stored ({len(missing)} missing "
                                 f"{sorted(missing)[:3]})")
    check(failures, not doubled, f"no event stored twice ({len(doubled)}: {doubled[:3]})")
    check(failures, not foreign, f"nothing stored that was not sent ({len(foreign)})")
    check(failures, takeover > 0, f"the other collector took over: {takeover} events of "
                                  f"{victim.name}'s clients acknowledged while it was down")
    check(failures, not late_failures,
          f"no request sent later than 1 s after the kill failed ({len(late_failures)})")
    return {"sent": len(results), "acked": len(acked), "stored": stored_n,
            "failed": len(failed), "kinds": kinds, "received": received,
            "unflushed": unflushed, "stored_unacked": len(counts.keys() & (sent - acked))}


def show_logs(workdir):
    """The ends of the collectors' and nginx's logs, before the clean-up removes them."""
    for log in sorted(workdir.glob("collector-*.log")) + [workdir / "nginx" / "error.log"]:
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {log.name} (last lines)", file=sys.stderr)
            print("\n".join(lines), file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--balance", choices=["ip_hash", "consistent"], default="ip_hash",
                        help="the shipped ip_hash, or `hash $binary_remote_addr consistent`")
    args = parser.parse_args()
    binary = os.environ.get("LUISTER_BIN", str(REPO / "target" / "debug" / "luister"))
    if not Path(binary).exists():
        print(f"{binary} not found: run `cargo build --bin luister` first", file=sys.stderr)
        return 2

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)

    failures, started = [], time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="luister-two-collectors-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        try:
            ch = ClickHouse(stack)
            env = luister_env(ch, {})
            add = subprocess.run([binary, "sites", "add", SITE],
                                 env={**env, "LUISTER_DATA_DIR": str(workdir / "cli")},
                                 cwd=REPO, capture_output=True, text=True)
            if add.returncode != 0:
                raise CheckFailed(f"luister sites add failed:\n{add.stdout}{add.stderr}")
            collectors = [Collector(name, binary, env, workdir) for name in ("A", "B")]
            for c in collectors:
                stack.callback(quietly, c.stop)
            for c in collectors:  # both at once, as after a deploy
                c.start()
            for c in collectors:
                c.wait_ready()
            port, ngx_dir = start_nginx(stack, collectors, workdir, args.balance)
            print(f"nginx ({args.balance}) on 127.0.0.1:{port} in front of collectors "
                  + ", ".join(f"{c.name}=127.0.0.1:{c.port}" for c in collectors))
            owner, share = phase_sessions(ch, collectors, port, failures)
            duplicate_salts = phase_salts(ch, collectors, failures)
            kill = phase_kill(ch, collectors, owner, port, failures)
            total = int(ch.query(f"SELECT count() FROM events WHERE site_id = '{SITE}'"))
            agg = api_aggregate(port)
            check(failures, agg["pageviews"] == total,
                  f"query API counts {agg['pageviews']} pageviews, events table {total}")
            nginx_log = (ngx_dir / "error.log").read_text()
            upstream_errors = len(re.findall(r"\[error\].*upstream", nginx_log))
            refused = nginx_log.count("connect() failed")
            print("\nsummary")
            print(f"  balance          {args.balance}; clients per collector "
                  f"{dict(zip([c.name for c in collectors], share))}")
            print(f"  sessions         {CLIENTS} clients, {CLIENTS * PAGES_PER_VISIT} pageviews, "
                  f"{CLIENTS} visits expected")
            print(f"  salts            duplicate salt periods: {len(duplicate_salts)}")
            print(f"  kill             sent {kill['sent']}, acknowledged {kill['acked']}, "
                  f"stored {kill['stored']} ({kill['stored_unacked']} stored without a 202), "
                  f"failed {kill['failed']} {kill['kinds'] or ''}")
            print(f"                   events per collector "
                  f"{dict(zip([c.name for c in collectors], kill['received']))}; "
                  f"{kill['unflushed']} acknowledged but only in the killed one's spool; nginx logged "
                  f"{upstream_errors} upstream errors ({refused} refused connects)")
            print(f"  took             {time.monotonic() - started:.0f}s")
        except Missing as e:
            print(f"missing: {e}", file=sys.stderr)
            return 2
        except CheckFailed as e:
            failures.append(str(e))
            print(f"FAIL {e}", file=sys.stderr)
        if failures:
            show_logs(workdir)
    if failures:
        print(f"\n{len(failures)} check(s) failed", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
