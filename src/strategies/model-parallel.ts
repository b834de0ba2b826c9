/**
 * Model parallel: every rank holds C/N class centres and computes the logits of the whole
 * gathered batch against all of them; the softmax is distributed over the shards.
 */
import { core } from '../core/binding.js';
import { ShardedSoftmaxFc, type ActiveSet } from './sharded-softmax.js';
import type { Shard } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';

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
