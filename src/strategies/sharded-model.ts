/**
 * The analytic model of the sharded FC step (sharded-softmax.ts), shared by model parallel and
 * Partial FC: the bytes per category one rank allocates and the work of one step, from the
 * shapes alone. It mirrors the buffers ShardedSoftmaxFc allocates; the memory test checks the
 * two agree byte for byte.
 */
import type { BytesByCategory } from '../core/binding.js';
import type { LazyDenseClock } from './descriptor.js';
import type { CollectiveRecord } from '../comm/communicator.js';
import { STORAGE_BYTES, fcStepWork, zeroBytes, type StepWork } from '../model/bytes.js';
import type { KernelShapes } from '../model/device-scratch.js';
import { alignedColumns, fusedScratchColumns, fusedTileColumns, localBatch, shardOf, type FcConfig } from './config.js';

/** What sets a sharded strategy's bytes apart: how it chooses its active centres. */
export interface ActiveSetShape {
  /** The most active centres a step can have on a shard of `shardSize`. */
  capacity(shardSize: number): number;
  /** The workspace the choice of active centres needs. */
  selectionBytes(shardSize: number, capacity: number): number;
  /** The descriptor's lazyDenseClock: 'per-shard-row' adds an int32 per centre under lazy-dense. */
  lazyDenseClock: LazyDenseClock;
}

/** Rank `rank`'s bytes for the sharded step whose active centres are chosen as `shape` says. */
export function shardedMemory(config: FcConfig, rank: number, shape: ActiveSetShape): BytesByCategory {
  const { capacity, selectionBytes } = shape;
  const f = 4;
  const s = STORAGE_BYTES[config.dtype];
  const D = config.dim;
  const B = config.batch;
  const b = localBatch(config);
  const shard = shardOf(config.classes, config.ranks, rank);
  const A = capacity(shard.size);
  // Logits' leading dimension aligned: padded columns, padded centre and gradient rows.
  const ld = alignedColumns(A);
  const m = zeroBytes();
  m.centres = shard.size * D * f;
  m.optimizer = shard.size * D * f;
  // lazy-dense keeps each centre's last-updated step (int32) beside its momentum.
  if (config.update === 'lazy-dense' && shape.lazyDenseClock === 'per-shard-row') m.optimizer += shard.size * 4;
  m.features = b * D * f + B * D * f + B * D * s + B * f + B * D * f;
  m.communication = b * D * f;
  m.workspace = b * f + 7 * B * f + selectionBytes(shard.size, A);
  m.activeCentres = ld * D * s + A * f;
  m.weightGrad = ld * D * f;
  m.logits = B * ld * s;
  if (config.logits === 'fused') Object.assign(m, fusedLogitsMemory(config, A));
  return m;
}

/**
 * --logits fused: the categories that shrink to one tile of T active centres (the rest is the
 * materialized step's). The logits category is the B x T scratch.
 */
function fusedLogitsMemory(config: FcConfig, capacity: number): Pick<BytesByCategory, 'activeCentres' | 'weightGrad' | 'logits'> {
  const s = STORAGE_BYTES[config.dtype];
  const T = fusedScratchColumns(config, capacity);
  const ld = alignedColumns(T);
  return { activeCentres: ld * config.dim * s + T * 4, weightGrad: ld * config.dim * 4, logits: config.batch * ld * s };
}

/**
 * --logits fused: the active columns whose logits the gradient pass recomputes: every tile's but
 * the last (still in the scratch after the statistics pass). 0 when materialized.
 */
export function fusedRecomputedColumns(config: FcConfig, activeCentres: number, capacity: number): number {
  if (config.logits !== 'fused' || activeCentres === 0) return 0;
  const T = fusedTileColumns(config, capacity);
  return T * Math.floor((activeCentres - 1) / T);
}

/**
 * One step over the whole gathered batch against `activeCentres` (of at most `capacity`),
 * updating `updatedRows` `updatePasses` times (lazy-dense reads and writes its rows twice:
 * catch-up, then update). --logits fused adds a fourth GEMM over the recomputed columns.
 */
export function shardedWork(config: FcConfig, activeCentres: number, update: { updatedRows: number; updatePasses?: number; capacity: number }): StepWork {
  const recomputed = fusedRecomputedColumns(config, activeCentres, update.capacity);
  return fcStepWork({
    rows: config.batch,
    active: activeCentres,
    dim: config.dim,
    storageBytes: STORAGE_BYTES[config.dtype],
    updatedRows: update.updatedRows,
    updatePasses: update.updatePasses,
    gemms: 3 + (activeCentres > 0 ? recomputed / activeCentres : 0),
  });
}

/**
 * The sharded step's collectives (sharded-softmax.ts): gather the features and labels, all-reduce
 * the row max, then the row sums with the target logits, reduce-scatter the feature gradient.
 */
export function shardedCollectives(config: FcConfig): CollectiveRecord[] {
  const N = config.ranks;
  const B = config.batch;
  const D = config.dim;
  return [
    { kind: 'allGather', label: 'features', bytes: B * D * 4, ranks: N },
    { kind: 'allGather', label: 'labels', bytes: B * 4, ranks: N },
    { kind: 'allReduce', op: 'max', label: 'rowMax', bytes: B * 4, ranks: N },
    { kind: 'allReduce', op: 'sum', label: 'rowSum+targetLogit', bytes: 2 * B * 4, ranks: N },
    { kind: 'reduceScatter', label: 'featureGrad', bytes: B * D * 4, ranks: N },
  ];
}

/**
 * The softmax passes over the B x A logits (one per tile when fused: tiles of T, the last one
 * shorter) and, for a strategy that samples, its shard: what the device scratch is sized by.
 */
export function shardedKernelShapes(config: FcConfig, rank: number, capacity: (shardSize: number) => number, samples: boolean): KernelShapes {
  const shard = shardOf(config.classes, config.ranks, rank);
  const A = capacity(shard.size);
  const columns: number[] = [];
  if (config.logits === 'fused' && A > 0) {
    const T = fusedTileColumns(config, A);
    for (let offset = 0; offset < A; offset += T) columns.push(Math.min(T, A - offset));
  } else {
    columns.push(A);
  }
  return { softmaxRows: config.batch, softmaxColumns: columns, sampledShard: samples ? shard.size : 0 };
}
