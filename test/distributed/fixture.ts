/**
 * The inputs the MPI tests share between the workers (run under mpirun) and the test file that
 * checks their output: an odd problem (C not divisible by N, D odd), a global batch with
 * outliers, repeated labels (within a rank and across ranks) and a label on every shard.
 */
import { outlierBatch, smallConfig } from '../helpers.js';
import { shardOf, strategyDescriptors, type FcConfig } from '../../src/strategies/index.js';
import { exampleCases } from '../../src/strategies/harness.js';

export const CLASSES = 41; // 41 mod 2 = 1, mod 3 = 2, mod 4 = 1
export const DIM = 9;
export const LOCAL_BATCH = 4;
export const STEPS = 3;
const BATCH_SEED = 23;

export interface FcCase {
  name: string;
  overrides: Partial<FcConfig>;
}

/**
 * Every registered strategy's first example under each update and logits mode it declares (the
 * example's shape replaced by this fixture's; fused tiles of 2-4 divide no shard: C_r = 10..21
 * here, ~3-7 sampled). A new strategy is run over MPI by registering it: a strategy module's too,
 * when the workers get it through PFC_STRATEGY_MODULES and the checking process has loaded it.
 * Computed when asked, so that modules loaded after this file's import count.
 */
export function fixtureCases(): FcCase[] {
  return strategyDescriptors().flatMap((d) =>
    exampleCases(d, { firstOnly: true }).map((c) => {
      const { classes: _c, ranks: _r, batch: _b, dim: _d, ...overrides } = c.overrides;
      return { name: `${d.name} ${c.update} ${c.logits}`, overrides: c.logits === 'fused' ? { ...overrides, tile: Math.min(overrides.tile ?? 3, 4) } : overrides };
    }),
  );
}

export function caseConfig(c: FcCase, ranks: number): FcConfig {
  return smallConfig({ classes: CLASSES, ranks, batch: LOCAL_BATCH * ranks, dim: DIM, ...c.overrides });
}

/** The global batch (B = LOCAL_BATCH * ranks rows), rank r's rows at [r*b, (r+1)*b). */
export function globalBatch(ranks: number): { features: Float32Array; labels: Int32Array } {
  const B = LOCAL_BATCH * ranks;
  const { features, labels } = outlierBatch(B, DIM, CLASSES, BATCH_SEED);
  // outlierBatch: labels[0] = 0, labels[1] = C - 1, labels[3] = labels[2]. Then one label in
  // every shard, and rank 0's first label again on the last rank (repeated across ranks).
  for (let r = 0; r < ranks; r++) {
    const shard = shardOf(CLASSES, ranks, r);
    labels[4 + r] = shard.offset + ((r * 5) % shard.size);
  }
  labels[B - 1] = labels[0];
  return { features, labels };
}

/** What a worker writes for one case on one rank. */
export interface RankCaseOutput {
  name: string;
  shard: { offset: number; size: number };
  initialWeights: number[];
  initialMomentum: number[];
  steps: {
    loss: number | null;
    featureGrad: number[];
    weights: number[];
    momentum: number[];
    /** Sampled centres as global class ids (partial-fc), null when all are active. */
    active: number[] | null;
    log: unknown[];
  }[];
  memory: MemoryOutput;
  emulated: { logs: unknown[][]; memory: MemoryOutput };
}

export interface MemoryOutput {
  peak: Record<string, number>;
  atTotalPeak: Record<string, number>;
  totalPeak: number;
}

export interface RankOutput {
  rank: number;
  size: number;
  version: string;
  cases: RankCaseOutput[];
}
