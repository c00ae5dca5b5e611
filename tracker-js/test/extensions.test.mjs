// The opt-in extensions of dist/script.full.js, each enabled through data-track.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { load, click } from './helpers.mjs';

const full = (o = {}) => load({ variant: 'script.full.js', ...o });

const LINKS = `
  <a id="out" href="https://www.overijssel.nl/subsidie?id=4">Provincie</a>
  <a id="nested" href="https://www.rijksoverheid.nl/"><span id="inner">Rijk</span></a>
  <a id="internal" href="/contact">Contact</a>
  <a id="sub" href="https://loket.enschede.nl/">Loket</a>
  <a id="pdf" href="/documenten/Jaarverslag-2024.PDF?versie=2#p3">Jaarverslag</a>
  <a id="extpdf" href="https://cdn.example.com/folder.pdf">Folder</a>
  <a id="ics" href="/afvalkalender.ics">Kalender</a>
  <a id="gpx" href="/routes/wandeling.gpx">Route</a>
  <a id="mail" href="mailto:info@enschede.nl">Mail</a>
  <a id="noref">Geen link</a>`;

/** Clicks like a user; reports whether the tracker blocked the navigation. */
function userClick(t, id, init) {
  let blocked = null;
  // Runs after the tracker's document listener; stops jsdom's (unimplemented) navigation.
  t.window.addEventListener(init?.type || 'click', (e) => {
    blocked = e.defaultPrevented;
    e.preventDefault();
  }, { once: true });
  click(t.window, t.document.getElementById(id), init);
  return blocked;
}

describe('outbound links and downloads', () => {
  test('outbound click sends "Outbound Link: Click" with the url, without blocking', async () => {
    const t = await full({ attrs: { 'data-track': 'outbound' }, body: LINKS });
    assert.equal(userClick(t, 'out'), false, 'navigation is not blocked');
    userClick(t, 'inner'); // a click on an element inside the link
    userClick(t, 'sub'); // another host, even a subdomain, is outbound
    assert.deepEqual(t.events.slice(1).map((e) => [e.n, e.p]), [
      ['Outbound Link: Click', { url: 'https://www.overijssel.nl/subsidie?id=4' }],
      ['Outbound Link: Click', { url: 'https://www.rijksoverheid.nl/' }],
      ['Outbound Link: Click', { url: 'https://loket.enschede.nl/' }],
    ]);
    assert.equal(t.events[1].u, 'https://enschede.nl/');
  });

  test('internal, mailto and href-less links are not outbound', async () => {
    const t = await full({ attrs: { 'data-track': 'outbound' }, body: LINKS });
    for (const id of ['internal', 'mail', 'noref']) userClick(t, id);
    assert.deepEqual(t.names, ['pageview']);
  });

  test('middle click counts, right click does not', async () => {
    const t = await full({ attrs: { 'data-track': 'outbound' }, body: LINKS });
    userClick(t, 'out', { type: 'auxclick', button: 2 });
    assert.deepEqual(t.names, ['pageview']);
    userClick(t, 'out', { type: 'auxclick', button: 1 });
    assert.deepEqual(t.names, ['pageview', 'Outbound Link: Click']);
  });

  test('downloads: default extensions, case-insensitive, url without query or hash', async () => {
    const t = await full({ attrs: { 'data-track': 'downloads' }, body: LINKS });
    assert.equal(userClick(t, 'pdf'), false, 'navigation is not blocked');
    userClick(t, 'ics');
    userClick(t, 'gpx'); // not a default extension
    userClick(t, 'out'); // outbound is not enabled
    assert.deepEqual(t.events.slice(1).map((e) => [e.n, e.p]), [
      ['File Download', { url: 'https://enschede.nl/documenten/Jaarverslag-2024.PDF' }],
      ['File Download', { url: 'https://enschede.nl/afvalkalender.ics' }],
    ]);
  });

  test('an outbound download counts as a download only', async () => {
    const t = await full({ attrs: { 'data-track': 'outbound,downloads' }, body: LINKS });
    userClick(t, 'extpdf');
    userClick(t, 'out');
    assert.deepEqual(t.names, ['pageview', 'File Download', 'Outbound Link: Click']);
    assert.deepEqual(t.events[1].p, { url: 'https://cdn.example.com/folder.pdf' });
  });

  test('data-download-extensions replaces the default list', async () => {
    const t = await full({
      attrs: { 'data-track': 'downloads', 'data-download-extensions': 'gpx, .KML' },
      body: LINKS + '<a id="kml" href="/kaart.kml">Kaart</a>',
    });
    for (const id of ['pdf', 'gpx', 'kml']) userClick(t, id);
    assert.deepEqual(t.events.slice(1).map((e) => e.p.url), [
      'https://enschede.nl/routes/wandeling.gpx',
      'https://enschede.nl/kaart.kml',
    ]);
  });
});

