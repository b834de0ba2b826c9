/**
 * Runs one cell in this process: builds the backend, communicator and strategy, discards
 * warm-up steps, times steps x trials with the backend's timer (device events on a GPU) fed
 * to tinybench as measured durations, and collects memory, collectives and work figures.
 */
import { Bench } from 'tinybench';
import { core } from '../core/binding.js';
import { selectBackend, zeroPhases, PHASES, type Backend, type PhaseTimes } from '../core/backend.js';
import '../core/index.js';
import type { Communicator, CollectiveRecord } from '../comm/communicator.js';
import { emulatedCommunicator, singleCommunicator } from '../comm/local.js';
import { createStrategy, SyntheticBatch, type Strategy } from '../strategies/index.js';
import { modelMemory } from '../model/memory.js';
import { interconnect, modeledMilliseconds } from '../model/comm.js';
import { fusedRecomputedColumns, stepWork } from '../model/work.js';
import { shardOf } from '../strategies/config.js';
import { median, spread } from './stats.js';
import { UsageError } from '../core/errors.js';
import { measureGemmFloor } from './gemm-floor.js';
import type { CellResult, CellSpec, TrialTiming } from './results.js';
import type { MemoryCounters } from '../core/binding.js';

/** Opens the communicator of a mode. Real mode is provided by the MPI module when built. */
export type RealCommunicatorFactory = (spec: CellSpec, backend: Backend) => Communicator;
/** Real-mode communicators by backend: MPI for CPU ranks, NCCL for GPU ranks. */
const realFactories = new Map<string, RealCommunicatorFactory>();
export function registerRealCommunicator(backendName: 'cpu' | 'cuda', factory: RealCommunicatorFactory): void {
  realFactories.set(backendName, factory);
}

function openCommunicator(spec: CellSpec, backend: Backend): Communicator {
  switch (spec.mode) {
    case 'single':
      return singleCommunicator();
    case 'emulate':
      return emulatedCommunicator(spec.rank, spec.ranks);
    case 'real':
    {
      const factory = realFactories.get(backend.name);
      if (!factory) {
        const needs = backend.name === 'cuda' ? 'the NCCL communicator (a CUDA build)' : 'the MPI communicator (an MPI build: apt-get install libopenmpi-dev, then npm install)';
        throw new UsageError('--mode', `real mode on the ${backend.name} backend needs ${needs}, which this build does not have`);
      }
      return factory(spec, backend);
    }
  }
}

export function cellId(spec: CellSpec): string {
  const m = spec.margin;
  return [
    spec.strategy,
    `C${spec.classes}`,
    `N${spec.ranks}`,
    `B${spec.batch}`,
    `D${spec.dim}`,
    `rho${spec.sampleRate}`,
    spec.update,
    spec.dtype,
    `m${m.s}/${m.m1}/${m.m2}/${m.m3}`,
    spec.mode,
    `r${spec.rank}`,
    spec.memoryBudget ? `budget${spec.memoryBudget}` : '',
    spec.logits === 'fused' ? `fused${spec.tile ? `T${spec.tile}` : ''}` : '', // issue 14; materialized ids unchanged
  ]
    .filter(Boolean)
    .join('|');
}

/** --logits fused: the columns whose logits the floor computes twice, as the step does. */
function floorRecomputed(spec: CellSpec, active: number): number {
  return fusedRecomputedColumns(spec, active, shardOf(spec.classes, spec.ranks, spec.rank).size);
}

export interface CellProgress {
  (event: { phase: 'warmup' | 'measure'; done: number; total: number }): void;
}

/** Throws a UsageError when the backend cannot run the cell as specified. */
export function checkBackendSupports(spec: CellSpec, backend: Backend): void {
  if (backend.name === 'cpu' && spec.dtype !== 'fp32') {
    throw new UsageError('--dtype', `${spec.dtype} storage needs the cuda backend; the cpu backend computes in fp32`);
  }
}

