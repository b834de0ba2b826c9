/**
 * Every strategy on one process against the float64 reference of the step (docs/design.md):
 * loss, feature gradient, updated centres and momentum, over several SGD steps, on odd
 * shapes with outliers and repeated labels, for CosFace, ArcFace and a SphereFace-style m1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStepsAgainstReference, assertClose, buildStrategy, testBackend, f64, outlierBatch, referenceStepFor, smallConfig, splitBatch } from './helpers.js';
import { MARGINS, strategyDescriptors, type FcConfig } from '../src/strategies/index.js';
import { exampleCases } from '../src/strategies/harness.js';

const STEPS = 3;

function checkAgainstReference(overrides: Partial<FcConfig>, gradTol = 2e-4): void {
  checkStepsAgainstReference(smallConfig(overrides), { steps: STEPS, gradTol });
}

// Every registered strategy, each of its examples under every update and logits mode it declares
// (the descriptor's capabilities), against the float64 reference: a new strategy is tested by
// registering it. Fused examples use their tile (or 4), and a tile of one column.
for (const descriptor of strategyDescriptors()) {
  for (const c of exampleCases(descriptor)) {
    // Three margins on the first example, CosFace on the others.
    const margins = c.example === descriptor.examples[0] ? { cosface: MARGINS.cosface, arcface: MARGINS.arcface, sphereface: MARGINS.sphereface } : { cosface: MARGINS.cosface };
    for (const [marginName, margin] of Object.entries(margins)) {
      test(`${c.name} matches the float64 reference on its active centres (${marginName})`, () => {
        checkAgainstReference({ ...c.overrides, margin });
        // Tiles of one column too, on the small first example (on 300 classes it is 300 tiles a step).
        if (c.logits === 'fused' && c.example === descriptor.examples[0]) checkAgainstReference({ ...c.overrides, margin, tile: 1 });
      });
    }
  }
}

test('odd shapes, fused logits: D = 1 with a batch of 1 (tile 2 of 3), D = 5 with 101 classes (tile 3)', () => {
  checkAgainstReference({ strategy: 'model-parallel', classes: 3, dim: 1, batch: 1, logits: 'fused', tile: 2 }, 1e-3);
  checkAgainstReference({ strategy: 'partial-fc', classes: 101, dim: 5, batch: 2, sampleRate: 0.05, update: 'dense', logits: 'fused', tile: 3 }, 1e-3);
});

// With D <= 5 every cosine is near +-1 and the s = 64 softmax saturates: looser gradient bound.
test('odd shapes: D = 1 with a batch of 1, and D = 5 with 101 classes', () => {
  checkAgainstReference({ strategy: 'model-parallel', classes: 3, dim: 1, batch: 1 }, 1e-3);
  checkAgainstReference({ strategy: 'partial-fc', classes: 101, dim: 5, batch: 2, sampleRate: 0.05, update: 'dense' }, 1e-3);
});

// Fused and materialized side by side on the same inputs, step after step: the same
// step up to fp32 summation order (tiles change only where the row sums and dx are split).
function runSteps(config: FcConfig, steps: number) {
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 17);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  const timer = testBackend().createTimer();
  const out = [];
  try {
    for (let step = 0; step < steps; step++) {
      strategy.step(step, timer);
      out.push({ loss: strategy.loss()!, featureGrad: f64(strategy.featureGrad.read()), weights: f64(strategy.weights.read()), momentum: f64(strategy.momentum.read()) });
    }
  } finally {
    strategy.dispose();
  }
  return out;
}

for (const [name, base] of strategyDescriptors()
  .filter((d) => d.logits.includes('fused'))
  // Every update of a sampling strategy; one of the others (every row is active: their updates are one rule).
  .flatMap((d) => exampleCases(d, { firstOnly: true }).filter((c) => c.logits === 'materialized' && (d.samples || c.update === d.updates[0])).map((c) => [`${d.name} ${c.update}`, { ...c.overrides, sampleRate: d.samples ? 0.2 : 1 }] as const))) {
  test(`${name}: fused logits equal materialized over 4 steps (300 classes, D 33, batch 12; tiles 1, 7, 64)`, () => {
    const shape = { ...base, classes: 300, dim: 33, batch: 12, margin: MARGINS.arcface, sgd: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } };
    const materialized = runSteps(smallConfig(shape), 4);
    for (const tile of [1, 7, 64]) {
      const fused = runSteps(smallConfig({ ...shape, logits: 'fused', tile }), 4);
      fused.forEach((f, step) => {
        const m = materialized[step];
        const what = `tile ${tile}, step ${step}`;
        assert.ok(Math.abs(f.loss - m.loss) <= 1e-5 * Math.abs(m.loss), `${what}: loss ${f.loss} vs ${m.loss}`);
        assertClose(f.featureGrad, m.featureGrad, `${what}: feature gradient`, 1e-4, 1e-4);
        assertClose(f.weights, m.weights, `${what}: centres`, 1e-5, 1e-5);
        assertClose(f.momentum, m.momentum, `${what}: momentum`, 1e-4, 1e-4);
      });
    }
  });
}

test('fused: dx is the gradient at the centres before their update, which the reference tells apart from the updated ones', () => {
  const config = smallConfig({ strategy: 'model-parallel', margin: MARGINS.arcface, sgd: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }, logits: 'fused', tile: 5 });
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 11);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  try {
    const before = { weights: f64(strategy.weights.read()), momentum: f64(strategy.momentum.read()) };
    strategy.step(0, testBackend().createTimer());
    const ref = referenceStepFor(config, before, features, labels, null);
    const atUpdated = referenceStepFor(config, { weights: ref.weights, momentum: ref.momentum }, features, labels, null);
    assertClose(strategy.featureGrad.read(), ref.featureGrad, 'dx at the centres before the update');
    // The alternative is far outside the tolerance: a dx from updated centres would fail above.
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < ref.featureGrad.length; i++) {
      diff += (atUpdated.featureGrad[i] - ref.featureGrad[i]) ** 2;
      norm += ref.featureGrad[i] ** 2;
    }
    assert.ok(Math.sqrt(diff / norm) > 10 * 2e-4, `dx before vs after the update differ by ${Math.sqrt(diff / norm)}`);
  } finally {
    strategy.dispose();
  }
});
