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
import { openCommunicator } from '../comm/registry.js';
import { createStrategy, strategyOf, SyntheticBatch, type FcConfig, type Strategy } from '../strategies/index.js';
import { modelMemory } from '../strategies/memory-model.js';
import { STORAGE_BYTES } from '../model/bytes.js';
import { deviceScratchBytes } from '../model/device-scratch.js';
import { interconnect, modeledMilliseconds } from '../model/comm.js';
import { stepWork } from '../strategies/work-model.js';
import { median, spread } from './stats.js';
import { UsageError } from '../core/errors.js';
import { measureGemmFloor } from './gemm-floor.js';
import { imagesPerSecond, type CellResult, type CellSpec, type TrialTiming } from './results.js';
import type { MemoryCounters } from '../core/binding.js';
import { predictCell } from '../predict/cell.js';

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
    spec.logits === 'fused' ? `fused${spec.tile ? `T${spec.tile}` : ''}` : '', // materialized ids stay as they were
    spec.mode === 'predict' ? `on:${spec.target}|backbone:${spec.backbone}|reserve${spec.reserveBytes}` : '',
  ]
    .filter(Boolean)
    .join('|');
}

/** --logits fused: the columns whose logits the floor computes twice, as the step does. */
function floorRecomputed(spec: CellSpec, active: number): number {
  return strategyOf(spec.strategy).recomputedColumns?.(spec, active, spec.rank) ?? 0;
}

export interface CellProgress {
  (event: { phase: 'warmup' | 'measure'; done: number; total: number }): void;
}

export interface RunCellOptions {
  progress?: CellProgress;
  /**
   * Real mode: called once every buffer is allocated (ok) or the set-up failed (not ok), before
   * any collective runs; returns whether every rank's set-up succeeded. When it does not, the
   * cell ends here on every rank alike, so no rank waits in a collective for one that failed.
   */
  agree?: (ok: boolean) => boolean;
}

/** Thrown on the ranks whose own set-up succeeded when another rank's did not. */
export class PeerSetupFailed extends Error {
  constructor() {
    super('another rank failed to set up this cell');
    this.name = 'PeerSetupFailed';
  }
}

/**
 * Workspace the backend adds to the strategy's own buffers: the library's (cuBLAS's, or the CPU's
 * bf16 GEMM buffer) and the CUDA kernels' scratch for this step's shapes (the loss read or not).
 */
export function deviceWorkspaceBytes(spec: FcConfig, rank: number, backend: Backend, withLoss: boolean): number {
  const scratch = backend.smCount ? deviceScratchBytes(strategyOf(spec.strategy).kernelShapes(spec, rank), STORAGE_BYTES[spec.dtype], backend.smCount, withLoss) : 0;
  return backend.libraryWorkspaceBytes(spec.dtype) + scratch;
}

