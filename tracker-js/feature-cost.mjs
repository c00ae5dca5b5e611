// What each feature of the tracker costs in gzipped bytes: builds the script
// once with everything and once without each feature (src/tracker.js with the
// code of that feature cut out, minified exactly like build.mjs does) and
// prints the difference, measured like test/build.test.mjs measures the budget
// (zlib.gzipSync, default level). The cut variants exist only for measuring;
// they are not tested and never served.
//
//   node feature-cost.mjs            # prints the Markdown tables
//   node feature-cost.mjs --write    # and puts them into README.md
//
// Every cut must still fit src/tracker.js (see cut()), and must change the
// build, so a change to the source that a cut no longer fits makes this script
// fail (exit code 1) instead of printing wrong numbers. test/feature-cost.test.mjs
// runs it and checks that README.md shows the current tables.
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { minifyVariant, VARIANTS } from './build.mjs';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * [feature, cuts] for the default build. A cut is [from, to]: `from` is a
 * string that must occur exactly once, or a RegExp that must match (exactly
 * once unless it has the g flag); it is replaced by `to`. Cuts leave code that
 * still parses; what the cut build would then do is not tested, only measured.
 */
export const DEFAULT_FEATURES = [
  ['SPA: `pushState` and `popstate` are pageviews', [
    [/    var push = w\.history\.pushState;[^]*?w\.addEventListener\('popstate', page\);\n/, ''],
  ]],
  ['the same URL twice in a row is one pageview', [
    ["if (lastPage != (lastPage = hashMode ? loc.href : loc.href.split('#')[0])) {", 'if (1) {'],
  ]],
  ['`data-hash` (hash routing, `"h":1`)', [
    ['var hashMode = data.hash != null;', 'var hashMode = 0;'],
  ]],
  ['queue: calls made before the script loaded', [
    ['(previous && previous.q || []).map(function (args) { return track(...args); });', ''],
  ]],
  ['loaded twice on a page counts once', [
    ['if (previous && previous.l) return;', ''],
    ['(w.luister = track).l = 1;', 'w.luister = track;'],
  ]],
  ['custom event `props` (as strings, null dropped)', [
    [/        if \(src\) \{[^]*?\n        \}\n/, ''],
  ]],
  ['custom event `revenue`', [
    ['if (opts.revenue) body.revenue = opts.revenue;', ''],
  ]],
  ['custom event `interactive: false`', [
    ['if (opts.interactive === false) body.i = false;', ''],
  ]],
  ['`callback` (after the request, or at once)', [
    [', done = opts.callback', ''],
    ['.then(done, done), done = 0', ''],
    ['done && done();', ''],
  ]],
  ["site search: `luister('search', {query, results})`", [
    ["if (name == 'search') src = { query: opts.query, results: opts.results, ...src };", ''],
  ]],
  ['site search: result count of a result page on its pageview', [
    [/    var first = d\.querySelector[^]*?\{ props: \{ results: first \} \};\n/, '    var first;\n'],
  ]],
  ['opt-out: `localStorage.luister_ignore`', [
    [/        try \{ optOut = [^\n]*\n/, ''],
    ['optOut || ', ''],
  ]],
  ['opt-out: `window.luister_ignore`', [
    ['w.luister_ignore || ', ''],
  ]],
  ['opt-out: `<html data-luister-ignore>`', [
    ['html.dataset.luisterIgnore != null || ', ''],
  ]],
  ['not counted on localhost, `file:`, webdriver (`data-allow-local`)', [
    [/    var local = [^;]*;/, '    var local = 0;'],
  ]],
  ['`data-exclude` path globs', [
    [/    var excluded = RegExp[^]*?\)\$'\);\n/, ''],
    ['excludedPage = excluded.test(loc.pathname);', ''],
  ]],
  ['`data-api` (else `/api/event` at the origin of `src`)', [
    ["data.api || new URL('/api/event', script.src || loc.href).href", "'/api/event'"],
  ]],
  ['`navigator.sendBeacon` when there is no `fetch`', [
    ['if (w.fetch) w.fetch(', 'w.fetch('],
    ['else nav.sendBeacon(api, body);', ''],
  ]],
  ['errors never reach the page (`try`/`catch` around every entry point)', [
    [/try \{\n/g, '{\n'],
    ['try { fn(a); }', '{ fn(a); }'],
    [/\} catch \(e\) \{ \/\* never break the host page \*\/ \}/g, '}'],
  ]],
];

/** The same for the extensions of the full build. */
export const FULL_FEATURES = [
  ['`outbound` links', [[/on\('outbound'\)/g, '0']]],
  ['`downloads`', [
    [/on\('downloads'\)/g, '0'],
    [/      var extensions = list[^]*?\}\);\n/, ''],
    ["var ext = link.pathname.split('.').pop().toLowerCase();", ''],
  ]],
  ['`404`', [[/on\('404'\)/g, '0']]],
  ['`forms`', [[/on\('forms'\)/g, '0']]],
  ['`engagement`', [["var engagement = on('engagement');", 'var engagement = 0;']]],
];

