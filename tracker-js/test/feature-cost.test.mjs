// feature-cost.mjs still fits src/tracker.js, and README.md shows its current
// tables (run `node feature-cost.mjs --write` if this fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { costs, cut, table, readmeBlock } from '../feature-cost.mjs';
import { root } from './helpers.mjs';

test('every cut in feature-cost.mjs fits src/tracker.js and README.md has the current table', async () => {
  const result = await costs(); // throws when a cut no longer fits
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.equal(readmeBlock(readme).text, table(result),
    'README.md has an old feature-cost table: run `node feature-cost.mjs --write`');
});

test('a cut that does not fit fails loudly', () => {
  assert.throws(() => cut('var a = 1;', 'x', [['var b = 2;', '']]), /no longer fits/);
  assert.throws(() => cut('a; a;', 'x', [['a;', '']]), /matches 2 times/);
  assert.throws(() => cut('a; a;', 'x', [[/a;/, '']]), /matches 2 times/);
  assert.throws(() => cut('b', 'x', [[/a/g, '']]), /matches 0 times/);
  assert.equal(cut('a; a;', 'x', [[/a;/g, '']]), ' ');
});
