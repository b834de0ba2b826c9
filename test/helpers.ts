/** Shared pieces of the tests: building a strategy on fixed inputs, and closeness checks. */
import assert from 'node:assert/strict';
import { selectBackend } from '../src/core/index.js';
import { referenceStep, type RefStepOutput } from '../src/strategies/reference.js';
import { roundBf16 } from './bf16.js';
import type { Communicator } from '../src/comm/communicator.js';
import { singleCommunicator } from '../src/comm/local.js';
import {
  createStrategy,
  DEFAULT_SGD,
  FixedBatch,
  MARGINS,
  validateFcConfig,
  type BatchSource,
  type FcConfig,
  type Strategy,
} from '../src/strategies/index.js';

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
  return validateFcConfig({
    strategy: 'model-parallel',
    classes: 37,
    ranks: 1,
    batch: 6,
    dim: 19,
    sampleRate: 1,
    update: 'sparse',
    margin: MARGINS.cosface,
    // A small rate keeps the softmax off saturation on a batch repeated every step (at s = 64
    // and lr 0.1 the loss falls to 1e-7 in one step, below what fp32 resolves).
    sgd: { ...DEFAULT_SGD, lr: 2e-4 },
    seed: 7,
    dtype: 'fp32',
    ...overrides,
  });
}

/** Deterministic pseudo-random numbers for test inputs (independent of the core's RNG). */
export function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * B x D features with outliers: a huge row, a tiny row, a row with one dominant entry,
 * and labels that repeat and land on the first and last class.
 */
export function outlierBatch(batch: number, dim: number, classes: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const rand = lcg(seed);
  const features = new Float32Array(batch * dim);
  for (let e = 0; e < features.length; e++) features[e] = rand() * 2 - 1;
  for (let c = 0; c < dim; c++) {
    features[c] *= 1e4; // row 0: huge norm
    if (batch > 1) features[dim + c] *= 1e-3; // row 1: tiny norm
  }
  if (batch > 2) features[2 * dim] = 300; // row 2: one dominant entry
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(rand() * classes);
  labels[0] = 0;
  if (batch > 1) labels[1] = classes - 1;
  if (batch > 3) labels[3] = labels[2]; // a repeated label
  return { features, labels };
}

/** Splits a global batch into per-rank sources. */
export function splitBatch(features: Float32Array, labels: Int32Array, ranks: number, dim: number): BatchSource {
  const b = labels.length / ranks;
  return new FixedBatch(
    Array.from({ length: ranks }, (_, r) => features.slice(r * b * dim, (r + 1) * b * dim)),
    Array.from({ length: ranks }, (_, r) => labels.slice(r * b, (r + 1) * b)),
  );
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
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  let errSq = 0;
  let refSq = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    errSq += (actual[i] - expected[i]) ** 2;
    refSq += expected[i] ** 2;
  }
  const relative = Math.sqrt(errSq) / Math.max(Math.sqrt(refSq), 1e-30);
  if (!(relative <= relTol) && Math.sqrt(errSq) > 1e-9) assert.fail(`${what}: relative error ${relative} > ${relTol}`);
  const tol = elementTol * scale + 1e-7;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (|diff| ${diff} > ${tol}, scale ${scale})`);
    }
  }
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

export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}

// Chosen when the test file loads: the simulated device replaces the process's core, and every
// later core() call must already see it.
if (process.env.PFC_TEST_BACKEND) testBackend();
