// The world a browser test runs in: ClickHouse, `luister serve` with the test sites, the
// static test site and Debian's Chromium driven by playwright-core.
//
// ClickHouse: LUISTER_TEST_CLICKHOUSE_URL when set (scripts/test.sh starts one), else this
// starts its own with scripts/clickhouse-test-server.sh. Every run uses a fresh database.
// The binary: LUISTER_BIN, else target/debug/luister (build it first).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startStaticServer } from './static-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..', '..');

/** The sites the test site's hosts report to. */
export const SITES = {
  ours: 'ours.gemeente.test',
  plausible: 'plausible.gemeente.test',
  matomo: 'matomo.gemeente.test',
  server: 'server.gemeente.test',
};
export const MATOMO_ID = 7;
export const SERVER_MATOMO_ID = 8;

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The environment for `luister`: ours only, no stray LUISTER_* (the config refuses unknown ones). */
export function luisterEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('LUISTER_')) env[key] = value;
  }
  env.LUISTER_DATA_FILES = process.env.LUISTER_DATA_FILES || path.join(repo, 'vendor-data');
  return { ...env, ...extra };
}

export async function startClickHouse() {
  if (process.env.LUISTER_TEST_CLICKHOUSE_URL) {
    return { url: process.env.LUISTER_TEST_CLICKHOUSE_URL.replace(/\/$/, ''), stop() {} };
  }
  const script = path.join(repo, 'scripts', 'clickhouse-test-server.sh');
  // The script prints `<pid> <url>` and exits, but its server keeps the pipe open: read one line.
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    child.on('exit', (code) => code !== 0 && reject(new Error(`${script} exited with ${code}`)));
  });
  child.stdout.destroy();
  child.unref();
  const [pid, url] = line.trim().split(/\s+/);
  return {
    url,
    stop() {
      // The script's subshell (pid) runs clickhouse-server as its child and cleans up after it.
      spawnSync('pkill', ['-P', pid]);
      try { process.kill(Number(pid)); } catch { /* already gone */ }
    },
  };
}

