/**
 * Data parallel: every rank holds all C class centres and sees only its local batch; the
 * softmax is local, and the full C x D weight gradient is all-reduced every step.
 */
import { core, type NativeTensor } from '../core/binding.js';
import { allocate, type StepTimer } from '../core/backend.js';
import { streamId } from './batch.js';
import { UPDATE_KINDS, alignedColumns, localBatch, type Shard } from './config.js';
import { TensorOwner, type Strategy, type StrategyContext } from './strategy.js';
import type { StrategyDescriptor } from './descriptor.js';
import { STORAGE_BYTES, fcStepWork, zeroBytes } from '../model/bytes.js';

export class DataParallelFc implements Strategy {
  readonly name = 'data-parallel' as const;
  readonly shard: Shard;
  readonly weights: NativeTensor;
  readonly momentum: NativeTensor;
  readonly featureGrad: NativeTensor;
  private readonly tensors = new TensorOwner();
  private readonly features: NativeTensor;
  private readonly labels: NativeTensor;
  private readonly remapped: NativeTensor;
  private readonly normFeatures: NativeTensor;
  private readonly featureNorms: NativeTensor;
  private readonly normCentres: NativeTensor;
  private readonly centreNorms: NativeTensor;
  private readonly centreGrad: NativeTensor;
  private readonly logits: NativeTensor;
  private readonly targetCos: NativeTensor;
  private readonly rowMax: NativeTensor;
  private readonly rowSum: NativeTensor;
  private readonly targetLogit: NativeTensor;
  private readonly lossTotal: NativeTensor;

  constructor(private readonly ctx: StrategyContext) {
    const { backend, config } = ctx;
    const own = <T extends NativeTensor>(t: T) => this.tensors.own(t);
    const C = config.classes;
    const b = localBatch(config);
    const D = config.dim;
    this.shard = { offset: 0, size: C };
    this.weights = own(allocate(backend, 'centres', 'fp32', C, D));
    this.momentum = own(allocate(backend, 'optimizer', 'fp32', C, D));
    if (ctx.initialize !== false) {
      core().fillRandom(this.weights, config.seed, streamId('weights'), 0, 'normal', 0, 0.01);
      core().fillConstant(this.momentum, 0);
    }
    this.features = own(allocate(backend, 'features', 'fp32', b, D));
    this.normFeatures = own(allocate(backend, 'features', config.dtype, b, D));
    this.featureNorms = own(allocate(backend, 'features', 'fp32', b));
    this.featureGrad = own(allocate(backend, 'features', 'fp32', b, D));
    this.labels = own(allocate(backend, 'workspace', 'int32', b));
    this.remapped = own(allocate(backend, 'workspace', 'int32', b));
    this.targetCos = own(allocate(backend, 'workspace', 'fp32', b));
    this.rowMax = own(allocate(backend, 'workspace', 'fp32', b));
    this.rowSum = own(allocate(backend, 'workspace', 'fp32', b));
    this.targetLogit = own(allocate(backend, 'workspace', 'fp32', b));
    this.lossTotal = own(allocate(backend, 'workspace', 'fp32', 1));
    // Logits' leading dimension aligned (columns past C masked); the centres' padding rows zero.
    const ld = alignedColumns(C);
    this.normCentres = own(allocate(backend, 'activeCentres', config.dtype, ld, D));
    this.centreNorms = own(allocate(backend, 'activeCentres', 'fp32', C));
    this.centreGrad = own(allocate(backend, 'weightGrad', 'fp32', ld, D));
    this.logits = own(allocate(backend, 'logits', config.dtype, b, ld));
    if (ctx.initialize !== false) core().fillConstant(this.normCentres, 0);
  }