export function runCell(spec: CellSpec, progress?: CellProgress): CellResult {
  const started = Date.now();
  const native = core();
  if (spec.threads > 0) native.setThreads(spec.threads);
  const { backend } = selectBackend(spec.backend);
  checkBackendSupports(spec, backend);
  native.setMemoryBudget(backend.device, spec.memoryBudget);
  native.resetMemoryPeaks(backend.device);
  const comm = openCommunicator(spec, backend);
  let strategy: Strategy | undefined;
  let result: CellResult;
  try {
    const source = new SyntheticBatch(spec.seed, spec.classes);
    strategy = createStrategy({ backend, comm, config: spec, source, initialize: !spec.allocateOnly });
    if (spec.allocateOnly) return allocationResult(spec, backend, comm, strategy, started);
    result = measure(spec, backend, comm, strategy, started, progress);
    strategy.flush(); // lazy-dense: every centre up to date at the end of the run (untimed)
  } finally {
    strategy?.dispose();
    comm.dispose();
  }
  // The GEMM floor: each trial's, timed right after it (same machine load), and the step's
  // compute over it per trial. When no trial had room for it, once more after the strategy is freed.
  const emulated = spec.mode === 'emulate';
  const trials = (result.timing!.trials ?? []).filter((t) => Number.isFinite(t.gemmMs));
  if (trials.length) {
    const ratios = trials.map((t) => (t.stepMs - (emulated ? t.phasesMs.communication : 0)) / t.gemmMs);
    result.reference = { gemmMs: spread(trials.map((t) => t.gemmMs)), stepOverGemm: median(ratios) };
  } else {
    const rows = spec.strategy === 'data-parallel' ? spec.batch / spec.ranks : spec.batch;
    const gemmMs = measureGemmFloor(backend, rows, result.activeCentres ?? 0, spec.dim, spec.dtype, Math.max(2, spec.steps), floorRecomputed(spec, result.activeCentres ?? 0));
    const computeMs = result.timing!.totalMs - result.timing!.modeledCommMs;
    result.reference = { gemmMs, stepOverGemm: computeMs / gemmMs.median };
  }
  result.wallSeconds = (Date.now() - started) / 1000;
  return result;
}

/** A capacity probe: every buffer is allocated under the budget; nothing runs. */
function allocationResult(spec: CellSpec, backend: Backend, comm: Communicator, strategy: Strategy, started: number): CellResult {
  const stats = core().memoryStats(backend.device);
  return {
    id: cellId(spec),
    status: 'completed',
    spec,
    wallSeconds: (Date.now() - started) / 1000,
    backend: backend.name,
    device: backend.description,
    memory: { peakBytes: stats.totalPeak, atPeak: stats.atTotalPeak, modelBytes: modelMemory(spec, comm.rank), deviceUsedBytes: backend.deviceUsedBytes() },
  };
}

