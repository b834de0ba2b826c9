/**
 * The FC step shared by model parallel and Partial FC (design.md section 2): class centres
 * sharded over ranks, features and labels all-gathered, the softmax distributed over the
 * shards. The two strategies differ only in which centres are active (an ActiveSet).
 */
import { core, type NativeTensor } from '../core/binding.js';
import { allocate, type StepTimer } from '../core/backend.js';
import { streamId } from './batch.js';
import { localBatch, shardOf, type Shard, type StrategyName } from './config.js';
import { TensorOwner, type Strategy, type StrategyContext } from './strategy.js';

/** Chooses the active centres of a step and maps the gathered labels onto them. */
export interface ActiveSet {
  /** Most active centres any step can have (buffers are sized for it). */
  readonly capacity: number;
  /** Sets `remapped` and returns the active count and their indices (null: all, in order). */
  select(labels: NativeTensor, remapped: NativeTensor, step: number): { count: number; indices: NativeTensor | null };
}

export class ShardedSoftmaxFc implements Strategy {
  readonly shard: Shard;
  readonly weights: NativeTensor;
  readonly momentum: NativeTensor;
  readonly featureGrad: NativeTensor;
  private readonly tensors = new TensorOwner();
  private readonly localFeatures: NativeTensor;
  private readonly localLabels: NativeTensor;
  private readonly features: NativeTensor; // B x D gathered
  private readonly labels: NativeTensor; // B gathered global labels
  private readonly remapped: NativeTensor; // B labels as active positions, -1 elsewhere
  private readonly normFeatures: NativeTensor; // B x D
  private readonly featureNorms: NativeTensor;
  private readonly featureGradFull: NativeTensor; // B x D partial sum before reduce-scatter
  private readonly normCentres: NativeTensor; // capacity x D
  private readonly centreNorms: NativeTensor;
  private readonly centreGrad: NativeTensor; // capacity x D
  private readonly logitsBuffer: NativeTensor; // B x capacity
  private readonly targetCos: NativeTensor;
  private readonly rowMax: NativeTensor;
  private readonly rowStats: NativeTensor; // [rowSum; targetLogit]: one all-reduce for both
  private readonly rowSum: NativeTensor;
  private readonly targetLogit: NativeTensor;
  private readonly set: ActiveSet;
  private active = 0;
  private indices: NativeTensor | null = null;

  constructor(
    readonly name: StrategyName,
    private readonly ctx: StrategyContext,
    makeActiveSet: (shard: Shard, owner: TensorOwner) => ActiveSet,
  ) {
    const { backend, config, comm } = ctx;
    const own = <T extends NativeTensor>(t: T) => this.tensors.own(t);
    const B = config.batch;
    const b = localBatch(config);
    const D = config.dim;
    this.shard = shardOf(config.classes, comm.size, comm.rank);
    this.weights = own(allocate(backend, 'centres', 'fp32', this.shard.size, D));
    this.momentum = own(allocate(backend, 'optimizer', 'fp32', this.shard.size, D));
    // Centres start as a seeded normal keyed by global class id: the same on any sharding.
    if (ctx.initialize !== false) {
      core().fillRandom(this.weights, config.seed, streamId('weights'), this.shard.offset * D, 'normal', 0, 0.01);
      core().fillConstant(this.momentum, 0);
    }
    this.localFeatures = own(allocate(backend, 'features', 'fp32', b, D));
    this.localLabels = own(allocate(backend, 'workspace', 'int32', b));
    this.features = own(allocate(backend, 'features', 'fp32', B, D));
    this.normFeatures = own(allocate(backend, 'features', config.dtype, B, D));
    this.featureNorms = own(allocate(backend, 'features', 'fp32', B));
    this.featureGradFull = own(allocate(backend, 'features', 'fp32', B, D));
    this.featureGrad = own(allocate(backend, 'communication', 'fp32', b, D));
    this.labels = own(allocate(backend, 'workspace', 'int32', B));
    this.remapped = own(allocate(backend, 'workspace', 'int32', B));
    this.targetCos = own(allocate(backend, 'workspace', 'fp32', B));
    this.rowMax = own(allocate(backend, 'workspace', 'fp32', B));
    this.rowStats = own(allocate(backend, 'workspace', 'fp32', 2 * B));
    this.rowSum = this.rowStats.view(0, B);
    this.targetLogit = this.rowStats.view(B, B);
    this.set = makeActiveSet(this.shard, this.tensors);
    const A = this.set.capacity;
    this.normCentres = own(allocate(backend, 'activeCentres', config.dtype, A, D));
    this.centreNorms = own(allocate(backend, 'activeCentres', 'fp32', A));
    this.centreGrad = own(allocate(backend, 'weightGrad', 'fp32', A, D));
    this.logitsBuffer = own(allocate(backend, 'logits', config.dtype, B, A));
  }

