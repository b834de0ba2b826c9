/**
 * The results file: what a run measured, with its context, in a versioned schema. Reports,
 * comparisons and re-renders read only these files.
 */
import { readFileSync } from 'node:fs';
import type { BytesByCategory } from '../core/binding.js';
import type { PhaseTimes } from '../core/backend.js';
import type { CollectiveRecord } from '../comm/communicator.js';
import type { FcConfig } from '../strategies/config.js';
import type { InterconnectProfile } from '../model/comm.js';
import type { CpuSignature } from './signature.js';
import type { StrategyModuleFailure, StrategyModuleRecord } from '../strategies/modules.js';
import type { TrainingPrediction } from '../predict/training.js';

export const RESULTS_SCHEMA = 'pfc-bench/results';
/** 2: one step time (stepMs includes exactly one communication time); statuses killed, timeout. */
export const RESULTS_SCHEMA_VERSION = 2;

/**
 * completed; oom (an allocation passed the device or the budget); error; killed (by a
 * signal, named in `signal`); timeout (--cell-timeout). Files of version 1 may hold 'skipped'.
 */
export const CELL_STATUSES = ['completed', 'oom', 'error', 'killed', 'timeout'] as const;
export type CellStatus = (typeof CELL_STATUSES)[number] | 'skipped';
export type RunMode = 'single' | 'emulate' | 'real' | 'predict';

export interface Spread {
  median: number;
  mean: number;
  min: number;
  p10: number;
  p90: number;
  max: number;
  samples: number[];
}

/** Everything that defines one cell of a matrix; equal specs measure the same thing. */
export interface CellSpec extends FcConfig {
  mode: RunMode;
  /** The rank measured (emulate) or the rank count's rank 0 (real). */
  rank: number;
  backend: 'auto' | 'cpu' | 'cuda' | 'cuda-sim';
  steps: number;
  warmup: number;
  trials: number;
  /** Interconnect profile for modeled communication (emulate mode). */
  interconnect: string;
  gpusPerNode: number;
  /** Per-GPU memory budget in bytes (0 = none): allocations past it are out of memory. */
  memoryBudget: number;
  threads: number;
  /** Free-form tag shown in reports, e.g. "1M@8". */
  label: string;
  /** The strategy the report's ratio rows of this cell divide by (absent: its descriptor's baseline). */
  baseline?: string;
  /** The published figure this cell reproduces (docs/reference-figures.md), shown beside ours. */
  published?: PublishedFigure;
  /** Allocate the strategy's buffers under the budget and stop (capacity probes). */
  allocateOnly?: boolean;
  /** Predict mode only: the GPU target (a built-in name or a file's absolute path). */
  target?: string;
  /** Predict mode only: the backbone trained with the FC (none: the FC alone). */
  backbone?: string;
  /** Predict mode only: per-GPU bytes reserved for anything else. */
  reserveBytes?: number;
}

export interface PublishedFigure {
  source: string;
  memoryMB?: number;
  imagesPerSecond?: number;
  /** Published capacity: the largest identity count that trains (the seed's chart). */
  largestClasses?: number;
}

