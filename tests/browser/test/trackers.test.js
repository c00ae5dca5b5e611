// Three trackers, one Luister: our own script, Plausible's official npm tracker and a Matomo
// HTTP Tracking API client, each on its own copy of the test site, in Debian's Chromium,
// against `luister serve` and a real ClickHouse. The same visits must give the same rows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import MatomoTracker from 'matomo-tracker';
import { expectHit, startEnv, storedEvents, SITES, SERVER_MATOMO_ID } from '../lib/env.js';

const VARIANTS = ['ours', 'plausible', 'matomo'];
const OUTBOUND = 'https://www.rijksoverheid.nl/onderwerpen/schulden';

let env;
before(async () => {
  env = await startEnv();
});
after(async () => {
  await env?.stop();
});

/** Visit A: home (from Google) → search results page → outbound link → event → download. */
async function classicVisit(variant) {
  const { page, context } = await env.newPage();
  try {
    await expectHit(page, () => page.goto(env.url(variant, '/'), { referer: 'https://www.google.nl/' }));
    await expectHit(page, () => page.click('#zoeken'));
    assert.equal(new URL(page.url()).pathname, '/zoeken');
    await expectHit(page, () => page.click('#extern'));
    assert.equal(new URL(page.url()).pathname, '/zoeken', 'the outbound click must not leave the page here');
    await expectHit(page, () => page.click('#afspraak'));
    await expectHit(page, () => page.click('#pdf'));
  } finally {
    await context.close();
  }
}

/** Visit B: a single-page application: load, one pushState step, a search that keeps the URL. */
async function spaVisit(variant) {
  const { page, context } = await env.newPage();
  try {
    await expectHit(page, () => page.goto(env.url(variant, '/spa')));
    await expectHit(page, () => page.click('#volgende'));
    assert.equal(new URL(page.url()).pathname, '/spa/stap-2');
    await expectHit(page, () => page.click('#zoekknop'));
  } finally {
    await context.close();
  }
}