  step(step: number, timer: StepTimer): void {
    const native = core();
    const { comm, config, source } = this.ctx;
    const B = config.batch;
    source.fillFeatures(comm.rank, step, this.localFeatures);
    source.fillLabels(comm.rank, step, this.localLabels);

    timer.start();
    // 1. Gather the global batch.
    comm.allGather(this.localFeatures, this.features, 'features', (peer, rows) => source.fillFeatures(peer, step, rows));
    comm.allGather(this.localLabels, this.labels, 'labels', (peer, rows) => source.fillLabels(peer, step, rows));
    timer.mark('communication');

    // 2. Active centres (all of them for model parallel), labels remapped onto them.
    const { count: A, indices } = this.set.select(this.labels, this.remapped, step);
    this.active = A;
    this.indices = indices;
    timer.mark('sampling');

    // 3. cos = normalize(x) normalize(W[I])^T.
    const normCentres = this.normCentres.view(0, A);
    const centreNorms = this.centreNorms.view(0, A);
    native.normalizeRows(this.features, null, this.normFeatures, this.featureNorms);
    native.normalizeRows(this.weights, indices, normCentres, centreNorms);
    timer.mark('normalize');
    const logits = this.logitsBuffer.reshape(B, A);
    native.gemm(this.normFeatures, false, normCentres, true, logits, 1, 0);
    timer.mark('gemm');

    // 4. Margin, then the softmax with its statistics reduced over the shards.
    native.marginLogits(logits, this.remapped, config.margin, this.targetCos, this.rowMax);
    timer.mark('softmax');
    comm.allReduce(this.rowMax, 'max', 'rowMax');
    timer.mark('communication');
    native.expRowSum(logits, this.remapped, this.rowMax, this.rowSum, this.targetLogit);
    timer.mark('softmax');
    comm.allReduce(this.rowStats, 'sum', 'rowSum+targetLogit');
    timer.mark('communication');

    // 5. Backward: dlogits = (p - onehot) / B through margin and scale, then both GEMMs and
    // both normalizations; dx is a partial sum over shards, reduce-scattered to its ranks.
    native.softmaxMarginBackward(logits, this.remapped, this.rowSum, this.targetCos, config.margin, 1 / B);
    timer.mark('softmax');
    const centreGrad = this.centreGrad.view(0, A);
    native.gemm(logits, false, normCentres, false, this.featureGradFull, 1, 0);
    native.gemm(logits, true, this.normFeatures, false, centreGrad, 1, 0);
    timer.mark('gemm');
    native.normalizeRowsBackward(this.featureGradFull, this.normFeatures, this.featureNorms);
    native.normalizeRowsBackward(centreGrad, normCentres, centreNorms);
    timer.mark('normalize');
    comm.reduceScatter(this.featureGradFull, this.featureGrad, 'featureGrad');
    timer.mark('communication');

    // 6. SGD on the active rows (sparse) or on every row (dense).
    const { lr, momentum, weightDecay } = config.sgd;
    native.sgdUpdate(this.weights, this.momentum, centreGrad, indices, {
      lr,
      momentum,
      weightDecay,
      dense: config.update === 'dense',
    });
    timer.mark('update');
  }

  activeCentres(): number {
    return this.active;
  }

  loss(): number | null {
    if (this.ctx.comm.kind === 'emulated') return null;
    return core().crossEntropyLossSum(this.rowSum, this.targetLogit) / this.ctx.config.batch;
  }

  activeIndices(): Int32Array | null {
    return this.indices ? (this.indices.view(0, this.active).read() as Int32Array) : null;
  }

  dispose(): void {
    this.tensors.freeAll();
  }
}
