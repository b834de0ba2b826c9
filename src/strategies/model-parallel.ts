/**
 * Model parallel: every rank holds C/N class centres and computes the logits of the whole
 * gathered batch against all of them; the softmax is distributed over the shards.
 */
import { core } from '../core/binding.js';
import { ShardedSoftmaxFc, type ActiveSet } from './sharded-softmax.js';
import { shardOf, type Shard } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';
import type { StrategyDescriptor } from './descriptor.js';
import { fusedRecomputedColumns, shardedKernelShapes, shardedMemory, shardedWork } from './sharded-model.js';

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
  return new ShardedSoftmaxFc('model-parallel', ctx, (shard) => allCentres(shard));
}

export const modelParallel: StrategyDescriptor = {
  name: 'model-parallel',
  summary: 'C/N centres per rank, every one active; the softmax distributed over the shards',
  samples: false,
  colours: ['#4e79a7'],
  order: 1,
  create: createModelParallel,
  memory: (config, rank) => shardedMemory(config, rank, (shardSize) => shardSize, () => 0),
  work: (config, active, shardSize) => shardedWork(config, active, { updatedRows: shardSize, capacity: shardSize }),
  recomputedColumns: (config, active, rank) => fusedRecomputedColumns(config, active, shardOf(config.classes, config.ranks, rank).size),
  kernelShapes: (config, rank) => shardedKernelShapes(config, rank, (shardSize) => shardSize, false),
  gemmRows: (config) => config.batch,
  title: () => 'Model Parallel',
  label: (config, detailed) => (detailed ? `model-parallel ${config.update}` : 'model-parallel'),
  sortKey: () => 0,
};
