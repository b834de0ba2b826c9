/**
 * The test harness of a strategy, for pfc-bench's own tests and for a strategy module's author
 * (pfc-bench/strategy exports it): the descriptor's examples expanded over its declared
 * capabilities, a fixed batch with outliers, and the checks every strategy must pass on one
 * process on the CPU:
 *   - reference: loss, feature gradient, centres and momentum after each step equal the float64
 *     step of docs/design.md (reference.ts) over the centres the strategy reports active;
 *   - memory: the tagged bytes per category it allocates equal its descriptor's memory model;
 *   - collectives: one emulated step logs the collectives its descriptor declares.
 * A strategy module's descriptors are checked with these when it loads (modules.ts): a declared
 * capability the strategy does not implement fails one of them.
 */
import { MEMORY_CATEGORIES, core } from '../core/binding.js';
import { selectBackend } from '../core/index.js';
import { emulatedCommunicator, singleCommunicator } from '../comm/local.js';
import type { Communicator } from '../comm/communicator.js';
import { DEFAULT_SGD, MARGINS, validateFcShapes, type FcConfig, type LogitsKind, type UpdateKind } from './config.js';
import { FixedBatch, SyntheticBatch, type BatchSource } from './batch.js';
import type { StrategyDescriptor, StrategyExample } from './descriptor.js';
import { createStrategy, strategyOf, validateFcConfig } from './registry.js';
import { referenceStep, type RefStepOutput } from './reference.js';
import { modelMemory } from './memory-model.js';
import type { Strategy } from './strategy.js';

/** The small configuration examples and tests start from (37 classes, batch 6, D 19, one rank). */
export function exampleConfig(overrides: Partial<FcConfig> & { strategy: string }): FcConfig {
  return validateFcConfig({
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

/** One of a descriptor's examples under one update and one logits mode. */
export interface ExampleCase {
  /** "partial-fc lazy-dense fused (rate 0.3 of 37 classes)". */
  name: string;
  descriptor: StrategyDescriptor;
  example: StrategyExample;
  update: UpdateKind;
  logits: LogitsKind;
  /** The fields over exampleConfig's defaults. */
  overrides: Partial<FcConfig>;
}

/** The tile of an example's fused runs when it names none: one that divides no small shard. */
const DEFAULT_EXAMPLE_TILE = 4;

/**
 * Every example of the descriptor under every update and logits mode it declares (or the
 * first example only, with `firstOnly`): what the tests, the load check and the GPU check run.
 */
export function exampleCases(descriptor: StrategyDescriptor, options: { firstOnly?: boolean } = {}): ExampleCase[] {
  const examples = options.firstOnly ? descriptor.examples.slice(0, 1) : descriptor.examples;
  const out: ExampleCase[] = [];
  for (const example of examples) {
    for (const update of descriptor.updates) {
      for (const logits of descriptor.logits) {
        const { tile, logits: _logits, ...rest } = example.config;
        const overrides: Partial<FcConfig> = { ...rest, strategy: descriptor.name, update, ...(logits === 'fused' ? { logits, tile: tile || DEFAULT_EXAMPLE_TILE } : {}) };
        const name = `${descriptor.name} ${update} ${logits}${example.note ? ` (${example.note})` : ''}`;
        out.push({ name, descriptor, example, update, logits, overrides });
      }
    }
  }
  return out;
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

export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a as ArrayLike<number>);
}

/**
 * fp32 against float64: null when the relative (Frobenius) error is at most relTol and each
 * element is within elementTol of the largest magnitude; else what differs. The element bound is
 * looser because a saturated softmax (p_target = 1 - 1e-8 at s = 64) leaves p - 1 below fp32's
 * resolution, and the normalization backward divides by small norms; a real bug is off by O(1).
 */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, relTol = 2e-4, elementTol = 3e-3): string | null {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  let scale = 0;
  let errSq = 0;
  let refSq = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    errSq += (actual[i] - expected[i]) ** 2;
    refSq += expected[i] ** 2;
  }
  const relative = Math.sqrt(errSq) / Math.max(Math.sqrt(refSq), 1e-30);
  if (!(relative <= relTol) && Math.sqrt(errSq) > 1e-9) return `relative error ${relative} > ${relTol}`;
  const tol = elementTol * scale + 1e-7;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol)) return `element ${i} is ${actual[i]}, expected ${expected[i]} (|diff| ${diff} > ${tol}, scale ${scale})`;
  }
  return null;
}

/** The float64 reference step for `config` from the given state and global batch (lazy-dense must equal dense once flushed). */
export function referenceStepFor(config: FcConfig, state: { weights: Float64Array; momentum: Float64Array }, features: ArrayLike<number>, labels: Int32Array, active: number[] | null): RefStepOutput {
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
    dense: config.update !== 'sparse',
    active,
  });
}

export function cpuBackend() {
  return selectBackend('cpu').backend;
}

/** The strategy of `config` on this process's CPU, on a fixed global batch. */
export function buildStrategy(config: FcConfig, source: BatchSource, comm: Communicator = singleCommunicator()): Strategy {
  return createStrategy({ backend: cpuBackend(), comm, config, source });
}

