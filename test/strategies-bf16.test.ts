/**
 * bf16 storage on the CPU backend, whole steps: every strategy (and update rule, and the
 * logit-free step) against the float64 reference of the step rounding to bf16 where the step
 * stores bf16 (test/reference.ts `round`: normalized features and centres, cosines, dlogits).
 *
 * Tolerances, from bf16's unit roundoff u = 2^-8: the CPU's fp32 operands before each rounding
 * differ from the reference's float64 ones by fp32 rounding only (~1e-6 relative), so both round
 * to the same bf16 value except where the two straddle a rounding boundary, a chance of about
 * 1e-6 / u ~ 2^-12 per stored element, one bf16 step (2u relative) when it happens. So the
 * whole-array (Frobenius) errors stay at fp32's level, as in strategies.test.ts (2e-4), 10x
 * below what a missing or misplaced rounding leaves (~u / 2 relative, checked below: the
 * unrounded reference fails the same bound), while single elements may be one step off:
 * element bound 2u of the array's scale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStepsAgainstReference, assertClose, buildStrategy, testBackend, f64, outlierBatch, referenceStepFor, smallConfig, splitBatch } from './helpers.js';
import { BF16_UNIT_ROUNDOFF } from './bf16.js';
import { MARGINS, type FcConfig } from '../src/strategies/index.js';

const STEPS = 3;
const REL = 2e-4;
const ELEMENT = 2 * BF16_UNIT_ROUNDOFF;

function checkAgainstReference(overrides: Partial<FcConfig>, gradTol = REL): void {
  checkStepsAgainstReference(smallConfig({ ...overrides, dtype: 'bf16' }), { steps: STEPS, gradTol, elementTol: ELEMENT });
}

for (const [marginName, margin] of Object.entries({ cosface: MARGINS.cosface, arcface: MARGINS.arcface })) {
  test(`bf16: model parallel matches the float64 full softmax rounded where bf16 is stored (${marginName})`, () => {
    checkAgainstReference({ strategy: 'model-parallel', margin });
  });
  test(`bf16: data parallel matches the float64 full softmax rounded where bf16 is stored (${marginName})`, () => {
    checkAgainstReference({ strategy: 'data-parallel', margin });
  });
  for (const update of ['sparse', 'dense', 'lazy-dense'] as const) {
    test(`bf16: partial-fc rate 0.3 ${update} matches the rounded float64 reference (${marginName})`, () => {
      checkAgainstReference({ strategy: 'partial-fc', sampleRate: 0.3, update, margin });
    });
  }
  test(`bf16: fused logits (tile 5; partial-fc lazy-dense tile 4) match the rounded float64 reference (${marginName})`, () => {
    checkAgainstReference({ strategy: 'model-parallel', margin, logits: 'fused', tile: 5 });
    checkAgainstReference({ strategy: 'partial-fc', sampleRate: 0.3, update: 'lazy-dense', margin, logits: 'fused', tile: 4 });
  });
}

// With D <= 5 every cosine is near +-1 and the s = 64 softmax saturates: the gradient bound of
// strategies.test.ts's odd shapes (1e-3), still below a missing rounding's error.
test('bf16: odd shapes (D = 1 with a batch of 1; D = 5 with 101 classes, dense) match the rounded reference', () => {
  checkAgainstReference({ strategy: 'model-parallel', classes: 3, dim: 1, batch: 1 }, 1e-3);
  checkAgainstReference({ strategy: 'partial-fc', classes: 101, dim: 5, batch: 2, sampleRate: 0.05, update: 'dense' }, 1e-3);
});

test('the bf16 bounds see the rounding: the unrounded float64 reference is outside them', () => {
  const config = smallConfig({ strategy: 'model-parallel', dtype: 'bf16' });
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 11);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  try {
    const state = { weights: f64(strategy.weights.read()), momentum: f64(strategy.momentum.read()) };
    strategy.step(0, testBackend().createTimer());
    const unrounded = referenceStepFor({ ...config, dtype: 'fp32' }, state, features, labels, null);
    assert.throws(() => assertClose(strategy.featureGrad.read(), unrounded.featureGrad, 'feature gradient vs the unrounded reference', REL, ELEMENT), /relative error/);
  } finally {
    strategy.dispose();
  }
});
