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
import { numSampled, type Shard } from './config.js';
import { ShardedSoftmaxFc, type ActiveSet } from './sharded-softmax.js';
import type { Strategy, StrategyContext, TensorOwner } from './strategy.js';

/** Most centres a step can activate: all positives (at most min(B, C_r)) or the sampled count. */
export function sampledCapacity(batch: number, shardSize: number, sampleRate: number): number {
  return Math.max(Math.min(batch, shardSize), numSampled(sampleRate, shardSize));
}

export function createPartialFc(ctx: StrategyContext): Strategy {
  const { backend, config } = ctx;
  return new ShardedSoftmaxFc('partial-fc', ctx, (shard: Shard, owner: TensorOwner): ActiveSet => {
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
