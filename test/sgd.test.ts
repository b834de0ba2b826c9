/** Sparse (seed, v1) versus dense (arcface_torch, v2) updates over several steps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStrategy, cpuBackend, outlierBatch, smallConfig, splitBatch } from './helpers.js';

function run(update: 'sparse' | 'dense', steps: number) {
  const config = smallConfig({ strategy: 'partial-fc', classes: 200, sampleRate: 0.05, update, sgd: { lr: 0.01, momentum: 0.9, weightDecay: 0.01 } });
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 5);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  const initial = Float64Array.from(strategy.weights.read());
  const everActive = new Set<number>();
  const timer = cpuBackend().createTimer();
  for (let s = 0; s < steps; s++) {
    strategy.step(s, timer);
    for (const i of strategy.activeIndices()!) everActive.add(i);
  }
  const result = { config, initial, weights: Float64Array.from(strategy.weights.read()), momentum: Float64Array.from(strategy.momentum.read()), everActive };
  strategy.dispose();
  return result;
}

test('sparse: rows never sampled keep their centre and zero momentum', () => {
  const { config, initial, weights, momentum, everActive } = run('sparse', 4);
  let untouched = 0;
  for (let j = 0; j < config.classes; j++) {
    const row = (a: Float64Array) => a.subarray(j * config.dim, (j + 1) * config.dim);
    if (everActive.has(j)) {
      assert.notDeepEqual(row(weights), row(initial), `active row ${j} moved`);
      continue;
    }
    untouched++;
    assert.deepEqual(row(weights), row(initial), `inactive row ${j} untouched`);
    assert.ok(row(momentum).every((v) => v === 0), `inactive row ${j} keeps zero momentum`);
  }
  assert.ok(untouched > 100, `most rows stay inactive (${untouched})`);
});

test('dense: rows never sampled decay as w_k = w_0 * (decay recurrence) with g = 0', () => {
  const steps = 4;
  const { config, initial, weights, momentum, everActive } = run('dense', steps);
  const { lr, momentum: mu, weightDecay: wd } = config.sgd;
  for (let j = 0; j < config.classes; j++) {
    if (everActive.has(j)) continue;
    for (let c = 0; c < config.dim; c++) {
      const e = j * config.dim + c;
      let w = initial[e];
      let v = 0;
      for (let s = 0; s < steps; s++) {
        v = mu * v + wd * w;
        w -= lr * v;
      }
      assert.ok(Math.abs(weights[e] - w) <= 1e-6 * Math.abs(initial[e]) + 1e-12, `row ${j}: ${weights[e]} vs ${w}`);
      assert.ok(Math.abs(momentum[e] - v) <= 1e-5 * Math.abs(v) + 1e-12, `row ${j} momentum: ${momentum[e]} vs ${v}`);
    }
    assert.notEqual(weights[j * config.dim], initial[j * config.dim], `inactive row ${j} decayed`);
  }
});