describe('404 pages', () => {
  test('<meta name="luister:404"> sends a non-interactive 404 event with the path', async () => {
    const t = await full({
      url: 'https://enschede.nl/bestaat-niet?x=1',
      attrs: { 'data-track': '404' },
      head: '<meta name="luister:404">',
    });
    assert.deepEqual(t.names, ['pageview', '404']);
    assert.deepEqual(t.events[1].p, { path: '/bestaat-niet' });
    assert.equal(t.events[1].i, false);
  });

  test('no 404 event without the meta tag or without data-track="404"', async () => {
    const a = await full({ attrs: { 'data-track': '404' } });
    const b = await full({ head: '<meta name="luister:404">' });
    assert.deepEqual(a.names, ['pageview']);
    assert.deepEqual(b.names, ['pageview']);
  });
});

describe('forms', () => {
  const FORMS = `
    <form id="contact" class="luister-track" action="/contact/verstuur"><input name="id" value="x"></form>
    <form class="luister-track" action="/melding/nieuw?stap=2"><input name="action" value="y"></form>
    <form id="afspraak" data-luister-event="Afspraak aangevraagd" action="/afspraak"></form>
    <form id="gewoon" action="/zoeken"></form>`;
  const submit = (t, selector) => {
    const form = t.document.querySelectorAll('form')[selector];
    form.dispatchEvent(new t.window.Event('submit', { bubbles: true, cancelable: true }));
  };

  test('tracked forms send their event with the form id or action path', async () => {
    const t = await full({ attrs: { 'data-track': 'forms' }, body: FORMS });
    for (const i of [0, 1, 2, 3]) submit(t, i);
    assert.deepEqual(t.events.slice(1).map((e) => [e.n, e.p]), [
      ['Form: Submit', { form: 'contact' }],
      ['Form: Submit', { form: '/melding/nieuw' }],
      ['Afspraak aangevraagd', { form: 'afspraak' }],
    ]);
  });

  test('forms are not tracked without data-track="forms"', async () => {
    const t = await full({ attrs: { 'data-track': 'outbound' }, body: FORMS });
    submit(t, 0);
    assert.deepEqual(t.names, ['pageview']);
  });
});

