// Test harness: loads a built tracker from dist/ into a jsdom page the way a
// real site embeds it (an external <script defer src=...>), with fetch and
// sendBeacon stubbed so every event body can be read back.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { JSDOM, ResourceLoader, VirtualConsole } from 'jsdom';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCRIPT_ORIGIN = 'https://stats.example.nl';

/** The snippet sites put before the tracker so early calls are queued. */
export const QUEUE_SNIPPET =
  'window.luister = window.luister || function(){(window.luister.q = window.luister.q || []).push(arguments)}';

class DistLoader extends ResourceLoader {
  fetch(url, options) {
    if (url.startsWith(SCRIPT_ORIGIN + '/js/')) {
      return Promise.resolve(readFileSync(join(root, 'dist', url.split('/').pop())));
    }
    return super.fetch(url, options);
  }
}

const escapeAttr = (v) => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;');

/**
 * Loads a page with the tracker.
 * @param {object} o
 * @param {string} [o.variant]   'script.js' or 'script.full.js'
 * @param {string} [o.url]       page URL
 * @param {object} [o.attrs]     extra attributes on the script tag (value true = bare attribute)
 * @param {string} [o.head]      extra HTML before the tracker tag
 * @param {string} [o.body]      body HTML
 * @param {string} [o.htmlAttrs] attributes on <html>
 * @param {string} [o.referrer]
 * @param {'fetch'|'beacon'} [o.transport] which API the page offers
 * @param {(window) => void} [o.before] runs before any page script
 * @param {number} [o.copies]    how many tracker tags to include
 */
export async function load(o = {}) {
  const {
    variant = 'script.js',
    url = 'https://enschede.nl/',
    attrs = {},
    head = '',
    body = '',
    htmlAttrs = '',
    referrer,
    transport = 'fetch',
    before,
    copies = 1,
  } = o;
  const allAttrs = { 'data-domain': 'enschede.nl', ...attrs };
  const attrText = Object.entries(allAttrs)
    .filter(([, v]) => v !== false && v != null)
    .map(([k, v]) => (v === true ? k : `${k}="${escapeAttr(v)}"`))
    .join(' ');
  const tag = `<script defer ${attrText} src="${SCRIPT_ORIGIN}/js/${variant}"></script>`;
  const html = `<!doctype html><html ${htmlAttrs}><head>${head}${tag.repeat(copies)}</head><body>${body}</body></html>`;

  const requests = [];
  const consoleOutput = [];
  const virtualConsole = new VirtualConsole();
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    virtualConsole.on(level, (...args) => consoleOutput.push([level, ...args]));
  }
  virtualConsole.on('jsdomError', (e) => consoleOutput.push(['jsdomError', e.message]));

  const dom = new JSDOM(html, {
    url,
    referrer,
    runScripts: 'dangerously',
    resources: new DistLoader(),
    pretendToBeVisual: true,
    virtualConsole,
    beforeParse(window) {
      if (transport === 'fetch') {
        window.fetch = (endpoint, init) => {
          requests.push({ via: 'fetch', url: endpoint, init, body: JSON.parse(init.body) });
          return Promise.resolve({ status: 202 });
        };
      } else {
        delete window.fetch;
        window.navigator.sendBeacon = (endpoint, data) => {
          requests.push({ via: 'beacon', url: endpoint, data, body: JSON.parse(data) });
          return true;
        };
      }
      if (before) before(window);
    },
  });
  const { window } = dom;
  await new Promise((resolve) => {
    if (window.document.readyState === 'complete') resolve();
    else window.addEventListener('load', resolve);
  });
  return {
    dom,
    window,
    document: window.document,
    requests,
    consoleOutput,
    /** Event bodies sent so far. */
    get events() {
      return requests.map((r) => r.body);
    },
    /** Names of the events sent so far. */
    get names() {
      return requests.map((r) => r.body.n);
    },
    /** Lets pending promise callbacks (fetch().then) run. */
    settle: () => new Promise((r) => setTimeout(r, 0)),
  };
}

/** Dispatches a click on `el` as a user would (bubbling, cancelable). */
export function click(window, el, init = {}) {
  const type = init.type || 'click';
  const event = new window.MouseEvent(type, { bubbles: true, cancelable: true, button: 0, ...init });
  el.dispatchEvent(event);
  return event;
}