export function runCell(spec: CellSpec, options: RunCellOptions | CellProgress = {}): CellResult {
  if (spec.mode === 'predict') return predictCell(spec); // no kernel runs
  const { progress, agree } = typeof options === 'function' ? { progress: options, agree: undefined } : options;
  const started = Date.now();
  let native = core();
  let backend: Backend | undefined;
  let comm: Communicator | undefined;
  let strategy: Strategy | undefined;
  let setupError: unknown;
  try {
    backend = selectBackend(spec.backend).backend;
    native = core(); // cuda-sim makes the simulated-device addon the process's core
    if (spec.threads > 0) native.setThreads(spec.threads);
    // What an earlier cell left in the library and kernel workspaces is not this cell's.
    backend.releaseWorkspaces();
    native.setMemoryBudget(backend.device, spec.memoryBudget);
    native.resetMemoryPeaks(backend.device);
    comm = openCommunicator({ mode: spec.mode, ranks: spec.ranks, rank: spec.rank }, backend);
    const source = new SyntheticBatch(spec.seed, spec.classes);
    strategy = createStrategy({ backend, comm, config: spec, source, initialize: !spec.allocateOnly });
  } catch (error) {
    setupError = error;
  }
  let result: CellResult;
  let setupPeak: MemoryCounters | undefined;
  try {
    if (agree) {
      // The agreement's own small buffers are not the cell's: outside the budget and the peak.
      const device = backend?.device ?? 'cpu';
      setupPeak = native.memoryStats(device);
      native.setMemoryBudget(device, 0);
      let everyRankOk: boolean;
      try {
        everyRankOk = agree(setupError === undefined);
      } finally {
        native.setMemoryBudget(device, spec.memoryBudget);
        native.resetMemoryPeaks(device);
      }
      if (!everyRankOk) throw setupError ?? new PeerSetupFailed();
    }
    if (setupError !== undefined) throw setupError;
    if (spec.allocateOnly) return allocationResult(spec, backend!, comm!, strategy!, started);
    result = measure(spec, backend!, comm!, strategy!, started, progress, setupPeak);
    strategy!.flush(); // lazy-dense: every centre up to date at the end of the run (untimed)
  } finally {
    strategy?.dispose();
    comm?.dispose();
    // The budget is the cell's: what runs between cells (a real run's collectives) has none.
    if (backend) native.setMemoryBudget(backend.device, 0);
  }
  const activeBackend = backend!;
  // The GEMM floor: each trial's, timed right after it (same machine load), and the step's
  // compute over it per trial. When no trial had room for it, once more after the strategy is freed.
  const emulated = spec.mode === 'emulate';
  const trials = (result.timing!.trials ?? []).filter((t) => Number.isFinite(t.gemmMs));
  if (trials.length) {
    const ratios = trials.map((t) => (t.stepMs - (emulated ? t.phasesMs.communication : 0)) / t.gemmMs);
    result.reference = { gemmMs: spread(trials.map((t) => t.gemmMs)), stepOverGemm: median(ratios) };
  } else {
    const rows = strategyOf(spec.strategy).gemmRows(spec);
    const gemmMs = measureGemmFloor(activeBackend, rows, result.activeCentres ?? 0, spec.dim, spec.dtype, Math.max(2, spec.steps), floorRecomputed(spec, result.activeCentres ?? 0));
    const computeMs = result.timing!.stepMs.median - (emulated ? result.timing!.modeledCommMs : 0);
    result.reference = { gemmMs, stepOverGemm: computeMs / gemmMs.median };
  }
  result.wallSeconds = (Date.now() - started) / 1000;
  return result;
}

/**
 * The measured communication of a real run: per collective of the step (log order), the median
 * over the measured steps of its time alone, and the median over steps of their sum; undefined
 * when the communicator does not time its collectives (emulate, single).
 */
export function measuredCollectives(records: readonly CollectiveRecord[], perStep: readonly number[][]): { each: number[]; totalMs: number } | undefined {
  const steps = perStep.filter((ms) => ms.length === records.length && ms.every(Number.isFinite));
  if (!records.length || !steps.length) return undefined;
  const each = records.map((_, i) => median(steps.map((ms) => ms[i])));
  return { each, totalMs: median(steps.map((ms) => ms.reduce((a, b) => a + b, 0))) };
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
    memory: { peakBytes: stats.totalPeak, atPeak: stats.atTotalPeak, modelBytes: modelMemory(spec, comm.rank, backend.libraryWorkspaceBytes(spec.dtype)), deviceUsedBytes: backend.deviceUsedBytes() },
  };
}

/** What the steps of a cell recorded: the raw material of its result. */
interface StepRecording {
  /** Measured step times (ms), one per measured step. */
  samples: number[];
  /** Phase times of each measured step. */
  phaseSamples: PhaseTimes[];
  /** Losses of the measured steps (none in emulate mode). */
  losses: number[];
  /** One step's collectives (kind, label, bytes), and each measured step's collective times (real mode). */
  stepRecords: CollectiveRecord[];
  collectiveMs: number[][];
  /** The first step whose loss was not finite. */
  diverged?: { step: number; value: number };
  /** The device's own used-memory figure, its largest (null on CPU). */
  deviceUsed: number | null;
  /** Per trial: its medians and the GEMM reference timed right after it. */
  trials: TrialTiming[];
  /** The memory counters at the step's peak (the GEMM references' buffers excluded). */
  peakStats?: MemoryCounters;
}

/**
 * The step's GEMMs alone at the step's shapes (the reference workload), with the budget lifted:
 * its buffers are not the cell's. NaN when there is no room for them beside the strategy.
 */
