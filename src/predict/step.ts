/**
 * The compute model of our FC step on a GPU target (`--mode predict`): no kernel runs. From the
 * work model (strategies/work-model.ts: the GEMM FLOPs and the bytes the step moves) and the shapes, each
 * phase of the step is predicted:
 *   - gemm: the GEMM FLOPs through the fitted efficiency curve (kernels.ts), on the logits'
 *     aligned leading dimension;
 *   - softmax, update, normalize, sampling: their bytes over the target's bandwidth (fitted
 *     streaming efficiency), plus their kernel launches times a launch cost;
 *   - communication: the step's collectives through the existing alpha-beta model (model/comm.ts).
 */
import { alignedColumns, numSampled, shardOf, type FcConfig } from '../strategies/config.js';
import { strategyOf } from '../strategies/registry.js';
import { stepWork } from '../strategies/work-model.js';
import { STORAGE_BYTES, totalBytes } from '../model/bytes.js';
import { modelMemory } from '../strategies/memory-model.js';
import { modeledMilliseconds, type InterconnectProfile } from '../model/comm.js';
import { zeroPhases, type PhaseTimes } from '../core/backend.js';
import type { CollectiveRecord } from '../comm/communicator.js';
import { fittedParameters, gemmMs, passMs, type FittedParameters } from './kernels.js';
import type { GpuTarget } from './targets.js';

/** cuBLAS's workspace, which the CUDA backend allocates under 'workspace' (native/src/runtime/cublas_loader.h). */
export const CUBLAS_WORKSPACE_BYTES = 32 * 2 ** 20;

/** Kernels our step launches per phase besides the GEMMs (sharded-softmax.ts's step). */
const LAUNCHES = { sampling: 3, normalize: 4, softmax: 3, update: 2 } as const;

/**
 * Expected active centres of rank `rank`: every centre of the shard, or for a sampling strategy
 * the sampled count, or the expected positives when more (each of the B labels falls in the
 * shard with probability C_r / C).
 */
export function expectedActive(config: FcConfig, rank = 0): { shard: number; active: number } {
  const strategy = strategyOf(config.strategy);
  // A replicated strategy (data parallel) holds every class on every rank.
  if (strategy.layout === 'replicated') return { shard: config.classes, active: config.classes };
  const shard = shardOf(config.classes, config.ranks, rank).size;
  if (!strategy.samples) return { shard, active: shard };
  const positives = Math.round(shard * (1 - Math.pow(1 - 1 / config.classes, config.batch)));
  return { shard, active: Math.max(numSampled(config.sampleRate, shard), positives) };
}

/** The step's collectives: what its descriptor declares (and the harness checks it logs). */
export function stepCollectives(config: FcConfig): CollectiveRecord[] {
  return strategyOf(config.strategy).collectives(config);
}

export interface StepPrediction {
  shard: number;
  active: number;
  phasesMs: PhaseTimes;
  /** Compute phases plus communication (ms). */
  stepMs: number;
  communicationMs: number;
  peakBytes: number;
  flops: number;
  bytes: number;
}

export function predictOurStep(config: FcConfig, target: GpuTarget, profile: InterconnectProfile, rank = 0, p: FittedParameters = fittedParameters()): StepPrediction {
  const strategy = strategyOf(config.strategy);
  const { shard, active } = expectedActive(config, rank);
  const work = stepWork(config, active, shard);
  const rows = strategy.gemmRows(config);
  const D = config.dim;
  const s = STORAGE_BYTES[config.dtype];
  const ld = alignedColumns(active);
  const gemms = work.gemmFlops / (2 * rows * active * D);
  // fcStepWork's split of the bytes: logits passes, GEMM operands, and the update (the rest).
  const logitsBytes = 3 * rows * active * s;
  const gemmBytes = gemms * (rows * D + active * D) * s + rows * active * s * gemms;
  const updateBytes = Math.max(0, work.bytes - logitsBytes - gemmBytes);
  // Not in the work model: the normalizations of features and active centres, forward and backward.
  const normalizeBytes = 2 * (rows + active) * D * (4 + s);
  const samplingBytes = strategy.samples ? shard * 8 * 2 + active * 4 : 0;
  const launch = (n: number) => n * p.kernelLaunchMs;
  const phasesMs = zeroPhases();
  phasesMs.gemm = gemmMs(p.gemm, target, config.dtype, work.gemmFlops * (ld / active), ld, Math.ceil(gemms));
  phasesMs.softmax = passMs(p.pass, target, logitsBytes * (ld / active), 3) + launch(LAUNCHES.softmax);
  phasesMs.update = passMs(p.pass, target, updateBytes, 1) + launch(LAUNCHES.update);
  phasesMs.normalize = passMs(p.pass, target, normalizeBytes, 2) + launch(LAUNCHES.normalize);
  if (strategy.samples) phasesMs.sampling = passMs(p.pass, target, samplingBytes, 2) + launch(LAUNCHES.sampling);
  phasesMs.communication = modeledMilliseconds(stepCollectives(config), profile);
  const stepMs = Object.values(phasesMs).reduce((a, b) => a + b, 0);
  return {
    shard,
    active,
    phasesMs,
    stepMs,
    communicationMs: phasesMs.communication,
    peakBytes: totalBytes(modelMemory(config, rank, CUBLAS_WORKSPACE_BYTES)),
    flops: work.flops,
    bytes: work.bytes,
  };
}
