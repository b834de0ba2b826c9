/**
 * The FC step shared by model parallel and Partial FC (docs/design.md, the step): class centres
 * sharded over ranks, features and labels all-gathered, the softmax distributed over the
 * shards. The two strategies differ only in which centres are active (an ActiveSet).
 * Two ways to hold the logits, the same passes in both:
 *   materialized: the B x A logits, one statistics pass and one gradient pass over them;
 *   fused (logit-free): tiles of T active centres in a B x T scratch; the statistics pass folds
 *     each tile into the row max and sum, the gradient pass recomputes each tile's logits
 *     (the fourth GEMM; not for the last tile, still in the scratch) and updates the tile's
 *     centres at once.
 */
import { core, type NativeTensor } from '../core/binding.js';
import { allocate, type StepTimer } from '../core/backend.js';
import { streamId } from './batch.js';
import { alignedColumns, fusedScratchColumns, fusedTileColumns, localBatch, shardOf, type Shard, type StrategyName } from './config.js';
import { TensorOwner, type Strategy, type StrategyContext } from './strategy.js';
import type { StrategyDescriptor } from './descriptor.js';

/** Chooses the active centres of a step and maps the gathered labels onto them. */
export interface ActiveSet {
  /** Most active centres any step can have (buffers are sized for it). */
  readonly capacity: number;
  /** Sets `remapped` and returns the active count and their indices (null: all, in order). */
  select(labels: NativeTensor, remapped: NativeTensor, step: number): { count: number; indices: NativeTensor | null };
}

export class ShardedSoftmaxFc implements Strategy {
  readonly shard: Shard;
  readonly featureGrad: NativeTensor;
  private readonly centres: NativeTensor;
  private readonly centreMomentum: NativeTensor;
  /** lazy-dense only: SGD steps each centre has had (the rows not yet caught up lag behind). */
  private readonly lastStep: NativeTensor | null = null;
  /** SGD steps taken so far: the lazy rule's clock. */
  private updates = 0;
  private readonly tensors = new TensorOwner();
  private readonly localFeatures: NativeTensor;
  private readonly localLabels: NativeTensor;
  private readonly features: NativeTensor; // B x D gathered
  private readonly labels: NativeTensor; // B gathered global labels
  private readonly remapped: NativeTensor; // B labels as active positions, -1 elsewhere
  private readonly normFeatures: NativeTensor; // B x D
  private readonly featureNorms: NativeTensor;
  private readonly featureGradFull: NativeTensor; // B x D partial sum before reduce-scatter
  // fused: each of these holds one tile (T columns, aligned) instead of every active centre.
  private readonly normCentres: NativeTensor; // aligned capacity x D; rows past A are 0 or finite
  private readonly centreNorms: NativeTensor;
  private readonly centreGrad: NativeTensor; // aligned capacity x D
  private readonly logitsBuffer: NativeTensor; // B x aligned capacity
  /** fused: active centres per tile; 0: materialized logits. */
  private readonly tile: number;
  private readonly targetCos: NativeTensor;
  private readonly localMax: NativeTensor; // this shard's row max, kept across the MAX all-reduce
  private readonly rowMax: NativeTensor;
  private readonly rowStats: NativeTensor; // [rowSum; targetLogit]: one all-reduce for both
  private readonly rowSum: NativeTensor;
  private readonly targetLogit: NativeTensor;
  private readonly set: ActiveSet;
  private active = 0;
  private indices: NativeTensor | null = null;

  readonly name: StrategyName;