function trialGemmReference(spec: CellSpec, backend: Backend, strategy: Strategy): number {
  try {
    core().setMemoryBudget(backend.device, 0);
    const rows = strategyOf(spec.strategy).gemmRows(spec);
    return measureGemmFloor(backend, rows, strategy.activeCentres(), spec.dim, spec.dtype, Math.max(2, spec.steps), floorRecomputed(spec, strategy.activeCentres())).median;
  } catch {
    return NaN;
  } finally {
    core().setMemoryBudget(backend.device, spec.memoryBudget);
    core().resetMemoryPeaks(backend.device);
  }
}

/**
 * Runs the warm-up and the measured steps (spec.steps x spec.trials, timed by tinybench),
 * recording each step's time, phases, collectives and loss, and after each trial its medians and
 * its GEMM reference (so that compare normalizes each trial by a reference that saw the same
 * machine load). `setupPeak`: the memory counters at the end of the set-up, when the peaks were
 * reset since.
 */
function recordSteps(spec: CellSpec, backend: Backend, comm: Communicator, strategy: Strategy, progress?: CellProgress, setupPeak?: MemoryCounters): StepRecording {
  const timer = backend.createTimer();
  const r: StepRecording = { samples: [], phaseSamples: [], losses: [], stepRecords: [], collectiveMs: [], deviceUsed: null, trials: [], peakStats: setupPeak };
  let step = 0;
  const measured = spec.steps * spec.trials;
  const runStep = (record: boolean) => {
    const before = comm.log.length;
    strategy.step(step++, timer);
    const { totalMs, phases } = timer.stop();
    const timed = comm.timings.slice(before);
    // Real mode: the communication phase is the collectives alone (each timed after a barrier),
    // not the barrier waits for slower ranks (those stay in the step time only).
    if (timed.length && timed.every(Number.isFinite)) phases.communication = timed.reduce((a, b) => a + b, 0);
    if (record) {
      r.phaseSamples.push(phases);
      if (r.stepRecords.length === 0) r.stepRecords = comm.log.slice(before);
      r.collectiveMs.push(timed);
      const used = backend.deviceUsedBytes();
      if (used !== null) r.deviceUsed = Math.max(r.deviceUsed ?? 0, used);
    }
    // Every step, warm-up included, in every mode: the loss (the same on every rank of a real
    // run), or emulated, where it is not the training loss, this rank's local sum; either is
    // finite exactly when the step is. The first non-finite step makes the cell an error.
    const loss = strategy.loss();
    const check = loss ?? strategy.lossSum();
    if (r.diverged === undefined && !Number.isFinite(check)) r.diverged = { step, value: check };
    if (record && loss !== null) r.losses.push(loss);
    return totalMs;
  };

  for (let i = 0; i < spec.warmup; i++) {
    runStep(false);
    progress?.({ phase: 'warmup', done: i + 1, total: spec.warmup });
  }
  // The reference's buffers must not count in the step's memory: the peak so far is kept before
  // it runs (trialGemmReference resets the peaks after it).
  let trialReference = true;
  const endTrial = () => {
    const first = r.samples.length - spec.steps;
    const phasesMs = zeroPhases();
    for (const phase of PHASES) phasesMs[phase] = median(r.phaseSamples.slice(first).map((p) => p[phase]));
    const before = core().memoryStats(backend.device);
    if (!r.peakStats || before.totalPeak > r.peakStats.totalPeak) r.peakStats = before;
    // No room for the reference next to the strategy: compare falls back to the cell's reference.
    const gemmMs = trialReference ? trialGemmReference(spec, backend, strategy) : NaN;
    if (!Number.isFinite(gemmMs)) trialReference = false;
    r.trials.push({ stepMs: median(r.samples.slice(first)), phasesMs, gemmMs });
  };
  const bench = new Bench({ iterations: measured, warmupIterations: 0, time: 0, warmupTime: 0, warmup: false, retainSamples: true, throws: true });
  bench.add('step', () => {
    const ms = runStep(true);
    r.samples.push(ms);
    if (r.samples.length % spec.steps === 0 && r.trials.length < spec.trials) endTrial();
    progress?.({ phase: 'measure', done: r.samples.length, total: measured });
    return { overriddenDuration: ms };
  }, { async: false }); // declared sync: tinybench would otherwise call it once more to find out
  bench.runSync();
  // The CUDA kernels skip a bad index and set an error word that only a synchronize reads: read
  // it once per cell, outside the timed steps, so such a cell is an error, not a believable time.
  backend.synchronize();
  return r;
}

