/** Shared pieces of the tests: building a strategy on fixed inputs, and closeness checks. */
import assert from 'node:assert/strict';
import { selectBackend } from '../src/core/index.js';
import { referenceStep, type RefStepOutput } from '../src/strategies/reference.js';
import { roundBf16 } from './bf16.js';
import type { Communicator } from '../src/comm/communicator.js';
import { singleCommunicator } from '../src/comm/local.js';
import { closeness, exampleConfig, f64, lcg, outlierBatch, splitBatch } from '../src/strategies/harness.js';
import {
  createStrategy,
  DEFAULT_SGD,
  MARGINS,
  validateFcConfig,
  type BatchSource,
  type FcConfig,
  type Strategy,
} from '../src/strategies/index.js';

// The inputs and closeness measure are the public harness's (pfc-bench/strategy), so the tests
// and a plugin author's tests judge alike.
export { f64, lcg, outlierBatch, splitBatch };

/**
 * The backend the op, strategy and memory tests run on: cpu, or the one $PFC_TEST_BACKEND names
 * (test/cuda-sim.test.ts runs those test files again with cuda-sim, the .cu kernels on the host).
 */
export function testBackend() {
  const name = process.env.PFC_TEST_BACKEND ?? 'cpu';
  const { backend } = selectBackend(name);
  assert.equal(backend.name, name, `PFC_TEST_BACKEND=${name} gave backend ${backend.name}`);
  return backend;
}

export function smallConfig(overrides: Partial<FcConfig> = {}): FcConfig {
  return exampleConfig({ strategy: 'model-parallel', ...overrides });
}

export function buildStrategy(config: FcConfig, source: BatchSource, comm: Communicator = singleCommunicator()): Strategy {
  return createStrategy({ backend: testBackend(), comm, config, source });
}

/**
 * fp32 against float64: the relative (Frobenius) error must be below relTol, and each element
 * within elementTol of the largest magnitude. The element bound is looser because a saturated
 * softmax (p_target = 1 - 1e-8 at s = 64) leaves p - 1 below fp32's resolution, and the
 * normalization backward divides by small norms; a real bug is off by O(1).
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, relTol = 2e-4, elementTol = 3e-3): void {
  const why = closeness(actual, expected, relTol, elementTol);
  if (why !== null) assert.fail(`${what}: ${why}`);
}

/** The float64 reference step for `config` from the given state and global batch, rounding
 * where the step stores bf16 when config.dtype is bf16. */
export function referenceStepFor(
  config: FcConfig,
  state: { weights: Float64Array; momentum: Float64Array },
  features: ArrayLike<number>,
  labels: Int32Array,
  active: number[] | null,
): RefStepOutput {
  return referenceStep({
    weights: state.weights,
    momentum: state.momentum,
    classes: config.classes,
    dim: config.dim,
    features: f64(features),
    labels,
    margin: config.margin,
    lr: config.sgd.lr,
    mu: config.sgd.momentum,
    weightDecay: config.sgd.weightDecay,
    dense: config.update !== 'sparse', // lazy-dense must equal dense once flushed
    active,
    ...(config.dtype === 'bf16' ? { round: roundBf16 } : {}),
  });
}


// Chosen when the test file loads: the simulated device replaces the process's core, and every
// later core() call must already see it.
if (process.env.PFC_TEST_BACKEND) testBackend();

/**
 * `steps` steps of `config` on one rank over the outlier batch, each against the float64
 * reference step (rounded where the step stores bf16): loss, feature gradient, centres and
 * momentum. elementTol is assertClose's per-element bound.
 */
export function checkStepsAgainstReference(config: FcConfig, options: { steps?: number; gradTol?: number; elementTol?: number } = {}): void {
  const { steps = 3, gradTol = 2e-4, elementTol = 3e-3 } = options;
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, 11);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  try {
    let weights = f64(strategy.weights.read());
    let momentum = f64(strategy.momentum.read());
    const timer = testBackend().createTimer();
    for (let step = 0; step < steps; step++) {
      strategy.step(step, timer);
      const indices = strategy.activeIndices();
      const ref = referenceStepFor(config, { weights, momentum }, features, labels, indices ? Array.from(indices) : null);
      const loss = strategy.loss();
      assert.ok(loss !== null && Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss) + 1e-5, `step ${step}: loss ${loss} vs ${ref.loss}`);
      assertClose(strategy.featureGrad.read(), ref.featureGrad, `step ${step}: feature gradient`, gradTol, elementTol);
      assertClose(strategy.weights.read(), ref.weights, `step ${step}: centres`, 1e-5, elementTol);
      assertClose(strategy.momentum.read(), ref.momentum, `step ${step}: momentum`, 2e-4, elementTol);
      weights = ref.weights;
      momentum = ref.momentum;
    }
  } finally {
    strategy.dispose();
  }
}