/** The columns every format can carry, with the variant's host name made neutral. */
function comparable(variant, rows) {
  const host = `${variant}.gemeente.test`;
  const neutral = (text) => String(text).split(host).join('HOST');
  return rows
    .filter((r) => r.name !== 'engagement')
    .map((r) => ({
      name: r.name,
      hostname: neutral(r.hostname),
      pathname: r.pathname,
      referrer: neutral(r.referrer),
      referrer_source: r.referrer_source,
      channel: r.channel,
      utm_source: r.utm_source,
      browser: r.browser,
      os: r.os,
      device: r.device,
      search_term: r.search_term,
      search_results: r.search_results,
      props: r.keys.map((k, i) => [k, neutral(r.values[i])]).sort(),
      value_cents: String(r.value_cents),
      interactive: r.interactive,
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe('the same visits through our tracker, Plausible and Matomo', () => {
  const stored = {};

  before(async () => {
    for (const variant of VARIANTS) {
      await classicVisit(variant);
      await spaVisit(variant);
      stored[variant] = await storedEvents(env, SITES[variant], 8);
    }
  });

  test('our tracker stores the visits as expected', () => {
    const rows = comparable('ours', stored.ours);
    // Events on the results page carry its search term too (the pipeline's rule); the summary
    // shows the term of searches only.
    const isSearch = (r) => r.name === 'search' || (r.name === 'pageview' && r.search_term !== '');
    const summary = rows.map((r) => [r.name, r.pathname, isSearch(r) ? r.search_term : '', r.search_results, r.props]);
    assert.deepEqual(summary, [
      ['Afspraak: Gemaakt', '/zoeken', '', -1, [['action', 'Gemaakt'], ['category', 'Afspraak'], ['name', 'paspoort']]],
      ['File Download', '/zoeken', '', -1, [['url', `http://HOST:${new URL(env.url('ours')).port}/docs/afvalkalender.pdf`]]],
      ['Outbound Link: Click', '/zoeken', '', -1, [['url', OUTBOUND]]],
      ['pageview', '/', '', -1, []],
      ['pageview', '/spa', '', -1, []],
      ['pageview', '/spa/stap-2', '', -1, []],
      ['pageview', '/zoeken', 'schuldhulp', 0, [['results', '0']]],
      ['search', '/spa/stap-2', 'parkeervergunning', 3, [['query', 'parkeervergunning'], ['results', '3']]],
    ]);
    const home = rows.find((r) => r.name === 'pageview' && r.pathname === '/');
    assert.equal(home.referrer_source, 'Google');
    assert.equal(home.browser, 'Chrome', 'the desktop UA is parsed, not dropped as headless');
    assert.equal(home.device, 'Desktop');
    assert.ok(rows.every((r) => r.hostname === 'HOST' && r.interactive === 1));
  });

  for (const variant of ['plausible', 'matomo']) {
    test(`${variant} gives the same rows as our tracker`, () => {
      assert.deepEqual(comparable(variant, stored[variant]), comparable('ours', stored.ours));
    });
  }

  test('each tracker is one cookieless visitor in one visit per browser', () => {
    for (const variant of VARIANTS) {
      const rows = stored[variant];
      const visitors = new Set(rows.map((r) => r.visitor_id));
      const sessions = new Set(rows.map((r) => r.session_id));
      // Both visits come from the same address and browser within 30 minutes.
      assert.equal(visitors.size, 1, `${variant}: ${[...visitors]}`);
      assert.equal(sessions.size, 1, `${variant}: ${[...sessions]}`);
    }
  });
});

describe('per tracker', () => {
  test('404 pages: our tracker and Plausible send a 404 event, Matomo a page view', async () => {
    for (const variant of VARIANTS) {
      const { page, context } = await env.newPage();
      const hits = variant === 'matomo' ? 1 : 2;
      let seen = 0;
      const done = new Promise((resolve) => {
        page.on('response', (r) => {
          if (/\/(api\/event|matomo\.php)/.test(r.url()) && !(r.request().postData() || '').includes('engagement')) {
            seen += 1;
            if (seen === hits) resolve();
          }
        });
      });
      const response = await page.goto(env.url(variant, '/bestaat-niet'));
      assert.equal(response.status(), 404);
      await done;
      await context.close();
    }
    const ours = (await storedEvents(env, SITES.ours, 10)).filter((r) => r.pathname === '/bestaat-niet');
    const notFound = ours.find((r) => r.name === '404');
    assert.deepEqual([notFound.keys, notFound.values, notFound.interactive], [['path'], ['/bestaat-niet'], 0]);
    const plausible = (await storedEvents(env, SITES.plausible, 10)).filter((r) => r.pathname === '/bestaat-niet');
    const plausible404 = plausible.find((r) => r.name === '404');
    // Plausible's documented 404 snippet sends an interactive event.
    assert.deepEqual([plausible404.keys, plausible404.values, plausible404.interactive], [['path'], ['/bestaat-niet'], 1]);
    const matomo = (await storedEvents(env, SITES.matomo, 9)).filter((r) => r.pathname === '/bestaat-niet');
    assert.deepEqual(matomo.map((r) => r.name), ['pageview']);
  });

  test('engagement: scroll depth and time on page from our tracker and Plausible', async () => {
    for (const variant of ['ours', 'plausible']) {
      const { page, context } = await env.newPage();
      await expectHit(page, () => page.goto(env.url(variant, '/lang')));
      await page.waitForTimeout(1200);
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
      await page.waitForTimeout(300);
      const engagement = page.waitForResponse((r) => (r.request().postData() || '').includes('"n":"engagement"'));
      await expectHit(page, () => page.evaluate(() => window.nextPage()));
      await engagement;
      await context.close();
    }
    for (const variant of ['ours', 'plausible']) {
      const rows = await storedEvents(env, SITES[variant], 1);
      const engaged = rows.filter((r) => r.name === 'engagement' && r.pathname === '/lang');
      assert.ok(engaged.length >= 1, `${variant}: no engagement row: ${JSON.stringify(rows.map((r) => [r.name, r.pathname]))}`);
      const deepest = Math.max(...engaged.map((r) => r.scroll_depth));
      assert.equal(deepest, 100, `${variant}: scroll depth`);
      // The page was open and in focus for at least 1.5 s before the hop.
      const engagedMs = engaged.reduce((sum, r) => sum + r.engaged_ms, 0);
      assert.ok(engagedMs >= 1000 && engagedMs < 60_000, `${variant}: engaged ${engagedMs} ms`);
      const pageview = rows.find((r) => r.name === 'pageview' && r.pathname === '/lang/gelezen');
      assert.ok(pageview, `${variant}: the SPA step after the long page`);
    }
  });

  test('Plausible: revenue and custom props', async () => {
    const { page, context } = await env.newPage();
    await expectHit(page, () => page.goto(env.url('plausible', '/')));
    await expectHit(page, () => page.evaluate(() => window.plausibleRevenue()));
    await context.close();
    const rows = await storedEvents(env, SITES.plausible, 1);
    const payment = rows.find((r) => r.name === 'Betaling');
    assert.ok(payment, 'Betaling stored');
    assert.deepEqual([payment.keys, payment.values, String(payment.value_cents), payment.currency], [['product'], ['paspoort'], '8450', 'EUR']);
  });
});

describe("Matomo's own Node.js tracker (npm matomo-tracker) for server-side tracking", () => {
  const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

  /** matomo-tracker sends no User-Agent; give its requests the visitor's, as a proxy would. */
  function trackerFor(siteId) {
    const tracker = new MatomoTracker(siteId, `${env.luister}/matomo.php`);
    const headers = (h) => ({ ...h, 'user-agent': UA });
    tracker.agent = {
      get: (url, cb) => http.get(url, { headers: headers({}) }, cb),
      request: (options, cb) => http.request({ ...options, headers: headers(options.headers) }, cb),
    };
    return tracker;
  }

  test('GET and bulk requests are stored, an unknown idsite is refused', async () => {
    const tracker = trackerFor(SERVER_MATOMO_ID);
    const errors = [];
    tracker.on('error', (e) => errors.push(e));
    const base = 'https://server.gemeente.test';
    tracker.track({ url: `${base}/afval`, action_name: 'Afval', urlref: 'https://www.bing.com/', _id: '0123456789abcdef', uid: 'jan@example.nl' });
    tracker.track({ url: `${base}/afval`, e_c: 'Formulier', e_a: 'Verzonden', e_n: 'grofvuil', e_v: 2 });
    const bulkAnswer = await new Promise((resolve) => {
      tracker.trackBulk(
        [
          { url: `${base}/zoeken?zoekterm=Container`, search: 'container', search_count: 12 },
          { url: `${base}/afval`, link: 'https://www.twentemilieu.nl/' },
          { url: `${base}/afval`, download: `${base}/docs/tarieven.pdf?v=3` },
          { url: `${base}/afval`, ping: 1 },
        ],
        resolve,
      );
    });
    assert.deepEqual(JSON.parse(bulkAnswer), { status: 'success', tracked: 4, invalid: 0 });

    const unknown = trackerFor(99);
    const refused = new Promise((resolve) => unknown.on('error', resolve));
    unknown.track({ url: `${base}/` });
    assert.equal(await refused, 400);

    const rows = await storedEvents(env, SITES.server, 5);
    const summary = rows
      .map((r) => [r.name, r.pathname, r.search_term, r.search_results, r.keys.map((k, i) => `${k}=${r.values[i]}`).join('&')])
      .sort();
    assert.deepEqual(summary, [
      ['File Download', '/afval', '', -1, `url=${base}/docs/tarieven.pdf`],
      ['Formulier: Verzonden', '/afval', '', -1, 'category=Formulier&action=Verzonden&name=grofvuil&value=2'],
      ['Outbound Link: Click', '/afval', '', -1, 'url=https://www.twentemilieu.nl/'],
      ['pageview', '/afval', '', -1, ''],
      ['pageview', '/zoeken', 'container', 12, 'results=12'],
    ]);
    const first = rows.find((r) => r.name === 'pageview' && r.pathname === '/afval');
    assert.equal(first.referrer_source, 'Bing');
    assert.equal(first.browser, 'Firefox');
    assert.deepEqual(errors, []);
  });
  test('unpatched, as a back-end uses it: ua always, cip and cdt with a write token_auth', async () => {
    const tracker = new MatomoTracker(SERVER_MATOMO_ID, `${env.luister}/matomo.php`);
    const errors = [];
    tracker.on('error', (e) => errors.push(e));
    const base = 'https://server.gemeente.test';
    const count = async () => Number((await env.query(`SELECT count() AS c FROM events WHERE site_id = '${SITES.server}'`))[0].c);
    const before = await count();
    // Matomo's cdt: UTC, `YYYY-MM-DD HH:MM:SS`; an hour ago.
    const cdt = new Date(Date.now() - 3600_000).toISOString().slice(0, 19).replace('T', ' ');
    const token_auth = env.serverToken;
    tracker.track({ url: `${base}/aanvraag`, ua: UA, cip: '203.0.113.5', cdt, token_auth });
    tracker.track({ url: `${base}/aanvraag`, ua: UA, cip: '2001:db8::6', token_auth });
    tracker.track({ url: `${base}/zonder-token`, ua: UA, cip: '203.0.113.7' });
    const refused = new Promise((resolve) => {
      const guessed = new MatomoTracker(SERVER_MATOMO_ID, `${env.luister}/matomo.php`);
      guessed.on('error', resolve);
      guessed.track({ url: `${base}/geweigerd`, ua: UA, cip: '203.0.113.8', token_auth: 'lst_not-a-token' });
    });
    assert.equal(await refused, 403, 'a token_auth that is no write token for the site is refused');

    const rows = (await storedEvents(env, SITES.server, before + 3))
      .filter((r) => ['/aanvraag', '/zonder-token', '/geweigerd'].includes(r.pathname));
    assert.deepEqual(rows.map((r) => r.pathname).sort(), ['/aanvraag', '/aanvraag', '/zonder-token']);
    assert.ok(rows.every((r) => r.browser === 'Firefox' && r.os === 'Windows'), 'ua is the visitor\'s agent: no request dropped as a bot');
    const [claimed, now] = rows.filter((r) => r.pathname === '/aanvraag');
    assert.notEqual(claimed.visitor_id, now.visitor_id, 'each cip is its own visitor');
    const utc = (t) => Date.parse(`${t.replace(' ', 'T')}Z`);
    assert.ok(utc(now.timestamp) - utc(claimed.timestamp) > 50 * 60_000, `cdt moved the first event an hour back: ${claimed.timestamp}, ${now.timestamp}`);
    assert.deepEqual(errors, []);
  });
});
