/**
 * The configuration of one FC layer run, its validation (every error names the option), and
 * the shard arithmetic of the step (docs/design.md).
 */
import type { Margin } from '../core/binding.js';
import { UsageError, suggest } from '../core/errors.js';

/** A registered strategy's name (registry.ts lists them and validates the name). */
export type StrategyName = string;
/** sparse: the seed (v1); dense: arcface_torch (v2), what PyTorch pays; lazy-dense: ours, dense's
 * result at sparse cost (idle rows caught up exactly when next read). */
export const UPDATE_KINDS = ['sparse', 'dense', 'lazy-dense'] as const;
export type UpdateKind = (typeof UPDATE_KINDS)[number];
/** materialized: the B x A logits stored (the seed, PyTorch); fused (ours, the logit-free step):
 * tiles of T active centres, logits recomputed in the gradient pass, O(B x T) scratch. */
export const LOGITS_KINDS = ['materialized', 'fused'] as const;
export type LogitsKind = (typeof LOGITS_KINDS)[number];
export const STORAGE_DTYPES = ['fp32', 'bf16', 'fp16'] as const;
export type StorageDType = (typeof STORAGE_DTYPES)[number];

/**
 * Why --dtype fp16 is refused (docs/design.md, "Storage types"): the softmax gradient is
 * written back into the logits' storage without loss scaling, and fp16's smallest subnormal is
 * 2^-24 (6e-8): at millions of active centres the gradient s * p / B of an ordinary class falls
 * below it and becomes 0. bf16 has fp32's exponent range in the same two bytes.
 */
export const FP16_REFUSAL =
  "fp16 storage is refused: the softmax gradient written back into fp16 logits (no loss scaling) " +
  'underflows: s * p / B falls below 6e-8, fp16\'s smallest subnormal, at large active-centres x batch, ' +
  'and becomes 0; use bf16 (2 bytes, fp32\'s exponent range) or fp32';

export const MARGINS: Record<string, Margin> = {
  cosface: { s: 64, m1: 1, m2: 0, m3: 0.4 },
  arcface: { s: 64, m1: 1, m2: 0.5, m3: 0 },
  combined: { s: 64, m1: 1, m2: 0.3, m3: 0.2 },
  sphereface: { s: 64, m1: 1.35, m2: 0, m3: 0 },
  softmax: { s: 64, m1: 1, m2: 0, m3: 0 },
};

export interface SgdConfig {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface FcConfig {
  strategy: StrategyName;
  /** Total identities C over all ranks. */
  classes: number;
  /** Ranks N (GPUs). */
  ranks: number;
  /** Global batch B = N * b. */
  batch: number;
  /** Embedding dimension D. */
  dim: number;
  sampleRate: number;
  update: UpdateKind;
  margin: Margin;
  sgd: SgdConfig;
  seed: number;
  /** Storage of normalized features, active centres and logits (fp32 accumulation); fp16 is
   * refused (FP16_REFUSAL). */
  dtype: StorageDType;
  /** Absent: materialized. */
  logits?: LogitsKind;
  /** fused: active centres per tile; 0 or absent: from TILE_SCRATCH_BUDGET (fusedTileColumns). */
  tile?: number;
}

export const DEFAULT_SGD: SgdConfig = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };

export interface Shard {
  offset: number;
  size: number;
}

/** Rank r's class centres: floor(C/N) + (r < C mod N) rows from offset o_r. */
export function shardOf(classes: number, ranks: number, rank: number): Shard {
  const base = Math.floor(classes / ranks);
  const extra = classes % ranks;
  return { offset: rank * base + Math.min(rank, extra), size: base + (rank < extra ? 1 : 0) };
}

export function localBatch(config: FcConfig): number {
  return config.batch / config.ranks;
}

/** Logits' leading dimension: the active count rounded up to 64 elements (128-byte rows in
 * bf16) so the GEMMs keep their aligned kernels; the extra columns are masked. */
export const LOGITS_ALIGN = 64;
export function alignedColumns(active: number): number {
  return Math.ceil(active / LOGITS_ALIGN) * LOGITS_ALIGN;
}

/** The logit-free step's default scratch: B x T logits, T x D normalized centres and their
 * gradient, T norms. Large enough that each tile's GEMMs run at full speed. */
export const TILE_SCRATCH_BUDGET = 64 * 2 ** 20;

/** fused: the columns the tile scratch holds for a shard of `capacity` active centres at most:
 * --tile, or the most that fit TILE_SCRATCH_BUDGET (a multiple of LOGITS_ALIGN). Never falls as
 * the capacity grows, so the memory model stays monotonic for the capacity search. */