export function run(bin, args, env) {
  const out = spawnSync(bin, args, { env, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`luister ${args.join(' ')} failed:\n${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

export async function startLuister(bin, env) {
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`luister serve did not start:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      const match = output.match(/listening on (http:\/\/[\d.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`luister serve exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    base,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A desktop Chrome User-Agent of the installed version (headless Chromium says "HeadlessChrome"). */
function desktopUserAgent(version) {
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version.split('.')[0]}.0.0.0 Safari/537.36`;
}

/** Starts everything; call `stop()` when done. */
export async function startEnv() {
  const bin = process.env.LUISTER_BIN || path.join(repo, 'target', 'debug', 'luister');
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`cargo build --bin luister\` first`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: run scripts/setup.sh --test`);
  const clickhouse = await startClickHouse();
  const database = `luister_browser_${process.pid}_${Date.now()}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'luister-browser-'));
  const env = luisterEnv({
    LUISTER_CLICKHOUSE_URL: clickhouse.url,
    LUISTER_CLICKHOUSE_DATABASE: database,
    LUISTER_DATA_DIR: dataDir,
    LUISTER_LISTEN: '127.0.0.1:0',
    LUISTER_SPOOL_MAX_BATCH_AGE_MS: '100',
    // Every page of the suite comes from 127.0.0.1: no per-client limit.
    LUISTER_RATE_LIMIT_COLLECTOR_PER_CLIENT: '0',
  });
  const stops = [];
  const stop = async () => {
    for (const fn of stops.reverse()) {
      try { await fn(); } catch { /* keep stopping the rest */ }
    }
  };
  try {
    stops.push(() => clickhouse.stop());
    stops.push(() => rmSync(dataDir, { recursive: true, force: true }));
    run(bin, ['sites', 'add', SITES.ours], env);
    run(bin, ['sites', 'add', SITES.plausible], env);
    run(bin, ['sites', 'add', SITES.matomo, '--matomo-id', String(MATOMO_ID)], env);
    run(bin, ['sites', 'add', SITES.server, '--matomo-id', String(SERVER_MATOMO_ID)], env);
    // A back-end's token: Matomo's `cip` and `cdt` are honoured only with a write token.
    const serverToken = run(bin, ['token', 'create', '--name', 'backend', '--site', SITES.server, '--scope', 'write'], env).trim();
    const luister = await startLuister(bin, env);
    stops.push(() => luister.stop());
    stops.push(() => query(clickhouse.url, '', `DROP DATABASE IF EXISTS ${database}`).catch(() => {}));
    const site = await startStaticServer({ luister: luister.base });
    stops.push(() => site.close());
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        // Look like a person's browser: no navigator.webdriver (Plausible ignores automation).
        '--disable-blink-features=AutomationControlled',
        // The test hosts are this machine; nothing else resolves, so no request leaves it.
        '--host-resolver-rules=MAP *.gemeente.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ],
      ignoreDefaultArgs: ['--enable-automation'],
    });
    stops.push(() => browser.close());
    const userAgent = desktopUserAgent(browser.version());

    const envObject = {
      luister: luister.base,
      luisterOutput: luister.output,
      clickhouse: clickhouse.url,
      database,
      userAgent,
      serverToken,
      /** The test site's URL for a variant, e.g. `url('ours', '/zoeken?q=x')`. */
      url: (variant, p = '/') => `http://${variant}.gemeente.test:${site.port}${p}`,
      /** A fresh browser context (one visitor) that answers outside links with 204 (no navigation). */
      async newPage() {
        const context = await browser.newContext({ userAgent, acceptDownloads: true });
        await context.route(
          (url) => !/\.gemeente\.test$/.test(url.hostname) && url.hostname !== '127.0.0.1',
          (route) => route.fulfill({ status: 204 }),
        );
        const page = await context.newPage();
        return { page, context };
      },
      query: (sql) => query(clickhouse.url, database, sql),
      stop,
    };
    return envObject;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs `sql` on ClickHouse and returns the rows as objects. */
export async function query(url, database, sql) {
  const target = database ? `${url}/?database=${encodeURIComponent(database)}` : `${url}/`;
  const body = /^\s*select/i.test(sql) ? `${sql} FORMAT JSONEachRow` : sql;
  const response = await fetch(target, { method: 'POST', body });
  const text = await response.text();
  if (!response.ok) throw new Error(`ClickHouse ${response.status}: ${text}\n${sql}`);
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/**
 * The stored events of `site` once at least `count` (engagement events aside) are there and
 * no more arrive for a second: a double count shows up as a surplus, not a race.
 */
export async function storedEvents(env, site, count, { timeout = 20_000 } = {}) {
  const sql = `SELECT name, hostname, pathname, referrer, referrer_source, channel, utm_source, browser, os, device,
      search_term, search_results, props.key AS keys, props.value AS values, value_cents, currency, interactive,
      scroll_depth, engaged_ms, toString(visitor_id) AS visitor_id, toString(session_id) AS session_id, timestamp
    FROM events WHERE site_id = '${site}' ORDER BY timestamp, event_id`;
  const started = Date.now();
  let rows = [];
  while (Date.now() - started < timeout) {
    rows = await env.query(sql);
    if (rows.filter((r) => r.name !== 'engagement').length >= count) {
      await sleep(1000);
      return env.query(sql);
    }
    await sleep(100);
  }
  throw new Error(`expected ${count} events for ${site} within ${timeout} ms, got ${rows.length}: ${JSON.stringify(rows, null, 1)}\n--- luister output ---\n${env.luisterOutput()}`);
}

/** Whether a response is a tracker request that records something (not an engagement ping). */
export function isHit(response) {
  const url = response.url();
  const body = response.request().postData() || '';
  if (url.includes('/api/event')) return !body.includes('"n":"engagement"');
  return url.includes('/matomo.php') || url.includes('/piwik.php');
}

/** Runs `action` and waits until the tracker's request for it was answered. */
export async function expectHit(page, action) {
  const [response] = await Promise.all([page.waitForResponse(isHit, { timeout: 10_000 }), action()]);
  if (response.status() >= 300) {
    throw new Error(`tracker request failed: ${response.status()} ${response.url()} ${await response.text()}`);
  }
  return response;
}
