// The test site: one set of pages, served with a different tracker per host name
// (ours.gemeente.test, plausible.gemeente.test, matomo.gemeente.test; Chromium maps them
// to 127.0.0.1). node:http only, on 127.0.0.1 and a free port.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const site = path.join(here, '..', 'site');
const modules = path.join(here, '..', 'node_modules');

/** Files served from npm packages, as a site would serve its bundled copy. */
const vendor = {
  '/vendor/plausible.js': path.join(modules, '@plausible-analytics/tracker/plausible.js'),
  '/vendor/matomo-tracker.js': path.join(modules, 'matomo-tracker-react-native/src/MatomoTracker.js'),
};

/** The `<head>` snippet of each tracker variant; `luister` is Luister's base URL. */
export function trackerSnippet(variant, luister) {
  const base = `<script>window.LUISTER = ${JSON.stringify(luister)};</script>`;
  switch (variant) {
    case 'ours':
      return `${base}
  <script>window.luister = window.luister || function () { (window.luister.q = window.luister.q || []).push(arguments); };</script>
  <script defer data-domain="ours.gemeente.test" data-allow-local data-track="outbound,downloads,404,engagement" src="${luister}/js/script.full.js"></script>
  <script src="/variant/ours.js"></script>`;
    case 'plausible':
      return `${base}\n  <script type="module" src="/variant/plausible.js"></script>`;
    case 'matomo':
      return `${base}\n  <script type="module" src="/variant/matomo.js"></script>`;
    default:
      return base;
  }
}

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.pdf': 'application/pdf' };

/** Which page file answers a path; `null` is the 404 page. */
function pageFor(pathname) {
  if (pathname === '/' || pathname === '/index.html') return 'index.html';
  if (pathname === '/zoeken') return 'zoeken.html';
  if (pathname === '/lang' || pathname.startsWith('/lang/')) return 'lang.html';
  if (pathname === '/spa' || pathname.startsWith('/spa/')) return 'spa.html';
  return null;
}

/** Starts the server; resolves to `{ port, close() }`. */
export async function startStaticServer({ luister }) {
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://localhost');
      const variant = (req.headers.host || '').split('.')[0];
      if (vendor[url.pathname] || url.pathname.startsWith('/variant/')) {
        const file = vendor[url.pathname] || path.join(site, 'variant', path.basename(url.pathname));
        res.writeHead(200, { 'content-type': types['.js'], 'cache-control': 'no-store' });
        return res.end(await readFile(file));
      }
      if (url.pathname === '/docs/afvalkalender.pdf') {
        res.writeHead(200, { 'content-type': types['.pdf'], 'content-disposition': 'attachment; filename="afvalkalender.pdf"' });
        return res.end(await readFile(path.join(site, 'docs', 'afvalkalender.pdf')));
      }
      const page = pageFor(url.pathname);
      const html = await readFile(path.join(site, page || '404.html'), 'utf8');
      res.writeHead(page ? 200 : 404, { 'content-type': types['.html'], 'cache-control': 'no-store' });
      res.end(html.replace('<!-- tracker -->', trackerSnippet(variant, luister)));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