describe('engagement', () => {
  // A controllable page: clock, focus, visibility and scroll position.
  function page(extra = {}) {
    const s = { now: 1000, focus: true, scrollY: 0 };
    const before = (w) => {
      w.Date.now = () => s.now;
      w.Document.prototype.hasFocus = () => s.focus;
      Object.defineProperty(w.HTMLElement.prototype, 'scrollHeight', { configurable: true, get: () => 2000 });
      Object.defineProperty(w, 'innerHeight', { configurable: true, get: () => 500 });
      Object.defineProperty(w, 'scrollY', { configurable: true, get: () => s.scrollY });
    };
    return full({ attrs: { 'data-track': 'engagement' }, before, ...extra }).then((t) => {
      s.setVisible = (visible) => {
        Object.defineProperty(t.document, 'visibilityState', {
          configurable: true, get: () => (visible ? 'visible' : 'hidden'),
        });
        t.document.dispatchEvent(new t.window.Event('visibilitychange'));
      };
      s.scrollTo = (y) => { s.scrollY = y; t.window.dispatchEvent(new t.window.Event('scroll')); };
      return { t, s };
    });
  }

  test('sends scroll depth and engaged time when the page is hidden', async () => {
    const { t, s } = await page({ url: 'https://enschede.nl/nieuws/1' });
    s.now = 3000;
    s.scrollTo(500); // (500 + 500) / 2000 = 50 %
    s.scrollTo(0); // the maximum is kept
    s.now = 6500;
    s.setVisible(false);
    assert.deepEqual(t.events[1], { n: 'engagement', u: 'https://enschede.nl/nieuws/1', d: 'enschede.nl', sd: 50, e: 5500 });
    t.window.dispatchEvent(new t.window.Event('pagehide'));
    assert.equal(t.events.length, 2, 'nothing new: no second engagement event');
  });

  test('only visible and focused time counts; SPA navigation sends it for the old URL', async () => {
    const { t, s } = await page({ url: 'https://enschede.nl/a' });
    s.now = 2000;
    s.focus = false;
    t.window.dispatchEvent(new t.window.Event('blur')); // 1000 ms engaged so far
    s.now = 60000; // unfocused for a long time
    s.focus = true;
    t.window.dispatchEvent(new t.window.Event('focus'));
    s.now = 64000; // 4000 ms more
    s.setVisible(false);
    s.now = 90000; // hidden
    s.setVisible(true);
    s.now = 93500; // 3500 ms more
    s.scrollTo(1500);
    t.window.history.pushState({}, '', '/b');
    assert.deepEqual(t.events.map((e) => [e.n, e.u, e.sd, e.e]), [
      ['pageview', 'https://enschede.nl/a', undefined, undefined],
      ['engagement', 'https://enschede.nl/a', 25, 5000],
      ['engagement', 'https://enschede.nl/a', 100, 3500],
      ['pageview', 'https://enschede.nl/b', undefined, undefined],
    ]);
    // The new page starts from zero.
    s.now = 95000;
    s.setVisible(false);
    assert.deepEqual(t.events[4], { n: 'engagement', u: 'https://enschede.nl/b', d: 'enschede.nl', sd: 100, e: 1500 });
  });

  test('a short revisit without deeper scrolling is not sent again', async () => {
    const { t, s } = await page();
    s.now = 2000;
    s.setVisible(false);
    s.setVisible(true);
    s.now = 3000;
    s.setVisible(false);
    assert.deepEqual(t.names, ['pageview', 'engagement']);
  });

  test('no engagement for excluded or opted-out pages', async () => {
    const a = await page({ url: 'https://enschede.nl/admin/x', attrs: { 'data-track': 'engagement', 'data-exclude': '/admin/**' } });
    a.t.window.history.pushState({}, '', '/publiek');
    a.s.setVisible(false);
    assert.deepEqual(a.t.events.map((e) => [e.n, e.u]), [
      ['pageview', 'https://enschede.nl/publiek'],
      ['engagement', 'https://enschede.nl/publiek'],
    ]);
    const b = await page({ htmlAttrs: 'data-luister-ignore' });
    b.s.setVisible(false);
    assert.equal(b.t.requests.length, 0);
  });

  test('not measured without data-track="engagement"', async () => {
    const t = await full({ attrs: { 'data-track': 'outbound' } });
    Object.defineProperty(t.document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    t.document.dispatchEvent(new t.window.Event('visibilitychange'));
    t.window.history.pushState({}, '', '/b');
    assert.deepEqual(t.names, ['pageview', 'pageview']);
  });
});

describe('the default build has no extensions', () => {
  test('data-track is ignored by dist/script.js', async () => {
    const t = await load({
      variant: 'script.js',
      attrs: { 'data-track': 'outbound,downloads,404,forms,engagement' },
      head: '<meta name="luister:404">',
      body: LINKS + '<form class="luister-track"></form>',
    });
    userClick(t, 'out');
    userClick(t, 'pdf');
    t.document.forms[0].dispatchEvent(new t.window.Event('submit', { bubbles: true }));
    Object.defineProperty(t.document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    t.document.dispatchEvent(new t.window.Event('visibilitychange'));
    assert.deepEqual(t.names, ['pageview']);
  });
});