export interface CellResult {
  id: string;
  status: CellStatus;
  spec: CellSpec;
  error?: string;
  /** The signal that ended the cell's process (status 'killed'). */
  signal?: string;
  startedAt?: string;
  wallSeconds?: number;
  backend?: string;
  device?: string;
  timing?: {
    /**
     * THE step time, per step: compute plus exactly one communication time, measured (real,
     * single) or modeled (emulate: the emulated rank's local copies are replaced by the modeled
     * collectives). The table, progress, reports, charts and images/s all use it.
     */
    stepMs: Spread;
    /**
     * Median per phase; 'communication' is the one communication time: modeled (emulate) or
     * measured (real: the collectives alone, each after a barrier, so waits for a slower rank
     * are in the step time but in no phase).
     */
    phasesMs: PhaseTimes;
    /** Which communication time stepMs includes. */
    communication: 'measured' | 'modeled';
    /** Modeled communication per step (emulate mode), 0 otherwise. */
    modeledCommMs: number;
    /** = stepMs.median (kept for older readers). */
    totalMs: number;
    /** = global batch / stepMs.median. */
    imagesPerSecond: number;
    /** True when any part of the time is modeled rather than measured. */
    modeled: boolean;
    /**
     * Per trial: medians of its steps as measured (emulate: the local copies included, nothing
     * modeled), and the GEMM reference measured right after it: compare's raw input.
     */
    trials?: TrialTiming[];
  };
  memory?: {
    /** Peak of the core's tagged total (bytes), and each category's bytes at that moment. */
    peakBytes: number;
    atPeak: BytesByCategory;
    /** Analytic model of the same categories (bytes). */
    modelBytes: BytesByCategory;
    /** The device's own used-memory figure at the peak (nvidia-smi style); null on CPU. */
    deviceUsedBytes: number | null;
    /** Peak per rank in real mode (the headline is the maximum). */
    perRankPeakBytes?: number[];
  };
  /** The step's three GEMMs alone at the same shapes, same process (the reference workload). */
  reference?: {
    gemmMs: Spread;
    /** Step compute time over the GEMM time, per trial (median over trials): how far the step is from its floor. */
    stepOverGemm: number;
  };
  work?: {
    flopsPerStep: number;
    bytesPerStep: number;
    achievedGflops: number;
  };
  communication?: {
    collectives: CollectiveRecord[];
    /** The profile's name, and its content (a profile file's fitted values, path and SHA-256). */
    profile: string;
    interconnect?: InterconnectProfile;
    modeledMs: number;
    /**
     * Real mode: the collectives' own time per step (each timed alone after a barrier, as
     * nccl-tests does; median over steps of their sum), and per collective (collectives' order).
     */
    measuredMs?: number;
    measuredMsEach?: number[];
  };
  activeCentres?: number;
  /** The capacity search's answer for this cell's strategy, GPUs and memory budget. */
  capacity?: CapacityAnswer;
  /** Mean loss of the measured steps; absent in emulate mode, where it is not meaningful. */
  loss?: number;
  /** Predict mode: the figures predicted on the target (no kernel ran); nothing in the cell is measured. */
  prediction?: TrainingPrediction;
}

export interface CapacityAnswer {
  budgetBytes: number;
  /** Largest identity count whose rank-0 memory fits the budget. */
  largestClasses: number;
  /** Modeled and allocated (tagged) peak bytes of rank 0 at largestClasses. */
  modelBytes: number;
  allocatedBytes: number;
  /** The allocation at largestClasses fit, and at the next count tried it ran past the budget. */
  confirmedFit: boolean;
  confirmedOomAbove: boolean;
  nextClassesTried: number;
  /**
   * How the model's answer was checked: 'allocation' (both counts allocated under the budget in
   * child processes), or 'model only' when this machine cannot allocate the budget (a budget
   * past the host's memory, bf16 on the CPU backend): then nothing was allocated, `modelOnly`
   * says why, and confirmedFit/confirmedOomAbove are false. Absent in older files.
   */
  checkedBy?: 'allocation' | 'model only';
  modelOnly?: string;
  /** What each allocation said (checkedBy 'allocation'); 'failed' judges nothing (not an out-of-budget). */
  probes?: { atLargest: ProbeOutcome; above: ProbeOutcome };
}

/** fits; out of budget (the budget refused an allocation); failed (anything else: the host refused, a crash, an error). */
export type ProbeOutcome = 'fits' | 'out of budget' | 'failed' | 'not tried';

/** One trial's medians, paired with the reference workload timed right after it (compare). */
export interface TrialTiming {
  stepMs: number;
  phasesMs: PhaseTimes;
  gemmMs: number;
}

export interface RunContext {
  tool: { name: string; version: string; gitRevision: string };
  createdAt: string;
  node: string;
  platform: string;
  hostname: string;
  cpu: string;
  cpuCount: number;
  /** What decides the speed of the same code on this CPU (absent in files recorded before it). */
  cpuSignature?: CpuSignature;
  /**
   * Set by the regression guard on the two files it measured interleaved on one machine
   * (src/compare/guard.ts): the same id on both sides means the same machine, in one job.
   */
  pairedRun?: PairedRun;
  backend: Record<string, string | number | boolean>;
  argv: string[];
}