export function fusedScratchColumns(config: FcConfig, capacity: number): number {
  const requested = config.tile ?? 0;
  if (requested > 0) return Math.max(1, Math.min(requested, capacity));
  const s = config.dtype === 'fp32' ? 4 : 2;
  const perColumn = config.batch * s + config.dim * s + config.dim * 4 + 4;
  const fit = Math.max(LOGITS_ALIGN, Math.floor(TILE_SCRATCH_BUDGET / perColumn / LOGITS_ALIGN) * LOGITS_ALIGN);
  return Math.max(1, Math.min(capacity, fit));
}

/** fused: the active centres per tile. --tile, or as few tiles of equal width (aligned) as the
 * scratch allows, so the last tile, which the gradient pass does not recompute, is as wide as
 * the others. */
export function fusedTileColumns(config: FcConfig, capacity: number): number {
  const scratch = fusedScratchColumns(config, capacity);
  if ((config.tile ?? 0) > 0) return scratch;
  const tiles = Math.max(1, Math.ceil(capacity / scratch));
  return Math.min(scratch, alignedColumns(Math.ceil(capacity / tiles)));
}

/** floor(rho * C_r): the sampled count before positives are added. */
export function numSampled(sampleRate: number, shardSize: number): number {
  return Math.floor(sampleRate * shardSize + 1e-9);
}

function requireInteger(option: string, value: number, min: number): void {
  if (!Number.isFinite(value) || !Number.isInteger(value)) throw new UsageError(option, `expected an integer, got ${value}`);
  if (value < min) throw new UsageError(option, `expected an integer >= ${min}, got ${value}`);
}

export function requireChoice<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(option, `unknown value '${value}'; expected one of ${allowed.join(', ')}${suggest(value, allowed)}`);
  }
  return value as T;
}

/**
 * Throws a UsageError naming the first option that makes the shapes impossible (whatever the
 * strategy; registry.ts's validateFcConfig adds what depends on the strategy).
 */
export function validateFcShapes(config: FcConfig): FcConfig {
  requireChoice('--update', config.update, UPDATE_KINDS);
  requireChoice('--dtype', config.dtype, STORAGE_DTYPES);
  if (config.dtype === 'fp16') throw new UsageError('--dtype', FP16_REFUSAL);
  requireChoice('--logits', config.logits ?? 'materialized', LOGITS_KINDS);
  requireInteger('--tile', config.tile ?? 0, 0);
  requireInteger('--gpus', config.ranks, 1);
  requireInteger('--classes', config.classes, 1);
  requireInteger('--batch', config.batch, 1);
  requireInteger('--dim', config.dim, 1);
  requireInteger('--seed', config.seed, 0);
  if (config.classes < config.ranks) {
    throw new UsageError('--classes', `${config.classes} classes cannot be split over ${config.ranks} GPUs (need classes >= gpus)`);
  }
  if (config.batch % config.ranks !== 0) {
    throw new UsageError('--batch', `global batch ${config.batch} is not divisible by ${config.ranks} GPUs`);
  }
  if (!(config.sampleRate > 0 && config.sampleRate <= 1)) {
    throw new UsageError('--sample-rate', `expected a number in (0, 1], got ${config.sampleRate}`);
  }
  const smallest = shardOf(config.classes, config.ranks, config.ranks - 1).size;
  if (numSampled(config.sampleRate, smallest) < 1) {
    throw new UsageError('--sample-rate', `${config.sampleRate} samples no centre from a shard of ${smallest} classes`);
  }
  if (config.classes > 2 ** 31 - 1) throw new UsageError('--classes', 'at most 2^31 - 1 classes');
  const m = config.margin;
  for (const [k, v] of Object.entries(m)) {
    if (!Number.isFinite(v)) throw new UsageError('--margin', `${k} must be a finite number`);
  }
  if (!(m.s > 0)) throw new UsageError('--margin', `scale s must be positive, got ${m.s}`);
  if (!(m.m1 > 0)) throw new UsageError('--margin', `m1 must be positive, got ${m.m1}`);
  const { lr, momentum, weightDecay } = config.sgd;
  if (!(lr >= 0) || !(momentum >= 0 && momentum < 1) || !(weightDecay >= 0)) {
    throw new UsageError('--lr/--momentum/--weight-decay', 'expected lr >= 0, 0 <= momentum < 1, weight decay >= 0');
  }
  return config;
}
