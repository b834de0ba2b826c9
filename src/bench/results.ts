/**
 * The results file: what a run measured, with its context, in a versioned schema. Reports,
 * comparisons and re-renders read only these files.
 */
import type { BytesByCategory } from '../core/binding.js';
import type { PhaseTimes } from '../core/backend.js';
import type { CollectiveRecord } from '../comm/communicator.js';
import type { FcConfig } from '../strategies/config.js';

export const RESULTS_SCHEMA = 'pfc-bench/results';
export const RESULTS_SCHEMA_VERSION = 1;

export type CellStatus = 'completed' | 'oom' | 'error' | 'skipped';
export type RunMode = 'single' | 'emulate' | 'real';

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
  backend: 'auto' | 'cpu' | 'cuda';
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
  /** The published figure this cell reproduces (anchors.md), shown beside ours. */
  published?: PublishedFigure;
  /** Allocate the strategy's buffers under the budget and stop (capacity probes). */
  allocateOnly?: boolean;
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
  startedAt?: string;
  wallSeconds?: number;
  backend?: string;
  device?: string;
  timing?: {
    /** Measured compute (all of the step in real and single mode), per step. */
    stepMs: Spread;
    phasesMs: PhaseTimes;
    /** Modeled communication per step (emulate mode), 0 otherwise. */
    modeledCommMs: number;
    /** Per-step time used for images/s: measured + modeled communication. */
    totalMs: number;
    imagesPerSecond: number;
    /** True when any part of the time is modeled rather than measured. */
    modeled: boolean;
    /** Per trial: medians of its steps, and the GEMM reference measured right after it. */
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
    profile: string;
    modeledMs: number;
  };
  activeCentres?: number;
  /** The capacity search's answer for this cell's strategy, GPUs and memory budget. */
  capacity?: CapacityAnswer;
  /** Mean loss of the measured steps; absent in emulate mode, where it is not meaningful. */
  loss?: number;
}

export interface CapacityAnswer {
  budgetBytes: number;
  /** Largest identity count whose rank-0 memory fits the budget. */
  largestClasses: number;
  /** Modeled and allocated (tagged) peak bytes of rank 0 at largestClasses. */
  modelBytes: number;
  allocatedBytes: number;
  /** The allocation at largestClasses fit, and at the next count tried it ran out of memory. */
  confirmedFit: boolean;
  confirmedOomAbove: boolean;
  nextClassesTried: number;
}

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
  backend: Record<string, string | number | boolean>;
  argv: string[];
}

export interface ResultsFile {
  schema: typeof RESULTS_SCHEMA;
  schemaVersion: number;
  scenario: { name: string; description: string; file?: string; overrides: Record<string, unknown> };
  context: RunContext;
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
  if (data.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new Error(`${path}: results schema version ${data.schemaVersion} is not supported (this pfc-bench reads version ${RESULTS_SCHEMA_VERSION})`);
  }
  return data;
}
