/**
 * The module's own tests, with pfc-bench's harness (pfc-bench/strategy): every example under
 * every declared update and logits mode against the float64 reference, the memory model byte for
 * byte, and the definition itself: each step activates every positive plus exactly K negatives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MARGINS,
  buildStrategy,
  capabilityFailures,
  cpuBackend,
  exampleCases,
  exampleConfig,
  memoryMismatch,
  outlierBatch,
  referenceMismatch,
  splitBatch,
  useStrategy,
} from 'pfc-bench/strategy';
import { fixedNegatives, negativesPerStep, positivesInShard } from '../src/index.js';

useStrategy(fixedNegatives);

test('every declared capability holds on the first example (what pfc-bench checks when it loads the module)', () => {
  assert.deepEqual(capabilityFailures(fixedNegatives.name), []);
});

for (const c of exampleCases(fixedNegatives)) {
  test(`${c.name}: the float64 reference step on its active centres, 3 steps (cosface, arcface)`, () => {
    for (const margin of [MARGINS.cosface, MARGINS.arcface]) {
      assert.equal(referenceMismatch(exampleConfig({ ...c.overrides, strategy: fixedNegatives.name, margin }), { steps: 3 }), null);
    }
  });
  test(`${c.name}: tagged bytes = memory model, rank 0 and 2 of 3`, () => {
    for (const rank of [0, 2]) {
      const config = exampleConfig({ ...c.overrides, strategy: fixedNegatives.name, ranks: 3, batch: 3 * Math.ceil((c.overrides.batch ?? 6) / 3), classes: 101 });
      assert.equal(memoryMismatch(config, rank), null);
    }
  });
}

test('each step activates every positive of the shard plus exactly K = floor(rho C_r) distinct negatives', () => {
  for (const [classes, batch, rate] of [[37, 6, 0.3], [50, 12, 0.05], [200, 16, 0.1]] as const) {
    const config = exampleConfig({ strategy: fixedNegatives.name, classes, batch, dim: 8, sampleRate: rate });
    const { features, labels } = outlierBatch(batch, 8, classes, 5);
    const strategy = buildStrategy(config, splitBatch(features, labels, 1, 8));
    try {
      const K = negativesPerStep(rate, classes);
      const positives = new Set(labels);
      for (let step = 0; step < 3; step++) {
        strategy.step(step, cpuBackend().createTimer());
        const active = Array.from(strategy.activeIndices()!);
        assert.equal(new Set(active).size, active.length, 'distinct');
        for (const p of positives) assert.ok(active.includes(p), `positive ${p} active`);
        assert.equal(active.length, Math.min(classes, positivesInShard(labels, 0, classes) + K), `${classes} classes, rate ${rate}: P + K active`);
        assert.equal(strategy.activeCentres(), active.length);
      }
    } finally {
      strategy.dispose();
    }
  }
});
