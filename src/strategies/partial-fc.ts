/**
 * Partial FC (An et al.): model parallel over a sampled subset of each shard's centres:
 * every positive plus uniformly random negatives, max(positives, floor(rho * C_r)) in all.
 * update 'sparse' (the seed, v1) touches only the sampled rows; 'dense' (arcface_torch's v2)
 * decays and moves every row's momentum; 'lazy-dense' (ours) gives dense's result touching only
 * the sampled rows: each catches up on the idle steps it sat out when next sampled, and every
 * row at a flush (ShardedSoftmaxFc.flush, run before the centres are read).
 */
import { core } from '../core/binding.js';
import { allocate } from '../core/backend.js';
import { streamId } from './batch.js';
import { LOGITS_KINDS, UPDATE_KINDS, numSampled, shardOf, type Shard } from './config.js';
import { ShardedSoftmaxFc, type ActiveSet } from './sharded-softmax.js';
import type { Strategy, StrategyContext, TensorOwner } from './strategy.js';
import type { StrategyDescriptor } from './descriptor.js';
import { fusedRecomputedColumns, shardedCollectives, shardedKernelShapes, shardedMemory, shardedWork } from './sharded-model.js';

/** Most centres a step can activate: all positives (at most min(B, C_r)) or the sampled count. */
export function sampledCapacity(batch: number, shardSize: number, sampleRate: number): number {
  return Math.max(Math.min(batch, shardSize), numSampled(sampleRate, shardSize));
}

export function createPartialFc(ctx: StrategyContext): Strategy {
  const { backend, config } = ctx;
  return new ShardedSoftmaxFc(partialFc, ctx, (shard: Shard, owner: TensorOwner): ActiveSet => {
    const capacity = sampledCapacity(config.batch, shard.size, config.sampleRate);
    const keys = owner.own(allocate(backend, 'workspace', 'int32', shard.size, 2));
    const indices = owner.own(allocate(backend, 'workspace', 'int32', capacity));
    const spec = {
      shardOffset: shard.offset,
      shardSize: shard.size,
      numSampled: numSampled(config.sampleRate, shard.size),
      seed: config.seed,
      stream: 0,
    };
    return {
      capacity,
      select(labels, remapped, step) {
        spec.stream = streamId('sampling', step);
        const count = core().sampleCentres(labels, spec, keys, indices, remapped);
        return { count, indices: indices.view(0, count) };
      },
    };
  });
}

export const partialFc: StrategyDescriptor = {
  name: 'partial-fc',
  summary: 'model parallel over a sampled subset: every positive plus random negatives, rho * C_r in all',
  samples: true,
  updates: UPDATE_KINDS,
  logits: LOGITS_KINDS,
  lazyDenseClock: 'per-shard-row',
  layout: 'sharded',
  examples: [
    { config: { sampleRate: 0.3 }, note: 'rate 0.3 of 37 classes' },
    { config: { classes: 300, ranks: 1, batch: 12, dim: 33, sampleRate: 0.05, tile: 7 }, note: 'positives can exceed the sample' },
  ],
  colours: ['#f28e2b', '#e15759', '#b07aa1', '#edc948', '#9c755f', '#76b7b2'],
  order: 2,
  create: createPartialFc,
  // Selection workspace: the sampling keys (2 int32 per centre of the shard) and the indices.
  memory: (config, rank) =>
    shardedMemory(config, rank, {
      capacity: (shardSize) => sampledCapacity(config.batch, shardSize, config.sampleRate),
      selectionBytes: (shardSize, capacity) => shardSize * 8 + capacity * 4,
      lazyDenseClock: partialFc.lazyDenseClock,
    }),
  // A dense update touches every row of the shard; the others (sparse, lazy-dense) the active rows only.
  work: (config, active, shardSize) =>
    shardedWork(config, active, {
      updatedRows: config.update === 'dense' ? shardSize : active,
      updatePasses: config.update === 'lazy-dense' ? 2 : 1,
      capacity: sampledCapacity(config.batch, shardSize, config.sampleRate),
    }),
  recomputedColumns: (config, active, rank) =>
    fusedRecomputedColumns(config, active, sampledCapacity(config.batch, shardOf(config.classes, config.ranks, rank).size, config.sampleRate)),
  collectives: shardedCollectives,
  // Samples on the device every step (rate 1 included).
  kernelShapes: (config, rank) => shardedKernelShapes(config, rank, (shardSize) => sampledCapacity(config.batch, shardSize, config.sampleRate), true),
  gemmRows: (config) => config.batch,
  // lazy-dense is this project's rule, not a published one: the names say so.
  title: (config) => `Partial FC ${config.sampleRate} (${config.update === 'lazy-dense' ? 'lazy-dense, ours' : config.update})`,
  label: (config) => `partial-fc ${config.sampleRate} ${config.update}${config.update === 'lazy-dense' ? ' (ours)' : ''}`,
  sortKey: (config) => 1 - config.sampleRate,
};