/**
 * The one step time and its phases. In emulate mode the measured 'communication' phase is local
 * copies and synthesis of the peers' rows: each step's is replaced by the modeled time of the
 * real collectives, so every step counts exactly one communication time.
 */
function stepTiming(spec: CellSpec, r: StepRecording) {
  const emulated = spec.mode === 'emulate';
  const profile = interconnect(spec.interconnect, spec.gpusPerNode || undefined);
  const modeledCommMs = emulated ? modeledMilliseconds(r.stepRecords, profile) : 0;
  const computeSamples = emulated ? r.samples.map((s, i) => s - r.phaseSamples[i].communication) : r.samples;
  const stepMs = spread(emulated ? computeSamples.map((c) => c + modeledCommMs) : r.samples);
  const phasesMs = zeroPhases();
  for (const phase of PHASES) phasesMs[phase] = median(r.phaseSamples.map((p) => p[phase]));
  if (emulated) phasesMs.communication = modeledCommMs;
  const timing: NonNullable<CellResult['timing']> = {
    stepMs,
    phasesMs,
    communication: emulated ? 'modeled' : 'measured',
    modeledCommMs,
    totalMs: stepMs.median,
    imagesPerSecond: imagesPerSecond(spec.batch, stepMs.median),
    modeled: emulated && spec.ranks > 1,
    trials: r.trials,
  };
  return { timing, profile, computeMs: median(computeSamples) };
}

/** The modeled collectives beside the measured ones (real mode: each timed alone). */
function communicationOf(r: StepRecording, profile: ReturnType<typeof interconnect>, modeledMs: number): NonNullable<CellResult['communication']> {
  const measuredComm = measuredCollectives(r.stepRecords, r.collectiveMs);
  return {
    collectives: r.stepRecords,
    profile: profile.name,
    interconnect: profile,
    modeledMs,
    ...(measuredComm ? { measuredMs: measuredComm.totalMs, measuredMsEach: measuredComm.each } : {}),
  };
}

/** The tagged peak (the step's, not a GEMM reference's) beside the analytic model of the same categories. */
function memoryOf(spec: CellSpec, backend: Backend, comm: Communicator, r: StepRecording): NonNullable<CellResult['memory']> {
  const last = core().memoryStats(backend.device);
  const stats = r.peakStats && r.peakStats.totalPeak >= last.totalPeak ? r.peakStats : last;
  // Each step reads its loss (the divergence check): the loss's scratch counts.
  return { peakBytes: stats.totalPeak, atPeak: stats.atTotalPeak, modelBytes: modelMemory(spec, comm.rank, deviceWorkspaceBytes(spec, comm.rank, backend, true)), deviceUsedBytes: r.deviceUsed };
}

/** A cell's measurement: run the steps, then time, memory, work and communication from what they recorded. */
function measure(spec: CellSpec, backend: Backend, comm: Communicator, strategy: Strategy, started: number, progress?: CellProgress, setupPeak?: MemoryCounters): CellResult {
  const recorded = recordSteps(spec, backend, comm, strategy, progress, setupPeak);
  const { timing, profile, computeMs } = stepTiming(spec, recorded);
  const work = stepWork(spec, strategy.activeCentres(), strategy.shard.size);
  const { diverged, losses } = recorded;
  const total = spec.warmup + spec.steps * spec.trials;
  return {
    id: cellId(spec),
    status: diverged ? 'error' : 'completed',
    ...(diverged
      ? { error: `the step diverged: non-finite loss (${diverged.value}) at step ${diverged.step} of ${total} (warm-up steps counted; check --lr, --margin and --dtype); the timings are kept but describe a broken step` }
      : {}),
    spec,
    startedAt: new Date(started).toISOString(),
    wallSeconds: (Date.now() - started) / 1000,
    backend: backend.name,
    device: backend.description,
    timing,
    memory: memoryOf(spec, backend, comm, recorded),
    work: { flopsPerStep: work.flops, bytesPerStep: work.bytes, achievedGflops: work.flops / (computeMs / 1000) / 1e9 },
    communication: communicationOf(recorded, profile, timing.modeledCommMs),
    activeCentres: strategy.activeCentres(),
    ...(losses.length ? { loss: losses.reduce((a, b) => a + b, 0) / losses.length } : {}),
  };
}
