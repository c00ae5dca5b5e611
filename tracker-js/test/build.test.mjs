// The checked-in dist/ files: size budgets, up to date with src/, and free of
// anything the privacy rules forbid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { build, VARIANTS } from '../build.mjs';
import { root } from './helpers.mjs';

const dist = (file) => readFileSync(join(root, 'dist', file), 'utf8');

const BUDGETS = { 'script.js': 890, 'script.full.js': 1682 };

for (const [file, budget] of Object.entries(BUDGETS)) {
  test(`${file} is at most ${budget} bytes gzipped`, () => {
    const size = gzipSync(Buffer.from(dist(file))).length;
    assert.ok(size <= budget, `${file}: ${size} bytes gzipped, budget ${budget}`);
  });
}

test('dist/ is up to date with src/ (run `npm run build` if this fails)', async () => {
  const fresh = await build();
  assert.deepEqual(Object.keys(fresh).sort(), Object.keys(VARIANTS).sort());
  for (const [file, code] of Object.entries(fresh)) {
    assert.ok(code === dist(file), `dist/${file} differs from a fresh build of src/`);
  }
});

test('`node build.mjs --out DIR` writes the same files as dist/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'luister-tracker-'));
  try {
    execFileSync(process.execPath, [join(root, 'build.mjs'), '--out', dir]);
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(VARIANTS).sort());
    for (const file of Object.keys(VARIANTS)) {
      assert.ok(readFileSync(join(dir, file), 'utf8') === dist(file), file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('build flags are resolved: no FULL left, extensions only in the full build', () => {
  for (const file of Object.keys(VARIANTS)) assert.doesNotMatch(dist(file), /\bFULL\b/, file);
  for (const word of ['engagement', 'Outbound Link: Click', 'File Download', 'Form: Submit', 'luister:404']) {
    assert.ok(!dist('script.js').includes(word), `script.js should not contain ${word}`);
    assert.ok(dist('script.full.js').includes(word), `script.full.js should contain ${word}`);
  }
});

test('no cookies, storage writes, console output or fingerprinting APIs in dist/', () => {
  const forbidden = [
    'cookie', 'setItem', 'sessionStorage', 'indexedDB', 'console', 'canvas', 'getContext',
    'WebGL', 'AudioContext', 'plugins', 'hardwareConcurrency', 'deviceMemory', 'screen',
    'getBattery', 'mediaDevices', 'fonts', 'XMLHttpRequest', 'eval(',
  ];
  for (const file of Object.keys(VARIANTS)) {
    for (const word of forbidden) {
      assert.ok(!dist(file).includes(word), `${file} contains ${word}`);
    }
  }
});

test('dist/ files are plain self-contained scripts (one IIFE, no imports or exports)', () => {
  for (const file of Object.keys(VARIANTS)) {
    const code = dist(file);
    assert.match(code, /^!function\(/, file);
    assert.doesNotMatch(code, /\b(import|export)\b/, file);
    // It parses as a classic script.
    assert.doesNotThrow(() => new Function(code), file);
  }
});
