/**
 * A cell of `--mode predict`: no kernel runs; the result carries the figures predicted on the
 * cell's GPU target (training.ts), labelled as predicted. Its timing and memory are ours (the FC
 * layer, or with --backbone the whole training step); PyTorch's PartialFC_V2 profile is beside
 * them in `prediction`. Readers tell it by spec.mode === 'predict' and never mix it with a
 * measurement (compare refuses it).
 */
import { UsageError } from '../core/errors.js';
import { modelMemory } from '../strategies/memory-model.js';
import { interconnect } from '../model/comm.js';
import type { CellResult, CellSpec, Spread } from '../bench/results.js';
import { cellId } from '../bench/cell.js';
import { imagesPerSecond } from '../bench/results.js';
import type { BackboneName } from './backbone.js';
import { CUBLAS_WORKSPACE_BYTES, stepCollectives } from './step.js';
import { loadTarget } from './targets.js';
import { predictTraining } from './training.js';

function single(value: number): Spread {
  return { median: value, mean: value, min: value, p10: value, p90: value, max: value, samples: [value] };
}

export function predictCell(spec: CellSpec): CellResult {
  const started = Date.now();
  if (!spec.target) throw new UsageError('--target', '--mode predict needs a GPU target');
  const target = loadTarget(spec.target);
  const prediction = predictTraining(spec, target, {
    backbone: (spec.backbone ?? 'none') as BackboneName | 'none',
    reserveBytes: spec.reserveBytes ?? 0,
    interconnect: spec.interconnect,
    gpusPerNode: spec.gpusPerNode,
    rank: spec.rank,
  });
  const ours = prediction.ours;
  const profile = interconnect(spec.interconnect, spec.gpusPerNode || undefined);
  const fits = ours.headroomBytes >= 0;
  return {
    id: cellId(spec),
    // A cell that does not fit the target is what a run there would end as.
    status: fits ? 'completed' : 'oom',
    ...(fits ? {} : { error: `predicted on ${target.name}: ${(ours.totalBytes / 1e6).toFixed(0)} MB per GPU does not fit its ${(target.memoryBytes / 1e6).toFixed(0)} MB` }),
    spec,
    startedAt: new Date(started).toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    backend: 'predict',
    device: `predicted on ${target.name} (${target.description})`,
    timing: {
      stepMs: single(ours.stepMs),
      phasesMs: prediction.step.phasesMs,
      communication: 'modeled',
      modeledCommMs: prediction.exposedCommunicationMs,
      totalMs: ours.stepMs,
      imagesPerSecond: imagesPerSecond(spec.batch, ours.stepMs),
      modeled: true,
    },
    memory: {
      peakBytes: ours.totalBytes,
      atPeak: modelMemory(spec, spec.rank, CUBLAS_WORKSPACE_BYTES),
      modelBytes: modelMemory(spec, spec.rank, CUBLAS_WORKSPACE_BYTES),
      deviceUsedBytes: null,
    },
    work: {
      flopsPerStep: prediction.step.flops,
      bytesPerStep: prediction.step.bytes,
      achievedGflops: prediction.step.flops / (Math.max(1e-9, prediction.step.stepMs - prediction.step.communicationMs) / 1000) / 1e9,
    },
    communication: { collectives: stepCollectives(spec), profile: profile.name, interconnect: profile, modeledMs: prediction.step.communicationMs },
    activeCentres: prediction.step.active,
    prediction,
  };
}