  /**
   * `descriptor`: the strategy's name, and its lazy-dense clock (the same field its memory model
   * reads, so the two cannot disagree).
   */
  constructor(
    descriptor: Pick<StrategyDescriptor, 'name' | 'lazyDenseClock'>,
    private readonly ctx: StrategyContext,
    makeActiveSet: (shard: Shard, owner: TensorOwner) => ActiveSet,
  ) {
    this.name = descriptor.name;
    const { backend, config, comm } = ctx;
    const own = <T extends NativeTensor>(t: T) => this.tensors.own(t);
    const B = config.batch;
    const b = localBatch(config);
    const D = config.dim;
    this.shard = shardOf(config.classes, comm.size, comm.rank);
    this.centres = own(allocate(backend, 'centres', 'fp32', this.shard.size, D));
    this.centreMomentum = own(allocate(backend, 'optimizer', 'fp32', this.shard.size, D));
    if (config.update === 'lazy-dense' && descriptor.lazyDenseClock === 'per-shard-row') {
      this.lastStep = own(allocate(backend, 'optimizer', 'int32', this.shard.size));
    }
    // Centres start as a seeded normal keyed by global class id: the same on any sharding.
    if (ctx.initialize !== false) {
      core().fillRandom(this.centres, config.seed, streamId('weights'), this.shard.offset * D, 'normal', 0, 0.01);
      core().fillConstant(this.centreMomentum, 0);
      if (this.lastStep) core().fillConstant(this.lastStep, 0);
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
    this.localMax = own(allocate(backend, 'workspace', 'fp32', B));
    this.rowMax = own(allocate(backend, 'workspace', 'fp32', B));
    this.rowStats = own(allocate(backend, 'workspace', 'fp32', 2 * B));
    this.rowSum = this.rowStats.view(0, B);
    this.targetLogit = this.rowStats.view(B, B);
    this.set = makeActiveSet(this.shard, this.tensors);
    this.tile = config.logits === 'fused' ? fusedTileColumns(config, this.set.capacity) : 0;
    const A = this.tile ? fusedScratchColumns(config, this.set.capacity) : this.set.capacity;
    const ld = alignedColumns(A);
    this.normCentres = own(allocate(backend, 'activeCentres', config.dtype, ld, D));
    this.centreNorms = own(allocate(backend, 'activeCentres', 'fp32', A));
    this.centreGrad = own(allocate(backend, 'weightGrad', 'fp32', ld, D));
    this.logitsBuffer = own(allocate(backend, 'logits', config.dtype, B, ld));
    // The padding rows of the centres meet zero gradient columns in dx = G Wn: they must be
    // finite. Zero now; later they hold zeros or centres normalized in an earlier step.
    if (ctx.initialize !== false) core().fillConstant(this.normCentres, 0);
  }

  get weights(): NativeTensor {
    this.flush();
    return this.centres;
  }

  get momentum(): NativeTensor {
    this.flush();
    return this.centreMomentum;
  }

  flush(): void {
    if (this.lastStep) core().sgdCatchUp(this.centres, this.centreMomentum, this.lastStep, null, this.updates, this.ctx.config.sgd);
  }

  step(step: number, timer: StepTimer): void {
    const { comm, source } = this.ctx;
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

    if (this.tile > 0) {
      this.fusedPasses(A, indices, timer);
    } else {
      this.materializedPasses(A, indices, timer);
    }
    this.updates++;
    timer.mark('update');
  }

  /** lazy-dense: the active rows catch up on the steps they sat out, in their normalization's read. */
  private catchUp() {
    const { sgd } = this.ctx.config;
    return this.lastStep && this.indices ? { momentum: this.centreMomentum, lastStep: this.lastStep, step: this.updates, sgd } : undefined;
  }

  private rates() {
    const { sgd } = this.ctx.config;
    return { lr: sgd.lr, momentum: sgd.momentum, weightDecay: sgd.weightDecay };
  }

  /** Step 4's all-reduces, shared by both variants: MAX of the row max, each shard's sum
   * rescaled to it, then SUM of [rowSum; targetLogit]. */
  private reduceRowStats(timer: StepTimer): void {
    const { comm } = this.ctx;
    comm.allReduce(this.rowMax, 'max', 'rowMax');
    timer.mark('communication');
    core().rescaleRowStats({ labels: this.remapped, localMax: this.localMax, rowMax: this.rowMax, rowSum: this.rowSum, targetLogit: this.targetLogit });
    timer.mark('softmax');
    comm.allReduce(this.rowStats, 'sum', 'rowSum+targetLogit');
    timer.mark('communication');
  }

  /** Step 5's end, shared: dx through the features' normalization, reduce-scattered to its ranks. */
  private finishFeatureGrad(timer: StepTimer): void {
    core().normalizeRowsBackward(this.featureGradFull, this.normFeatures, this.featureNorms);
    timer.mark('normalize');
    this.ctx.comm.reduceScatter(this.featureGradFull, this.featureGrad, 'featureGrad');
    timer.mark('communication');
  }

  private materializedPasses(A: number, indices: NativeTensor | null, timer: StepTimer): void {
    const native = core();
    const { config } = this.ctx;
    const B = config.batch;
    // 3. cos = normalize(x) normalize(W[I])^T into B x ld (ld = A aligned; columns past A masked).
    const { margin } = config;
    const ld = alignedColumns(A);
    const normCentres = this.normCentres.view(0, A);
    const centreNorms = this.centreNorms.view(0, A);
    native.normalizeRows(this.features, null, this.normFeatures, this.featureNorms);
    native.normalizeRows(this.centres, indices, normCentres, centreNorms, this.catchUp());
    timer.mark('normalize');
    const paddedCentres = this.normCentres.view(0, ld);
    const logits = this.logitsBuffer.reshape(B, ld);
    native.gemm(this.normFeatures, false, paddedCentres, true, logits, 1, 0);
    timer.mark('gemm');

    // 4. Softmax statistics in one read-only pass (margin on the fly), reduced over the shards.
    native.marginSoftmaxStats({ logits, cols: A, labels: this.remapped, margin, targetCos: this.targetCos, localMax: this.localMax, rowMax: this.rowMax, rowSum: this.rowSum, targetLogit: this.targetLogit });
    timer.mark('softmax');
    this.reduceRowStats(timer);

    // 5. Backward: one pass writes dlogits = (p - onehot) / B through margin and scale in place,
    // then both GEMMs; dx is a partial sum over shards, reduce-scattered to its ranks.
    native.marginSoftmaxGrad({ logits, cols: A, labels: this.remapped, margin, rowMax: this.rowMax, rowSum: this.rowSum, targetCos: this.targetCos, gradScale: 1 / B });
    timer.mark('softmax');
    const centreGrad = this.centreGrad.view(0, A);
    native.gemm(logits, false, paddedCentres, false, this.featureGradFull, 1, 0);
    native.gemm(logits, true, this.normFeatures, false, this.centreGrad.view(0, ld), 1, 0);
    timer.mark('gemm');
    this.finishFeatureGrad(timer);

    // 6. SGD. dense: every row, as PyTorch does. sparse and lazy-dense: the active rows, with the
    // centres' normalization backward fused in (lazy-dense also stamps their step).
    const rates = this.rates();
    if (config.update === 'dense') {
      native.normalizeRowsBackward(centreGrad, normCentres, centreNorms);
      native.sgdUpdate(this.centres, this.centreMomentum, centreGrad, indices, { ...rates, dense: true });
    } else {
      native.sgdNormalizedUpdate({ weights: this.centres, momentum: this.centreMomentum, gradNormalized: centreGrad, normalized: normCentres, norms: centreNorms, indices, rates, lastStep: this.lastStep, step: this.updates });
    }
  }

  /** fused, steps 3-6 tile by tile: the B x A logits never exist. */
  private fusedPasses(A: number, indices: NativeTensor | null, timer: StepTimer): void {
    const native = core();
    const { config } = this.ctx;
    const { margin } = config;
    const B = config.batch;
    const T = this.tile;
    native.normalizeRows(this.features, null, this.normFeatures, this.featureNorms);
    timer.mark('normalize');

    // Pass 1: each tile's logits fold into the row max and sum (the tile at 0 starts them);
    // lazy-dense rows catch up here, so pass 2 reads them as they are.
    const catchUp = this.catchUp();
    for (let first = 0; first < A; first += T) {
      const cols = Math.min(T, A - first);
      const logits = this.tileLogits(first, cols, indices, catchUp, timer);
      native.marginSoftmaxStats({ logits, cols, labels: this.remapped, margin, targetCos: this.targetCos, localMax: this.localMax, rowMax: this.rowMax, rowSum: this.rowSum, targetLogit: this.targetLogit, columns: { offset: first, active: A } });
      timer.mark('softmax');
    }
    this.reduceRowStats(timer);

    // Pass 2: recompute each tile's logits, turn them into dlogits, dx += dlogits Wn_tile and
    // dW_tile = dlogits^T xn, then SGD on the tile's rows. dx reads the normalized copy made from
    // the centres before their update; the other tiles are other rows, updated only after their
    // own turn: this is the materialized step's gradient, only summed in another order.
    // Last tile first: pass 1 left its logits and normalized centres in the scratch (the
    // statistics pass only reads), so it is not recomputed; one tile means three GEMMs.
    const rates = this.rates();
    const tiles = Math.ceil(A / T);
    for (let k = tiles - 1; k >= 0; k--) {
      const first = k * T;
      const cols = Math.min(T, A - first);
      const ld = alignedColumns(cols);
      const kept = k === tiles - 1;
      const logits = kept ? this.logitsBuffer.reshape(B, ld) : this.tileLogits(first, cols, indices, undefined, timer);
      native.marginSoftmaxGrad({ logits, cols, labels: this.remapped, margin, rowMax: this.rowMax, rowSum: this.rowSum, targetCos: this.targetCos, gradScale: 1 / B, columns: { offset: first, active: A } });
      timer.mark('softmax');
      const paddedCentres = this.normCentres.view(0, ld);
      native.gemm(logits, false, paddedCentres, false, this.featureGradFull, 1, kept ? 0 : 1);
      native.gemm(logits, true, this.normFeatures, false, this.centreGrad.view(0, ld), 1, 0);
      timer.mark('gemm');
      const grad = this.centreGrad.view(0, cols);
      const normCentres = this.normCentres.view(0, cols);
      const centreNorms = this.centreNorms.view(0, cols);
      if (indices) {
        native.sgdNormalizedUpdate({ weights: this.centres, momentum: this.centreMomentum, gradNormalized: grad, normalized: normCentres, norms: centreNorms, indices: indices.view(first, cols), rates, lastStep: this.lastStep, step: this.updates });
      } else {
        const rows = (t: NativeTensor) => t.view(first, cols);
        native.sgdNormalizedUpdate({ weights: rows(this.centres), momentum: rows(this.centreMomentum), gradNormalized: grad, normalized: normCentres, norms: centreNorms, indices: null, rates, lastStep: null, step: this.updates });
      }
      timer.mark('update');
    }
    // dense: the rows no tile held take their zero-gradient step (model parallel has none).
    if (config.update === 'dense' && indices) native.sgdIdleRows(this.centres, this.centreMomentum, indices, rates);
    timer.mark('update');
    this.finishFeatureGrad(timer);
  }

  /** One tile's cosines: its centres normalized into the tile scratch, then B x ld by one GEMM. */
  private tileLogits(first: number, cols: number, indices: NativeTensor | null, catchUp: ReturnType<ShardedSoftmaxFc['catchUp']>, timer: StepTimer): NativeTensor {
    const native = core();
    const ld = alignedColumns(cols);
    const normCentres = this.normCentres.view(0, cols);
    const centreNorms = this.centreNorms.view(0, cols);
    if (indices) {
      native.normalizeRows(this.centres, indices.view(first, cols), normCentres, centreNorms, catchUp);
    } else {
      native.normalizeRows(this.centres.view(first, cols), null, normCentres, centreNorms);
    }
    timer.mark('normalize');
    const logits = this.logitsBuffer.reshape(this.ctx.config.batch, ld);
    native.gemm(this.normFeatures, false, this.normCentres.view(0, ld), true, logits, 1, 0);
    timer.mark('gemm');
    return logits;
  }

  activeCentres(): number {
    return this.active;
  }

  loss(): number | null {
    if (this.ctx.comm.kind === 'emulated') return null;
    return this.lossSum() / this.ctx.config.batch;
  }

  lossSum(): number {
    return core().crossEntropyLossSum(this.rowSum, this.targetLogit);
  }

  activeIndices(): Int32Array | null {
    return this.indices ? (this.indices.view(0, this.active).read() as Int32Array) : null;
  }

  dispose(): void {
    this.tensors.freeAll();
  }
}
