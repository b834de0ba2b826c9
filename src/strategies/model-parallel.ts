/**
 * Model parallel: every rank holds C/N class centres and computes the logits of the whole
 * gathered batch against all of them; the softmax is distributed over the shards.
 */
import { core } from '../core/binding.js';
import { ShardedSoftmaxFc, type ActiveSet } from './sharded-softmax.js';
import { LOGITS_KINDS, UPDATE_KINDS, shardOf, type Shard } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';
import type { StrategyDescriptor } from './descriptor.js';
import { fusedRecomputedColumns, shardedCollectives, shardedKernelShapes, shardedMemory, shardedWork } from './sharded-model.js';

/** Every centre of the shard is active; labels are shifted into the shard. */
export function allCentres(shard: Shard): ActiveSet {
  return {
    capacity: shard.size,
    select(labels, remapped) {
      core().shardLabels(labels, shard.offset, shard.size, remapped);
      return { count: shard.size, indices: null };
    },
  };
}

export function createModelParallel(ctx: StrategyContext): Strategy {
  return new ShardedSoftmaxFc(modelParallel, ctx, (shard) => allCentres(shard));
}

export const modelParallel: StrategyDescriptor = {
  name: 'model-parallel',
  summary: 'C/N centres per rank, every one active; the softmax distributed over the shards',
  samples: false,
  // Every row is active every step: the three updates are one rule, and lazy-dense needs no clock.
  updates: UPDATE_KINDS,
  logits: LOGITS_KINDS,
  lazyDenseClock: 'none',
  layout: 'sharded',
  // The baseline of the others' ratios, itself divided by nothing.
  baseline: null,
  examples: [
    { config: {}, note: '37 classes' },
    { config: { classes: 300, ranks: 1, batch: 12, dim: 33, tile: 7 }, note: '300 classes, D 33' },
  ],
  colours: ['#4e79a7'],
  order: 1,
  create: createModelParallel,
  memory: (config, rank) => shardedMemory(config, rank, { capacity: (shardSize) => shardSize, selectionBytes: () => 0, lazyDenseClock: modelParallel.lazyDenseClock }),
  work: (config, active, shardSize) => shardedWork(config, active, { updatedRows: shardSize, capacity: shardSize }),
  recomputedColumns: (config, active, rank) => fusedRecomputedColumns(config, active, shardOf(config.classes, config.ranks, rank).size),
  collectives: shardedCollectives,
  kernelShapes: (config, rank) => shardedKernelShapes(config, rank, (shardSize) => shardSize, false),
  gemmRows: (config) => config.batch,
  title: () => 'Model Parallel',
  label: (config, detailed) => (detailed ? `model-parallel ${config.update}` : 'model-parallel'),
  sortKey: () => 0,
};