function measure(spec: CellSpec, backend: Backend, comm: Communicator, strategy: Strategy, started: number, progress?: CellProgress): CellResult {
  const timer = backend.createTimer();
  const phaseSamples: PhaseTimes[] = [];
  const losses: number[] = [];
  let stepRecords: CollectiveRecord[] = [];
  let step = 0;
  let deviceUsed: number | null = null;
  const measured = spec.steps * spec.trials;
  const runStep = (record: boolean) => {
    const before = comm.log.length;
    strategy.step(step++, timer);
    const { totalMs, phases } = timer.stop();
    if (record) {
      phaseSamples.push(phases);
      if (stepRecords.length === 0) stepRecords = comm.log.slice(before);
      const used = backend.deviceUsedBytes();
      if (used !== null) deviceUsed = Math.max(deviceUsed ?? 0, used);
      const loss = strategy.loss();
      if (loss !== null) losses.push(loss);
    }
    return totalMs;
  };

  for (let i = 0; i < spec.warmup; i++) {
    runStep(false);
    progress?.({ phase: 'warmup', done: i + 1, total: spec.warmup });
  }
  const bench = new Bench({ iterations: measured, warmupIterations: 0, time: 0, warmupTime: 0, warmup: false, retainSamples: true, throws: true });
  const samples: number[] = [];
  // Per trial: its medians, and the GEMM reference timed right after it in this process, so
  // that compare can normalize each trial by a reference that saw the same machine load. The
  // reference's buffers must not count in the step's memory: the peak so far is kept and the
  // peaks are reset after it (budget lifted while it runs).
  const trials: TrialTiming[] = [];
  let peakStats: MemoryCounters | undefined;
  let trialReference = true;
  const endTrial = () => {
    const first = samples.length - spec.steps;
    const phasesMs = zeroPhases();
    for (const phase of PHASES) phasesMs[phase] = median(phaseSamples.slice(first).map((p) => p[phase]));
    let gemmMs = NaN;
    const before = core().memoryStats(backend.device);
    if (!peakStats || before.totalPeak > peakStats.totalPeak) peakStats = before;
    if (trialReference) {
      try {
        core().setMemoryBudget(backend.device, 0);
        const rows = spec.strategy === 'data-parallel' ? spec.batch / spec.ranks : spec.batch;
        gemmMs = measureGemmFloor(backend, rows, strategy.activeCentres(), spec.dim, spec.dtype, Math.max(2, spec.steps), floorRecomputed(spec, strategy.activeCentres())).median;
      } catch {
        trialReference = false; // no room for it next to the strategy: compare falls back to the cell's reference
      } finally {
        core().setMemoryBudget(backend.device, spec.memoryBudget);
        core().resetMemoryPeaks(backend.device);
      }
    }
    trials.push({ stepMs: median(samples.slice(first)), phasesMs, gemmMs });
  };
  bench.add('step', () => {
    const ms = runStep(true);
    samples.push(ms);
    if (samples.length % spec.steps === 0 && trials.length < spec.trials) endTrial();
    progress?.({ phase: 'measure', done: samples.length, total: measured });
    return { overriddenDuration: ms };
  }, { async: false }); // declared sync: tinybench would otherwise call it once more to find out
  bench.runSync();

  const stepMs = spread(samples);
  const phasesMs = zeroPhases();
  for (const phase of PHASES) phasesMs[phase] = median(phaseSamples.map((p) => p[phase]));
  const emulated = spec.mode === 'emulate';
  const profile = interconnect(spec.interconnect, spec.gpusPerNode || undefined);
  const modeledCommMs = emulated ? modeledMilliseconds(stepRecords, profile) : 0;
  // In emulate mode the measured 'communication' phase is local copies and synthesis of the
  // peers' rows: replaced by the modeled time of the real collectives.
  const computeMs = emulated ? median(samples.map((s, i) => s - phaseSamples[i].communication)) : stepMs.median;
  const totalMs = computeMs + modeledCommMs;
  const last = core().memoryStats(backend.device);
  const stats = peakStats && peakStats.totalPeak >= last.totalPeak ? peakStats : last;
  const work = stepWork(spec, strategy.activeCentres(), strategy.shard.size);
  return {
    id: cellId(spec),
    status: 'completed',
    spec,
    startedAt: new Date(started).toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    backend: backend.name,
    device: backend.description,
    timing: {
      stepMs,
      phasesMs,
      modeledCommMs,
      totalMs,
      imagesPerSecond: spec.batch / (totalMs / 1000),
      modeled: emulated && spec.ranks > 1,
      trials,
    },
    memory: {
      peakBytes: stats.totalPeak,
      atPeak: stats.atTotalPeak,
      modelBytes: modelMemory(spec, comm.rank),
      deviceUsedBytes: deviceUsed,
    },
    work: {
      flopsPerStep: work.flops,
      bytesPerStep: work.bytes,
      achievedGflops: work.flops / (computeMs / 1000) / 1e9,
    },
    communication: { collectives: stepRecords, profile: profile.name, modeledMs: modeledCommMs },
    activeCentres: strategy.activeCentres(),
    ...(losses.length ? { loss: losses.reduce((a, b) => a + b, 0) / losses.length } : {}),
  };
}