export interface PairedRun {
  /** One id per guard run, shared by its two files. */
  id: string;
  side: 'baseline' | 'candidate';
  /** The git revision measured on this side. */
  revision: string;
  /** The other side's revision. */
  against: string;
}

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA;
  schemaVersion: number;
  scenario: { name: string; description: string; file?: string; overrides: Record<string, unknown> };
  context: RunContext;
  /** The strategy modules the run loaded (--strategy-module): path, package version, SHA-256, strategies. */
  strategyModules?: StrategyModuleRecord[];
  /** Modules that failed to load; their strategies' cells are errors carrying the message. */
  strategyModuleFailures?: StrategyModuleFailure[];
  cells: CellResult[];
}

export function parseResultsFile(text: string, path: string): ResultsFile {
  let data: ResultsFile;
  try {
    data = JSON.parse(text) as ResultsFile;
  } catch (error) {
    throw new Error(`${path}: not a JSON results file (${(error as Error).message})`);
  }
  if (data?.schema !== RESULTS_SCHEMA) throw new Error(`${path}: not a pfc-bench results file (schema is ${JSON.stringify(data?.schema)})`);
  if (data.schemaVersion !== 1 && data.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new Error(`${path}: results schema version ${data.schemaVersion} is not supported (this pfc-bench reads versions 1 and ${RESULTS_SCHEMA_VERSION})`);
  }
  checkCells(data, path);
  return data.schemaVersion === 1 ? upgradeFromVersion1(data) : data;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What every reader of a results file relies on (report, compare, fidelity, --resume): a cells
 * array whose every cell has an id, a known status and a spec object. A file that lacks one is
 * an error naming the file, the cell's index and what is missing, not a crash in a reader.
 */
function checkCells(data: ResultsFile, path: string): void {
  if (!Array.isArray(data.cells)) throw new Error(`${path}: results file has no cells array`);
  const statuses: readonly string[] = [...CELL_STATUSES, 'skipped'];
  data.cells.forEach((cell: unknown, i) => {
    const where = `${path}: cell ${i}`;
    if (!isObject(cell)) throw new Error(`${where} is not an object (got ${JSON.stringify(cell)})`);
    if (typeof cell.id !== 'string' || cell.id === '') throw new Error(`${where} has no id (expected a string)`);
    if (typeof cell.status !== 'string' || !statuses.includes(cell.status)) {
      throw new Error(`${where} (${cell.id}) has ${cell.status === undefined ? 'no status' : `status ${JSON.stringify(cell.status)}`}; expected one of ${statuses.join(', ')}`);
    }
    if (!isObject(cell.spec)) throw new Error(`${where} (${cell.id}) has no spec object`);
  });
}

/** Reads and checks a results file; every reader of results files goes through here. */
export function readResultsFile(path: string): ResultsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read the results file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseResultsFile(text, path);
}

/**
 * Version 1 kept the emulated rank's measured local copies in stepMs and phasesMs and added
 * the modeled time only to totalMs. Version 2 has one step time: the samples are shifted so
 * their median is totalMs (the spread is approximate: the copies' own spread stays in it),
 * and the communication phase is the modeled time.
 */
function upgradeFromVersion1(data: ResultsFile): ResultsFile {
  for (const cell of data.cells) {
    const t = cell.timing as (CellResult['timing'] & { communication?: string }) | undefined;
    if (!t || t.communication) continue;
    const modeled = cell.spec?.mode === 'emulate';
    if (modeled) {
      const shift = t.totalMs - t.stepMs.median;
      const s = t.stepMs;
      t.stepMs = { median: s.median + shift, mean: s.mean + shift, min: s.min + shift, p10: s.p10 + shift, p90: s.p90 + shift, max: s.max + shift, samples: s.samples.map((x) => x + shift) };
      t.phasesMs = { ...t.phasesMs, communication: t.modeledCommMs };
    }
    t.communication = modeled ? 'modeled' : 'measured';
  }
  return { ...data, schemaVersion: RESULTS_SCHEMA_VERSION };
}

/** Images per second under the one step time. */
export function imagesPerSecond(batch: number, stepMs: number): number {
  return batch / (stepMs / 1000);
}

/** True for a cell run on the simulated device (cuda-sim): its times are a host simulation's and mean nothing for a GPU. */
export function simulatedCell(cell: { spec: { backend?: string } }): boolean {
  return cell.spec.backend === 'cuda-sim';
}

/** What every simulated figure says beside it. */
export const SIMULATED_NOTE = 'simulated device (cuda-sim): the CUDA kernels on the host CPU; its times mean nothing for a GPU';
