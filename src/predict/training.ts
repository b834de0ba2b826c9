/**
 * Whole-training predictions: the backbone (data parallel, its gradient all-reduced while the
 * backward runs) plus the FC layer, ours and PyTorch's PartialFC_V2, on a GPU target.
 *   images/s = global batch / (backbone + FC + exposed communication)
 * where the FC's collectives are exposed (each waits for the previous step's result) and the
 * backbone's all-reduce shows only past its backward (two thirds of its time), as DDP overlaps
 * them. Memory per GPU = backbone (parameters, gradients, momentum, activations) + FC + --reserve.
 */
import { interconnect, modeledMilliseconds } from '../model/comm.js';
import { localBatch, type FcConfig } from '../strategies/config.js';
import { strategyOf } from '../strategies/registry.js';
import { predictBackbone, type BackboneName, type BackbonePrediction } from './backbone.js';
import { fittedParameters, type FittedParameters } from './kernels.js';
import { predictPyTorch } from './pytorch.js';
import { predictOurStep, type StepPrediction } from './step.js';
import type { GpuTarget } from './targets.js';

/** One implementation's whole figure on the target. */
export interface PredictedFigures {
  /** The FC layer's step, communication excluded (ms). */
  fcComputeMs: number;
  fcBytes: number;
  /** backbone + FC compute + exposed communication (ms). */
  stepMs: number;
  imagesPerSecond: number;
  /** backbone + FC + reserve. */
  totalBytes: number;
  /** The target's memory minus totalBytes (negative: does not fit). */
  headroomBytes: number;
}

export interface TrainingPrediction {
  target: string;
  targetDescription: string;
  backbone: BackboneName | 'none';
  reserveBytes: number;
  backboneMs: number;
  backboneBytes: number;
  /** FC collectives plus the backbone all-reduce past its backward (ms). */
  exposedCommunicationMs: number;
  ours: PredictedFigures;
  /** PartialFC_V2's profile; absent for data parallel, which has none. */
  pytorch?: PredictedFigures;
  /** Our FC step per phase. */
  step: StepPrediction;
}

export interface TrainingOptions {
  backbone: BackboneName | 'none';
  reserveBytes: number;
  interconnect: string;
  gpusPerNode?: number;
  rank?: number;
}

export function predictTraining(config: FcConfig, target: GpuTarget, options: TrainingOptions, p: FittedParameters = fittedParameters()): TrainingPrediction {
  const profile = interconnect(options.interconnect, options.gpusPerNode || undefined);
  const step = predictOurStep(config, target, profile, options.rank ?? 0, p);
  const backbone: BackbonePrediction | undefined = options.backbone === 'none' ? undefined : predictBackbone(options.backbone, target, localBatch(config), p.backbone, p.pass);
  const backboneMs = backbone?.ms ?? 0;
  const backboneBytes = backbone?.totalBytes ?? 0;
  const allReduceMs = backbone ? modeledMilliseconds([{ kind: 'allReduce', op: 'sum', label: 'backboneGrad', bytes: backbone.parameters * 4, ranks: config.ranks }], profile) : 0;
  const exposedCommunicationMs = step.communicationMs + Math.max(0, allReduceMs - (2 / 3) * backboneMs);
  const figures = (fcComputeMs: number, fcBytes: number): PredictedFigures => {
    const stepMs = backboneMs + fcComputeMs + exposedCommunicationMs;
    const totalBytes = backboneBytes + fcBytes + options.reserveBytes;
    return { fcComputeMs, fcBytes, stepMs, imagesPerSecond: config.batch / (stepMs / 1000), totalBytes, headroomBytes: target.memoryBytes - totalBytes };
  };
  const ours = figures(step.stepMs - step.communicationMs, step.peakBytes);
  let pytorch: PredictedFigures | undefined;
  // PyTorch's PartialFC_V2 is the sharded layout's counterpart; a replicated strategy has none.
  if (strategyOf(config.strategy).layout === 'sharded') {
    const pt = predictPyTorch({ classes: config.classes, ranks: config.ranks, batch: config.batch, dim: config.dim, sampleRate: config.sampleRate }, target, p.pytorch, p.gemm, p.pass);
    pytorch = figures(pt.stepMs, pt.peakBytes);
  }
  return {
    target: target.name,
    targetDescription: target.description,
    backbone: options.backbone,
    reserveBytes: options.reserveBytes,
    backboneMs,
    backboneBytes,
    exposedCommunicationMs,
    ours,
    ...(pytorch ? { pytorch } : {}),
    step,
  };
}

