/**
 * fixed-negatives: Partial FC's sharded step with a fixed number of sampled negatives per step.
 *
 * The candidate set of sampled softmax (Jean et al., "On Using Very Large Target Vocabulary for
 * Neural Machine Translation", ACL 2015; TensorFlow's sampled_softmax_loss): the true classes plus
 * a fixed number K of negatives drawn uniformly without replacement, shared by the whole batch.
 * With a uniform proposal the log Q(class) correction is the same for every candidate and cancels
 * in the softmax, so the loss is the plain softmax over the candidates. As in Partial FC (An et
 * al., 2021) the candidates are chosen per shard and every positive of the gathered batch is one
 * (a row's candidates include the other rows' positives, which TensorFlow's per-row form leaves
 * out).
 *
 * The difference from Partial FC: Partial FC activates max(P, floor(rho C_r)) centres of a shard
 * holding P positives, so the negatives shrink as positives crowd the sample (to none when P >=
 * rho C_r); here every step activates exactly P + K, K = floor(rho C_r) (fewer only when the shard
 * has fewer than P + K centres): the number of negatives per step is fixed.
 *
 * Everything below is pfc-bench's public strategy API (pfc-bench/strategy, version 1).
 */
import {
  ShardedSoftmaxFc,
  LOGITS_KINDS,
  UPDATE_KINDS,
  allocate,
  core,
  fusedRecomputedColumns,
  numSampled,
  shardOf,
  shardedCollectives,
  shardedKernelShapes,
  shardedMemory,
  shardedWork,
  streamId,
  type ActiveSet,
  type FcConfig,
  type NativeTensor,
  type Strategy,
  type StrategyContext,
  type StrategyDescriptor,
} from 'pfc-bench/strategy';

/** The strategy API version this module is written against (pfc-bench refuses another). */
export const apiVersion = 1;

/** K: the negatives a step samples on a shard of `shardSize` centres. */
export function negativesPerStep(sampleRate: number, shardSize: number): number {
  return numSampled(sampleRate, shardSize);
}

/** Most centres a step can activate: every positive (at most min(B, C_r)) plus K, at most the shard. */
export function fixedNegativesCapacity(batch: number, shardSize: number, sampleRate: number): number {
  return Math.min(shardSize, Math.min(batch, shardSize) + negativesPerStep(sampleRate, shardSize));
}

/** The distinct labels of the gathered batch that fall in [offset, offset + size). */
export function positivesInShard(labels: Int32Array, offset: number, size: number): number {
  const seen = new Set<number>();
  for (const label of labels) if (label >= offset && label < offset + size) seen.add(label);
  return seen.size;
}

function createFixedNegatives(ctx: StrategyContext): Strategy {
  const { backend, config } = ctx;
  return new ShardedSoftmaxFc(fixedNegatives, ctx, (shard, owner): ActiveSet => {
    const capacity = fixedNegativesCapacity(config.batch, shard.size, config.sampleRate);
    const keys = owner.own(allocate(backend, 'workspace', 'int32', shard.size, 2));
    const indices = owner.own(allocate(backend, 'workspace', 'int32', capacity));
    const negatives = negativesPerStep(config.sampleRate, shard.size);
    const spec = { shardOffset: shard.offset, shardSize: shard.size, numSampled: 0, seed: config.seed, stream: 0 };
    return {
      capacity,
      select(labels: NativeTensor, remapped: NativeTensor, step: number) {
        // sampleCentres takes every positive and fills up to numSampled with uniform negatives:
        // asking for P + K leaves exactly K negatives. P is counted from the gathered labels
        // (one small copy to the host per step on a GPU).
        const positives = positivesInShard(labels.read() as Int32Array, shard.offset, shard.size);
        spec.numSampled = Math.min(shard.size, positives + negatives);
        spec.stream = streamId('sampling', step);
        const count = core().sampleCentres(labels, spec, keys, indices, remapped);
        return { count, indices: indices.view(0, count) };
      },
    };
  });
}

const capacityOf = (config: FcConfig, shardSize: number) => fixedNegativesCapacity(config.batch, shardSize, config.sampleRate);

export const fixedNegatives: StrategyDescriptor = {
  name: 'fixed-negatives',
  summary: "Partial FC's shards with a fixed K = floor(rho * C_r) sampled negatives per step besides every positive (sampled softmax's candidate set)",
  samples: true,
  updates: UPDATE_KINDS,
  logits: LOGITS_KINDS,
  // Sampled rows sit steps out: lazy-dense keeps one int32 step per centre of the shard.
  lazyDenseClock: 'per-shard-row',
  // Centres sharded over the ranks, the batch gathered: Partial FC's step and collectives.
  layout: 'sharded',
  baseline: 'model-parallel',
  examples: [
    { config: { sampleRate: 0.3 }, note: 'K = 11 of 37 classes' },
    // Positives crowd the sample: 12 rows over 50 classes at rate 0.05 (K = 2).
    { config: { classes: 50, batch: 12, dim: 33, sampleRate: 0.05, tile: 5 }, note: 'more positives than K' },
  ],
  colours: ['#76b7b2', '#17becf', '#9edae5'],
  order: 3,
  create: createFixedNegatives,
  // Selection workspace as Partial FC's: the sampling keys (2 int32 per centre) and the indices.
  memory: (config, rank) =>
    shardedMemory(config, rank, {
      capacity: (shardSize) => capacityOf(config, shardSize),
      selectionBytes: (shardSize, capacity) => shardSize * 8 + capacity * 4,
      lazyDenseClock: fixedNegatives.lazyDenseClock,
    }),
  work: (config, active, shardSize) =>
    shardedWork(config, active, {
      updatedRows: config.update === 'dense' ? shardSize : active,
      updatePasses: config.update === 'lazy-dense' ? 2 : 1,
      capacity: capacityOf(config, shardSize),
    }),
  collectives: shardedCollectives,
  // Samples on the device every step, as Partial FC: the device scratch is sized by its shard too.
  kernelShapes: (config, rank) => shardedKernelShapes(config, rank, (shardSize) => capacityOf(config, shardSize), true),
  recomputedColumns: (config, active, rank) => fusedRecomputedColumns(config, active, capacityOf(config, shardOf(config.classes, config.ranks, rank).size)),
  gemmRows: (config) => config.batch,
  title: (config) => `Fixed negatives ${config.sampleRate} (${config.update})`,
  label: (config) => `fixed-negatives ${config.sampleRate} ${config.update}`,
  sortKey: (config) => 1 - config.sampleRate,
};

export default fixedNegatives;
