/**
 * scripts/dtype-summary.ts: bf16 beside fp32 per configuration, every figure from the results
 * (bytes per category measured and modeled, the loss), and the committed reference summary
 * (reports/reference/bf16-cpu/summary.md) is still what the script writes from its results file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dtypeSummary } from '../scripts/dtype-summary.js';
import { runCell } from '../src/bench/cell.js';
import { expandScenario } from '../src/bench/scenario.js';
import { readResults } from '../src/compare/compare.js';
import type { ResultsFile } from '../src/bench/results.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

test('dtype-summary pairs the fp32 and bf16 cells of a configuration and prints their bytes and losses', () => {
  const cell = { mode: 'single', strategy: 'model-parallel', classes: 500, batch: 16, dim: 32, steps: 1, warmup: 0, backend: 'cpu' };
  const cells = expandScenario({ name: 't', description: '', defaults: {}, cells: [cell, { ...cell, dtype: 'bf16' }, { ...cell, classes: 700 }] }).map((spec) => runCell(spec));
  const [fp32, bf16] = cells;
  const text = dtypeSummary({ scenario: { name: 't' }, cells } as unknown as ResultsFile, 'r.json');
  assert.equal((text.match(/^### /gm) ?? []).length, 1, 'the 700-class cell has no bf16 twin: no table');
  const logits = (c: typeof fp32) => (c.memory!.atPeak.logits / 2 ** 20).toFixed(2);
  assert.match(text, new RegExp(`\\| logits \\| ${logits(fp32)} \\| ${logits(fp32)} \\| ${logits(bf16)} \\| ${logits(bf16)} \\| 0\\.500 \\|`));
  assert.match(text, /Measured = model in every category: fp32 yes, bf16 yes/);
  assert.ok(text.includes(`fp32 ${fp32.loss!.toFixed(6)}, bf16 ${bf16.loss!.toFixed(6)}`), text);
});

test('reports/reference/bf16-cpu/summary.md is the script\'s output for its results file', () => {
  const results = readResults(root('reports/reference/bf16-cpu/bf16-vs-fp32-cpu.json'));
  const summary = readFileSync(root('reports/reference/bf16-cpu/summary.md'), 'utf8');
  assert.equal(summary, `${dtypeSummary(results, 'bf16-vs-fp32-cpu.json')}\n`);
  assert.match(summary, /Measured = model in every category: fp32 yes, bf16 yes/);
});
