/**
 * --dtype end to end: bf16 runs on the CPU backend (the measured bytes per category equal the
 * model, the loss stays near fp32's), and fp16 is refused with a UsageError that says why
 * (finding 7: the softmax gradient underflows fp16 without loss scaling), before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCell } from '../src/bench/cell.js';
import { expandScenario } from '../src/bench/scenario.js';
import { UsageError } from '../src/core/errors.js';
import { MEMORY_CATEGORIES } from '../src/core/binding.js';
import { BF16_UNIT_ROUNDOFF } from './bf16.js';
import { smallConfig } from './helpers.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

test('fp16 is refused by the configuration check, naming --dtype and the underflow', () => {
  assert.throws(
    () => smallConfig({ dtype: 'fp16' }),
    (error: unknown) => error instanceof UsageError && /--dtype/.test(error.message) && /6e-8/.test(error.message) && /use bf16/.test(error.message),
  );
});

test('pfc-bench run --dtype fp16 exits 2 before any cell runs; the message says why and what to use', () => {
  const r = spawnSync(process.execPath, [cli, 'run', '--backend', 'cpu', '--mode', 'single', '--classes', '100', '--batch', '8', '--dim', '8', '--dtype', 'fp16', '--no-report', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--dtype: fp16 storage is refused: the softmax gradient .* underflows/);
  assert.doesNotMatch(r.stdout, /completed/);
});

test('a bf16 cell on the CPU backend completes; its measured bytes at the peak equal the model per category, its loss is near fp32', () => {
  const cell = { mode: 'single', strategy: 'partial-fc', sampleRate: 0.2, classes: 3000, batch: 32, dim: 64, steps: 2, warmup: 1, backend: 'cpu' };
  const [fp32, bf16] = expandScenario({ name: 't', description: '', defaults: {}, cells: [cell, { ...cell, dtype: 'bf16' }] }).map((spec) => runCell(spec));
  for (const r of [fp32, bf16]) assert.equal(r.status, 'completed', r.error);
  const memory = bf16.memory!;
  for (const category of MEMORY_CATEGORIES) assert.equal(memory.atPeak[category], memory.modelBytes![category], `bf16 ${category}: measured at the peak vs model`);
  // The storage halves: logits and the normalized features and centres.
  assert.equal(memory.atPeak.logits * 2, fp32.memory!.atPeak.logits, 'bf16 logits are half of fp32');
  // The same steps on the same data: a cosine moves by about 3u (features, centres and the cosine
  // each rounded once), a logit by s times that, the loss (log-sum-exp minus the target) by twice.
  const loss = bf16.loss!;
  assert.ok(Number.isFinite(loss) && loss !== fp32.loss, `bf16 loss ${loss} is finite, and not fp32's ${fp32.loss}`);
  assert.ok(Math.abs(loss - fp32.loss!) <= 2 * 64 * 3 * BF16_UNIT_ROUNDOFF, `bf16 loss ${loss} vs fp32 ${fp32.loss}`);
});
