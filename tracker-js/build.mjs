// Builds dist/script.js (default) and dist/script.full.js (all opt-in extensions)
// from src/tracker.js. `node build.mjs` writes dist/; `node build.mjs --out DIR`
// writes elsewhere. The output is deterministic, so a test can rebuild and
// compare it with the checked-in dist/.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { minify } from 'terser';

const root = dirname(fileURLToPath(import.meta.url));

export const VARIANTS = {
  'script.js': { FULL: false },
  'script.full.js': { FULL: true },
};

// Shared by both variants; changing anything here changes dist/ (then a test in
// test/build.test.mjs asks for `npm run build`).
const TERSER_OPTIONS = {
  ecma: 2020,
  compress: {
    passes: 3,
    drop_console: true,
    unsafe_arrows: true,
    unsafe_methods: true,
  },
  mangle: true,
  format: { comments: false },
};

/** Minifies one variant of `source` (also used by feature-cost.mjs). */
export async function minifyVariant(source, defs) {
  const options = structuredClone(TERSER_OPTIONS);
  options.compress.global_defs = defs;
  const result = await minify(source, options);
  return result.code + '\n';
}

export async function build(source) {
  source ??= await readFile(join(root, 'src', 'tracker.js'), 'utf8');
  const out = {};
  for (const [file, defs] of Object.entries(VARIANTS)) {
    out[file] = await minifyVariant(source, defs);
  }
  return out;
}

async function main() {
  const i = process.argv.indexOf('--out');
  const dir = i > 0 ? process.argv[i + 1] : join(root, 'dist');
  await mkdir(dir, { recursive: true });
  for (const [file, code] of Object.entries(await build())) {
    await writeFile(join(dir, file), code);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
