// Behaviour shared by both builds: pageviews, SPA, queue, custom events,
// site search, opt-out, robustness. Every test runs against dist/script.js
// and dist/script.full.js, the files that are actually served.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, QUEUE_SNIPPET, SCRIPT_ORIGIN } from './helpers.mjs';

for (const variant of ['script.js', 'script.full.js']) {
  describe(`${variant}: pageviews and transport`, () => {
    test('sends a pageview on load in the Events API shape', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/afval?wijk=3#top' });
      assert.equal(t.requests.length, 1);
      const [req] = t.requests;
      assert.equal(req.url, `${SCRIPT_ORIGIN}/api/event`);
      assert.equal(req.init.method, 'POST');
      assert.equal(req.init.keepalive, true);
      assert.equal(typeof req.init.body, 'string', 'a string body is sent as text/plain');
      assert.equal(req.init.headers, undefined, 'no custom headers, so no CORS preflight');
      assert.deepEqual(req.body, {
        n: 'pageview',
        u: 'https://enschede.nl/afval?wijk=3#top',
        d: 'enschede.nl',
        r: null,
      });
    });

    test('sends the referrer', async () => {
      const t = await load({ variant, referrer: 'https://www.google.nl/' });
      assert.equal(t.events[0].r, 'https://www.google.nl/');
    });

    test('data-api overrides the endpoint', async () => {
      const t = await load({ variant, attrs: { 'data-api': 'https://enschede.nl/stats/event' } });
      assert.equal(t.requests[0].url, 'https://enschede.nl/stats/event');
    });

    test('data-domain defaults to the page host', async () => {
      const t = await load({ variant, url: 'https://www.hengelo.nl/', attrs: { 'data-domain': null } });
      assert.equal(t.events[0].d, 'www.hengelo.nl');
    });

    test('falls back to navigator.sendBeacon without fetch', async () => {
      const t = await load({ variant, transport: 'beacon' });
      assert.equal(t.requests.length, 1);
      assert.equal(t.requests[0].via, 'beacon');
      assert.equal(t.requests[0].url, `${SCRIPT_ORIGIN}/api/event`);
      assert.equal(typeof t.requests[0].data, 'string');
      assert.equal(t.events[0].n, 'pageview');
    });

    test('a second copy of the script on the page does not count twice', async () => {
      const t = await load({ variant, copies: 2 });
      assert.deepEqual(t.names, ['pageview']);
      t.window.history.pushState({}, '', '/a');
      assert.deepEqual(t.names, ['pageview', 'pageview']);
    });
  });

  describe(`${variant}: single-page apps`, () => {
    test('pushState to a new URL sends a pageview; the page still navigates', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/' });
      t.window.history.pushState({ x: 1 }, '', '/parkeren');
      assert.equal(t.window.location.pathname, '/parkeren');
      assert.deepEqual(t.window.history.state, { x: 1 });
      assert.deepEqual(t.names, ['pageview', 'pageview']);
      assert.equal(t.events[1].u, 'https://enschede.nl/parkeren');
    });

    test('no duplicate pageview for the same URL back-to-back', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/a' });
      t.window.history.pushState({}, '', '/a');
      t.window.history.pushState({}, '', '/b');
      t.window.history.pushState({}, '', '/b');
      t.window.dispatchEvent(new t.window.PopStateEvent('popstate'));
      t.window.dispatchEvent(new t.window.PopStateEvent('popstate'));
      assert.deepEqual(t.events.map((e) => e.u), ['https://enschede.nl/a', 'https://enschede.nl/b']);
    });

    test('popstate after going back sends a pageview once', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/a' });
      t.window.history.pushState({}, '', '/b');
      t.window.history.back();
      await new Promise((r) => t.window.addEventListener('popstate', () => setTimeout(r, 0), { once: true }));
      t.window.dispatchEvent(new t.window.PopStateEvent('popstate'));
      assert.deepEqual(t.events.map((e) => e.u), [
        'https://enschede.nl/a',
        'https://enschede.nl/b',
        'https://enschede.nl/a',
      ]);
    });

    test('a new query string is a new page, a new hash is not (without data-hash)', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/zoeken' });
      t.window.history.pushState({}, '', '/zoeken?q=paspoort');
      t.window.history.pushState({}, '', '/zoeken?q=paspoort#resultaat-2');
      t.window.location.hash = 'x';
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(t.events.map((e) => e.u), [
        'https://enschede.nl/zoeken',
        'https://enschede.nl/zoeken?q=paspoort',
      ]);
      assert.ok(t.events.every((e) => !('h' in e)));
    });

    test('data-hash: hash changes are pageviews and events carry h=1', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/app#/start', attrs: { 'data-hash': true } });
      t.window.location.hash = '#/aanvragen';
      await new Promise((r) => t.window.addEventListener('hashchange', () => setTimeout(r, 0), { once: true }));
      t.window.history.pushState({}, '', '#/aanvragen'); // same URL again: no pageview
      t.window.luister('Start');
      assert.deepEqual(t.names, ['pageview', 'pageview', 'Start']);
      assert.equal(t.events[1].u, 'https://enschede.nl/app#/aanvragen');
      assert.ok(t.events.every((e) => e.h === 1));
    });
  });

  describe(`${variant}: custom events and queue`, () => {
    test('custom event with props, revenue, interactive and callback', async () => {
      const t = await load({ variant });
      let called = 0;
      t.window.luister('Afspraak gemaakt', {
        props: { product: 'paspoort', aantal: 2, spoed: false, leeg: null, weg: undefined },
        revenue: { amount: 84.5, currency: 'EUR' },
        interactive: false,
        callback: () => called++,
      });
      assert.deepEqual(t.events[1], {
        n: 'Afspraak gemaakt',
        u: 'https://enschede.nl/',
        d: 'enschede.nl',
        r: null,
        p: { product: 'paspoort', aantal: '2', spoed: 'false' },
        revenue: { amount: 84.5, currency: 'EUR' },
        i: false,
      });
      assert.equal(called, 0, 'callback waits for the request');
      await t.settle();
      assert.equal(called, 1);
    });

    test('a plain custom event has no p, revenue or i', async () => {
      const t = await load({ variant });
      t.window.luister('Klik');
      assert.deepEqual(t.events[1], { n: 'Klik', u: 'https://enschede.nl/', d: 'enschede.nl', r: null });
    });

    test('calls queued before load are replayed in order, after the pageview', async () => {
      const t = await load({
        variant,
        head: `<script>${QUEUE_SNIPPET};
          luister('Eerste', {props: {n: 1}});
          luister('search', {query: 'afvalkalender', results: 3});
          luister('Derde');</script>`,
      });
      assert.deepEqual(t.names, ['pageview', 'Eerste', 'search', 'Derde']);
      assert.deepEqual(t.events[1].p, { n: '1' });
      assert.equal(typeof t.window.luister.q, 'undefined', 'the real function replaced the stub');
    });
  });

  describe(`${variant}: site search`, () => {
    test("luister('search') sends query and results as strings", async () => {
      const t = await load({ variant });
      t.window.luister('search', { query: 'paspoort verlengen', results: 12 });
      t.window.luister('search', { query: 'hondenbelasting', results: 0 });
      t.window.luister('search', { query: 'onbekend aantal' });
      assert.deepEqual(t.events.slice(1).map((e) => [e.n, e.p]), [
        ['search', { query: 'paspoort verlengen', results: '12' }],
        ['search', { query: 'hondenbelasting', results: '0' }],
        ['search', { query: 'onbekend aantal' }],
      ]);
    });

    test('pageview carries the result count from data-search-results', async () => {
      const t = await load({
        variant,
        url: 'https://enschede.nl/zoeken?q=paspoort',
        body: '<main><p class="x" data-search-results="12">12 resultaten</p><p data-search-results="99"></p></main>',
      });
      assert.deepEqual(t.events[0].p, { results: '12' });
    });

    test('pageview carries the result count from the meta tag, 0 included', async () => {
      const t = await load({
        variant,
        url: 'https://enschede.nl/zoeken?q=xyz',
        head: '<meta name="luister:search-results" content="0">',
      });
      assert.deepEqual(t.events[0].p, { results: '0' });
    });

    test('a non-numeric count is left out; SPA pageviews do not reuse it', async () => {
      const t = await load({ variant, body: '<p data-search-results="veel"></p>' });
      assert.equal(t.events[0].p, undefined);
      const u = await load({ variant, body: '<p data-search-results="5"></p>' });
      u.window.history.pushState({}, '', '/zoeken?q=nieuw');
      assert.deepEqual(u.events[0].p, { results: '5' });
      assert.equal(u.events[1].p, undefined);
    });
  });

  describe(`${variant}: opt-out and exclusions`, () => {
    const optOuts = {
      'localStorage.luister_ignore = "true"': { before: (w) => w.localStorage.setItem('luister_ignore', 'true') },
      '<html data-luister-ignore>': { htmlAttrs: 'data-luister-ignore' },
      'window.luister_ignore = true': { before: (w) => { w.luister_ignore = true; } },
      'localhost': { url: 'http://localhost:8080/' },
      '127.0.0.1': { url: 'http://127.0.0.1:3000/' },
      'file: URL': { url: 'file:///tmp/index.html' },
      'navigator.webdriver': {
        before: (w) => Object.defineProperty(w.navigator, 'webdriver', { get: () => true }),
      },
    };
    for (const [name, opts] of Object.entries(optOuts)) {
      test(`nothing is sent with ${name}; callbacks still run`, async () => {
        const t = await load({ variant, ...opts });
        let called = 0;
        t.window.luister('Klik', { callback: () => called++ });
        if (!opts.url?.startsWith('file:')) t.window.history.pushState({}, '', '/ander');
        assert.equal(t.requests.length, 0);
        assert.equal(called, 1);
      });
    }

    test('localStorage.luister_ignore other than "true" does not opt out', async () => {
      const t = await load({ variant, before: (w) => w.localStorage.setItem('luister_ignore', 'false') });
      assert.equal(t.requests.length, 1);
    });

    test('a throwing localStorage does not stop tracking', async () => {
      const t = await load({
        variant,
        before: (w) => Object.defineProperty(w, 'localStorage', { get() { throw new Error('SecurityError'); } }),
      });
      assert.deepEqual(t.names, ['pageview']);
    });

    test('data-allow-local counts 127.0.0.1 and webdriver (our own browser tests)', async () => {
      const t = await load({
        variant,
        url: 'http://127.0.0.1:8123/test',
        attrs: { 'data-allow-local': true },
        before: (w) => Object.defineProperty(w.navigator, 'webdriver', { get: () => true }),
      });
      assert.deepEqual(t.names, ['pageview']);
    });

    test('opting out after load stops later events', async () => {
      const t = await load({ variant });
      t.window.luister_ignore = true;
      t.window.luister('Klik');
      assert.deepEqual(t.names, ['pageview']);
    });

    test('data-exclude globs: ** spans folders, * one segment', async () => {
      const attrs = { 'data-exclude': '/admin/**, /intern/*,/exact.html' };
      const cases = {
        '/admin/users/12/edit': false,
        '/admin/': false,
        '/admin': true,
        '/administratie': true,
        '/intern/rooster': false,
        '/intern/rooster/week': true,
        '/exact.html': false,
        '/exactXhtml': true,
        '/': true,
      };
      for (const [path, counted] of Object.entries(cases)) {
        const t = await load({ variant, attrs, url: 'https://enschede.nl' + path });
        t.window.luister('Klik');
        assert.equal(t.requests.length, counted ? 2 : 0, path);
      }
    });

    test('exclusion follows SPA navigation', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/admin/x', attrs: { 'data-exclude': '/admin/**' } });
      t.window.luister('Verborgen');
      t.window.history.pushState({}, '', '/openbaar');
      t.window.luister('Zichtbaar');
      t.window.history.pushState({}, '', '/admin/y');
      t.window.luister('Weer verborgen');
      assert.deepEqual(t.names, ['pageview', 'Zichtbaar']);
    });

    test('regex characters in globs are literal', async () => {
      const t = await load({ variant, url: 'https://enschede.nl/a+b(1)', attrs: { 'data-exclude': '/a+b(1),/[x' } });
      assert.equal(t.requests.length, 0);
    });
  });

  describe(`${variant}: privacy and robustness`, () => {
    test('no cookies, no storage writes, no console output', async () => {
      const t = await load({
        variant,
        head: `<script>${QUEUE_SNIPPET}; luister('Vroeg')</script>`,
        body: '<p data-search-results="4"></p>',
      });
      t.window.luister('search', { query: 'x', results: 1 });
      t.window.history.pushState({}, '', '/b');
      await t.settle();
      assert.equal(t.document.cookie, '');
      assert.equal(t.window.localStorage.length, 0);
      assert.equal(t.window.sessionStorage.length, 0);
      assert.deepEqual(t.consoleOutput, []);
    });

    test('bad calls and failing transports never throw into the page', async () => {
      const t = await load({ variant });
      const evil = {};
      Object.defineProperty(evil, 'boom', { enumerable: true, get() { throw new Error('boom'); } });
      assert.doesNotThrow(() => t.window.luister());
      assert.doesNotThrow(() => t.window.luister('x', null));
      assert.doesNotThrow(() => t.window.luister('x', { props: evil }));
      assert.doesNotThrow(() => t.window.luister('x', { callback: 'not a function' }));
      t.window.fetch = () => { throw new TypeError('blocked'); };
      assert.doesNotThrow(() => t.window.luister('x'));
      assert.doesNotThrow(() => t.window.history.pushState({}, '', '/c'));
      assert.equal(t.window.location.pathname, '/c');
      t.window.fetch = () => Promise.reject(new TypeError('offline'));
      let called = 0;
      t.window.luister('x', { callback: () => called++ });
      await t.settle();
      assert.equal(called, 1, 'callback runs when the request fails');
    });

    test('a page whose history.pushState throws keeps its error', async () => {
      const t = await load({ variant });
      assert.throws(() => t.window.history.pushState({}, '', 'https://elders.nl/'), /SecurityError|origin/i);
      assert.deepEqual(t.names, ['pageview']);
    });
  });
}