/** The first step whose loss, feature gradient, centres or momentum is off the reference, in words; null when none is. */
export function referenceMismatch(config: FcConfig, options: { steps?: number; gradTol?: number; batchSeed?: number } = {}): string | null {
  const { steps = 3, gradTol = 2e-4, batchSeed = 11 } = options;
  validateFcShapes(config);
  if (config.ranks !== 1) throw new Error(`the reference check runs one rank (got ranks ${config.ranks})`);
  const { features, labels } = outlierBatch(config.batch, config.dim, config.classes, batchSeed);
  const strategy = buildStrategy(config, splitBatch(features, labels, 1, config.dim));
  try {
    let weights = f64(strategy.weights.read());
    let momentum = f64(strategy.momentum.read());
    const timer = cpuBackend().createTimer();
    for (let step = 0; step < steps; step++) {
      strategy.step(step, timer);
      const indices = strategy.activeIndices();
      const ref = referenceStepFor(config, { weights, momentum }, features, labels, indices ? Array.from(indices) : null);
      const loss = strategy.loss();
      if (!(loss !== null && Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss) + 1e-5)) return `step ${step}: loss ${loss}, expected ${ref.loss}`;
      const checks: [string, ArrayLike<number>, ArrayLike<number>, number, number?][] = [
        ['feature gradient', strategy.featureGrad.read(), ref.featureGrad, gradTol],
        ['centres', strategy.weights.read(), ref.weights, 1e-5],
        ['momentum', strategy.momentum.read(), ref.momentum, 2e-4],
      ];
      for (const [what, actual, expected, tol] of checks) {
        const off = closeness(actual, expected, tol);
        if (off) return `step ${step}: ${what}: ${off}`;
      }
      weights = ref.weights;
      momentum = ref.momentum;
    }
    return null;
  } finally {
    strategy.dispose();
  }
}

/**
 * The first category whose tagged bytes differ from the descriptor's memory model, after one step
 * of rank `rank` of `config.ranks` (emulated), in words; null when every category agrees. The
 * strategy's own tensors only (the CPU backend has no library workspace); all freed on dispose.
 */
export function memoryMismatch(config: FcConfig, rank = 0): string | null {
  const native = core();
  const before = native.memoryStats('cpu').current;
  const comm = config.ranks === 1 ? singleCommunicator() : emulatedCommunicator(rank, config.ranks);
  const strategy = createStrategy({ backend: cpuBackend(), comm, config, source: new SyntheticBatch(config.seed, config.classes) });
  let off: string | null = null;
  try {
    strategy.step(0, cpuBackend().createTimer());
    const now = native.memoryStats('cpu').current;
    const model = modelMemory(config, rank);
    for (const category of MEMORY_CATEGORIES) {
      const measured = now[category] - before[category];
      if (measured !== model[category]) {
        off = `${category}: allocated ${measured} B, the memory model says ${model[category]} B (${measured - model[category] > 0 ? '+' : ''}${measured - model[category]} B)`;
        break;
      }
    }
  } finally {
    strategy.dispose();
  }
  const after = native.memoryStats('cpu').current;
  for (const category of MEMORY_CATEGORIES) if (after[category] !== before[category]) return off ?? `${category}: ${after[category] - before[category]} B still allocated after dispose()`;
  return off;
}

/**
 * What differs between the collectives one emulated step of rank `rank` logs and the descriptor's
 * collectives(config) (kind, op, label, bytes, ranks, in order), in words; null when they agree.
 */
export function collectivesMismatch(config: FcConfig, rank = 0): string | null {
  const comm = emulatedCommunicator(rank, config.ranks);
  const strategy = createStrategy({ backend: cpuBackend(), comm, config, source: new SyntheticBatch(config.seed, config.classes) });
  try {
    strategy.step(0, cpuBackend().createTimer());
  } finally {
    strategy.dispose();
  }
  const key = (r: { kind: string; op?: string; label: string; bytes: number; ranks: number }) => `${r.kind}${r.op ? `(${r.op})` : ''} ${r.label} ${r.bytes} B over ${r.ranks}`;
  const logged = comm.log.map(key);
  const declared = strategyOf(config.strategy).collectives(config).map(key);
  return logged.join('; ') === declared.join('; ') ? null : `logged [${logged.join('; ')}], declared [${declared.join('; ')}]`;
}

/**
 * Every declared capability of a registered strategy, on its first example: each update and
 * logits mode must match the float64 reference for two steps and its memory model byte for byte.
 * A list of what failed, each naming the mode (empty: all good).
 */
export function capabilityFailures(name: string): string[] {
  const descriptor = strategyOf(name);
  const failures: string[] = [];
  for (const c of exampleCases(descriptor, { firstOnly: true })) {
    const modes = `--update ${c.update} --logits ${c.logits}`;
    try {
      const config = exampleConfig({ ...c.overrides, strategy: descriptor.name, ranks: 1 });
      const reference = referenceMismatch(config, { steps: 2 });
      if (reference) failures.push(`${modes}: not the float64 reference step for it (${reference})`);
      const memory = memoryMismatch(config);
      if (memory) failures.push(`${modes}: the memory model is not what it allocates (${memory})`);
      const collectives = collectivesMismatch({ ...config, ranks: 3, batch: 3 * config.batch, classes: Math.max(config.classes, 3) }, 1);
      if (collectives) failures.push(`${modes}: its collectives are not what it declares (${collectives})`);
    } catch (error) {
      failures.push(`${modes}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failures;
}