  step(step: number, timer: StepTimer): void {
    const native = core();
    const { comm, config, source } = this.ctx;
    source.fillFeatures(comm.rank, step, this.features);
    source.fillLabels(comm.rank, step, this.labels);

    timer.start();
    native.shardLabels(this.labels, 0, config.classes, this.remapped);
    native.normalizeRows(this.features, null, this.normFeatures, this.featureNorms);
    const C = config.classes;
    const normCentres = this.normCentres.view(0, C);
    const centreGrad = this.centreGrad.view(0, C);
    native.normalizeRows(this.weights, null, normCentres, this.centreNorms);
    timer.mark('normalize');
    native.gemm(this.normFeatures, false, this.normCentres, true, this.logits, 1, 0);
    timer.mark('gemm');
    // A local softmax: the row max is already global (localMax and rowMax are one tensor).
    const { margin } = config;
    native.marginSoftmaxStats({ logits: this.logits, cols: C, labels: this.remapped, margin, targetCos: this.targetCos, localMax: this.rowMax, rowMax: this.rowMax, rowSum: this.rowSum, targetLogit: this.targetLogit });
    native.rescaleRowStats({ labels: this.remapped, localMax: this.rowMax, rowMax: this.rowMax, rowSum: this.rowSum, targetLogit: this.targetLogit });
    native.marginSoftmaxGrad({ logits: this.logits, cols: C, labels: this.remapped, margin, rowMax: this.rowMax, rowSum: this.rowSum, targetCos: this.targetCos, gradScale: 1 / config.batch });
    timer.mark('softmax');
    native.gemm(this.logits, false, this.normCentres, false, this.featureGrad, 1, 0);
    native.gemm(this.logits, true, this.normFeatures, false, this.centreGrad, 1, 0);
    timer.mark('gemm');
    native.normalizeRowsBackward(this.featureGrad, this.normFeatures, this.featureNorms);
    native.normalizeRowsBackward(centreGrad, normCentres, this.centreNorms);
    timer.mark('normalize');
    // Each rank's gradient is already scaled by 1/B (global batch): the sum is the mean.
    comm.allReduce(centreGrad, 'sum', 'weightGrad');
    timer.mark('communication');
    const { lr, momentum, weightDecay } = config.sgd;
    native.sgdUpdate(this.weights, this.momentum, centreGrad, null, { lr, momentum, weightDecay, dense: true });
    timer.mark('update');
  }

  activeCentres(): number {
    return this.ctx.config.classes;
  }

  /** The mean over the global batch: each rank's local sum, summed over ranks. */
  loss(): number | null {
    const { comm, config } = this.ctx;
    if (comm.kind === 'emulated') return null;
    // From the row statistics, which the backward leaves intact (it overwrites only the logits).
    const localSum = this.lossSum();
    if (!comm.sendsData) return localSum / config.batch;
    this.lossTotal.write(Float32Array.of(localSum));
    comm.allReduce(this.lossTotal, 'sum', 'loss');
    return (this.lossTotal.read() as Float32Array)[0] / config.batch;
  }

  /** This rank's rows only. */
  lossSum(): number {
    return core().crossEntropyLossSum(this.rowSum, this.targetLogit);
  }

  activeIndices(): Int32Array | null {
    return null;
  }

  flush(): void {}

  dispose(): void {
    this.tensors.freeAll();
  }
}

export function createDataParallel(ctx: StrategyContext): Strategy {
  return new DataParallelFc(ctx);
}

export const dataParallel: StrategyDescriptor = {
  name: 'data-parallel',
  summary: 'every rank holds all C centres and its local batch; the C x D gradient is all-reduced',
  samples: false,
  // Every row is updated every step (the all-reduced gradient is dense): the three updates are one rule.
  updates: UPDATE_KINDS,
  logits: ['materialized'],
  lazyDenseClock: 'none',
  layout: 'replicated',
  // Not a variant of model parallel: no ratio rows.
  baseline: null,
  examples: [
    { config: {}, note: '37 classes' },
    { config: { classes: 300, ranks: 1, batch: 12, dim: 33 }, note: '300 classes, D 33' },
  ],
  colours: ['#59a14f'],
  order: 0,
  create: createDataParallel,
  memory(config) {
    const f = 4;
    const s = STORAGE_BYTES[config.dtype];
    const C = config.classes;
    const D = config.dim;
    const b = localBatch(config);
    const m = zeroBytes();
    m.centres = C * D * f;
    m.optimizer = C * D * f;
    m.features = b * D * f + b * D * s + b * f + b * D * f;
    m.workspace = 6 * b * f + f;
    // Logits' leading dimension aligned: padded columns, padded centre and gradient rows.
    const ld = alignedColumns(C);
    m.activeCentres = ld * D * s + C * f;
    m.weightGrad = ld * D * f;
    m.logits = b * ld * s;
    return m;
  },
  work: (config, active, shardSize) => fcStepWork({ rows: localBatch(config), active, dim: config.dim, storageBytes: STORAGE_BYTES[config.dtype], updatedRows: shardSize }),
  // The C x D weight gradient, all-reduced (fp32).
  collectives: (config) => [{ kind: 'allReduce', op: 'sum', label: 'weightGrad', bytes: config.classes * config.dim * 4, ranks: config.ranks }],
  kernelShapes: (config) => ({ softmaxRows: localBatch(config), softmaxColumns: [config.classes], sampledShard: 0 }),
  gemmRows: (config) => localBatch(config),
  title: () => 'Data Parallel',
  label: () => 'data-parallel',
  sortKey: () => 0,
};