const gz = (code) => gzipSync(Buffer.from(code)).length;

/** `source` with the cuts of one feature applied; throws when a cut does not fit. */
export function cut(source, feature, cuts) {
  for (const [from, to] of cuts) {
    const hits = typeof from === 'string'
      ? source.split(from).length - 1
      : [...source.matchAll(new RegExp(from.source, from.flags.replace('g', '') + 'g'))].length;
    const many = typeof from !== 'string' && from.global;
    if (hits === 0 || (hits > 1 && !many)) {
      throw new Error(`feature-cost: cut for "${feature}" no longer fits src/tracker.js: ` +
        `${from} matches ${hits} times (update the cut in feature-cost.mjs)`);
    }
    source = source.replace(from, typeof from === 'string' ? () => to : to);
  }
  return source;
}

/** Minifies a cut source; throws when the cut left broken code or changed nothing. */
async function minifyCut(source, defs, feature, baseCode) {
  let code;
  try {
    code = await minifyVariant(source, defs);
  } catch (e) {
    throw new Error(`feature-cost: cut for "${feature}" leaves code terser cannot read: ${e.message}`);
  }
  if (code === baseCode) {
    throw new Error(`feature-cost: cut for "${feature}" changes nothing in the build (dead code?)`);
  }
  return code;
}

/**
 * Sizes in gzipped bytes: `base` of both builds, `rows` [build, feature, cost]
 * (each feature cut alone), and `core`: script.js with every feature of the
 * table cut at once (pageview on load and `luister(name)` only).
 */
export async function costs() {
  const source = await readFile(join(root, 'src', 'tracker.js'), 'utf8');
  const def = VARIANTS['script.js'], full = VARIANTS['script.full.js'];
  const code = { default: await minifyVariant(source, def), full: await minifyVariant(source, full) };
  const base = { default: gz(code.default), full: gz(code.full) };
  const rows = [];
  let all = source;
  for (const [feature, cuts] of DEFAULT_FEATURES) {
    const cutCode = await minifyCut(cut(source, feature, cuts), def, feature, code.default);
    rows.push(['script.js', feature, base.default - gz(cutCode)]);
    all = cut(all, feature, cuts);
  }
  const core = gz(await minifyCut(all, def, 'every feature', code.default));
  for (const [feature, cuts] of FULL_FEATURES) {
    const cutCode = await minifyCut(cut(source, feature, cuts), full, feature, code.full);
    rows.push(['script.full.js', feature, base.full - gz(cutCode)]);
  }
  return { base, rows, core };
}

/** The Markdown that README.md shows. */
export function table({ base, rows, core }) {
  const own = rows.filter(([file]) => file === 'script.js');
  const ext = rows.filter(([file]) => file === 'script.full.js');
  const sum = own.reduce((n, [, , bytes]) => n + bytes, 0);
  const lines = [
    '| `dist/script.js` feature | gzipped bytes |',
    '| --- | ---: |',
    ...own.map(([, feature, bytes]) => `| ${feature} | ${bytes} |`),
    `| **total: \`dist/script.js\`** | **${base.default}** |`,
    `| sum of the rows above (each cut alone; gzip shares bytes between features) | ${sum} |`,
    `| pageview on load and \`luister(name)\` only (every row above cut at once) | ${core} |`,
    '',
    '| `dist/script.full.js` extension | gzipped bytes |',
    '| --- | ---: |',
    ...ext.map(([, feature, bytes]) => `| ${feature} | ${bytes} |`),
    `| **total: \`dist/script.full.js\`** | **${base.full}** |`,
  ];
  return lines.join('\n');
}

export const README_START = '<!-- feature-cost:start (node feature-cost.mjs --write) -->';
export const README_END = '<!-- feature-cost:end -->';

/** The tables as README.md has them, between README_START and README_END. */
export function readmeBlock(readme) {
  const start = readme.indexOf(README_START), end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`feature-cost: README.md lacks ${README_START} … ${README_END}`);
  return { start: start + README_START.length, end, text: readme.slice(start + README_START.length, end).trim() };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const markdown = table(await costs());
  console.log(markdown);
  if (process.argv.includes('--write')) {
    const path = join(root, 'README.md');
    const readme = await readFile(path, 'utf8');
    const { start, end } = readmeBlock(readme);
    await writeFile(path, readme.slice(0, start) + '\n\n' + markdown + '\n\n' + readme.slice(end));
  }
}
