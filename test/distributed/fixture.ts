/**
 * The inputs the MPI tests share between the workers (run under mpirun) and the test file that
 * checks their output: an odd problem (C not divisible by N, D odd), a global batch with
 * outliers, repeated labels (within a rank and across ranks) and a label on every shard.
 */
import { outlierBatch, smallConfig } from '../helpers.js';
import { shardOf, type FcConfig } from '../../src/strategies/index.js';

export const CLASSES = 41; // 41 mod 2 = 1, mod 3 = 2, mod 4 = 1
export const DIM = 9;
export const LOCAL_BATCH = 4;
export const STEPS = 3;
const BATCH_SEED = 23;

export interface FcCase {
  name: string;
  overrides: Partial<FcConfig>;
}

export const CASES: readonly FcCase[] = [
  { name: 'model-parallel', overrides: { strategy: 'model-parallel' } },
  { name: 'partial-fc sparse', overrides: { strategy: 'partial-fc', sampleRate: 0.3, update: 'sparse' } },
  { name: 'partial-fc dense', overrides: { strategy: 'partial-fc', sampleRate: 0.3, update: 'dense' } },
  { name: 'partial-fc lazy-dense', overrides: { strategy: 'partial-fc', sampleRate: 0.3, update: 'lazy-dense' } },
  { name: 'data-parallel', overrides: { strategy: 'data-parallel' } },
  // The logit-free step (--logits fused); tiles that divide no shard (C_r = 10..21 here, ~3-7 sampled).
  { name: 'model-parallel fused', overrides: { strategy: 'model-parallel', logits: 'fused', tile: 4 } },
  { name: 'partial-fc sparse fused', overrides: { strategy: 'partial-fc', sampleRate: 0.3, update: 'sparse', logits: 'fused', tile: 3 } },
  { name: 'partial-fc dense fused', overrides: { strategy: 'partial-fc', sampleRate: 0.3, update: 'dense', logits: 'fused', tile: 2 } },
  { name: 'partial-fc lazy-dense fused', overrides: { strategy: 'partial-fc', sampleRate: 0.3, update: 'lazy-dense', logits: 'fused', tile: 3 } },
];

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
