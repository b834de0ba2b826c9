/**
 * `pfc-bench run --mode real` under mpirun or srun: every rank runs the whole matrix in its own
 * process, cell by cell in the same order (cells cannot run in child processes: the ranks of a
 * cell are the job's processes). Rank 0 gathers every rank's memory peak (the headline
 * peakBytes is the maximum, memory.perRankPeakBytes keeps them all), and only rank 0 prints
 * progress and the table and writes the results file and the report (the command renders;
 * the sweep is the shared executor of sweep.ts).
 *
 * Safety: at start-up the ranks compare a hash of their expanded cell specs (seed included) and
 * name a rank whose options differ; --gpus must equal the MPI world size. A cell whose set-up
 * fails on some rank (out of memory) is recorded alike by every rank and the job goes on; any
 * other failure (a bad option, an MPI error inside a step) prints "pfc-bench: rank R: <message>"
 * and aborts the whole job (MPI_Abort), so no rank is left waiting in a collective.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { core, MEMORY_CATEGORIES, type BytesByCategory } from '../core/binding.js';
import { UsageError, isOutOfMemory } from '../core/errors.js';
import { selectBackend } from '../core/backend.js';
import '../core/cpu-backend.js';
import { abortMpi, allGatherInt32, barrierMpi, broadcastInt32, currentRank, finalizeMpi, mpiWorld } from '../comm/mpi.js';
import { modelMemory } from '../strategies/memory-model.js';
import { PeerSetupFailed, cellId, runCell } from './cell.js';
import { runContext } from './context.js';
import type { CellResult, CellSpec, RunContext } from './results.js';
import type { CellExecutor, StepProgress } from './sweep.js';

/**
 * Spec fields that may differ across ranks: per-process resources (a per-GPU memory budget,
 * CPU threads). Everything else must be identical on every rank.
 */
export const PER_RANK_FIELDS: readonly (keyof CellSpec)[] = ['memoryBudget', 'threads'];

/** "rank R: " when this process is one rank of a launched job, '' otherwise. */
export function rankPrefix(): string {
  const rank = currentRank();
  return rank === undefined ? '' : `rank ${rank}: `;
}

/** Ends every rank of the job when MPI runs in this process (after the message is printed). */
export function abortJob(code: number): void {
  abortMpi(code === 0 ? 1 : code);
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The text every rank must agree on: the expanded cells (seed included), minus per-rank fields. */
export function agreedOptionsText(specs: readonly CellSpec[]): string {
  return stableStringify(
    specs.map((spec) => {
      const copy: Record<string, unknown> = { ...spec };
      for (const field of PER_RANK_FIELDS) delete copy[field];
      return copy;
    }),
  );
}

/** Where two ranks' option texts first differ, in words. */
export function describeDifference(mine: string, theirs: string, rank: number): string {
  const a = JSON.parse(mine) as Record<string, unknown>[];
  const b = JSON.parse(theirs) as Record<string, unknown>[];
  if (a.length !== b.length) return `rank ${rank} has ${b.length} cell(s), rank 0 has ${a.length}`;
  for (let i = 0; i < a.length; i++) {
    const keys = [...new Set([...Object.keys(a[i]), ...Object.keys(b[i])])].sort();
    for (const key of keys) {
      const x = stableStringify(a[i][key]);
      const y = stableStringify(b[i][key]);
      if (x !== y) return `cell ${i + 1}: ${key} is ${y} on rank ${rank} but ${x} on rank 0`;
    }
  }
  return 'their options hash differently';
}


/** Non-negative integers below 2^62 (or null) as two int32 words each. */
function encode(values: (number | null)[]): Int32Array {
  const out = new Int32Array(values.length * 2);
  values.forEach((v, i) => {
    if (v === null) {
      out[2 * i] = -1;
      return;
    }
    out[2 * i] = Math.floor(v / 2 ** 31);
    out[2 * i + 1] = v % 2 ** 31;
  });
  return out;
}

function decode(words: Int32Array, start: number, count: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 0; i < count; i++) {
    const hi = words[start + 2 * i];
    out.push(hi < 0 ? null : hi * 2 ** 31 + words[start + 2 * i + 1]);
  }
  return out;
}

/** Every rank's text, on every rank (UTF-8 bytes as int32 words, padded to the longest). */
export function gatherTexts(text: string, size: number): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const lengths = allGatherInt32(Int32Array.of(bytes.length), size);
  const longest = Math.max(1, ...lengths);
  const padded = new Int32Array(longest);
  bytes.forEach((b, i) => (padded[i] = b));
  const all = allGatherInt32(padded, size);
  return Array.from({ length: size }, (_, r) => Buffer.from(Uint8Array.from(all.subarray(r * longest, r * longest + lengths[r]))).toString('utf8'));
}

// --- failures ------------------------------------------------------------------------------------

/** Thrown to end the run after a message was printed and the job aborted. */
class RankFailure extends Error {}

/** Options that differ across ranks (a usage error, but not of one option). */
class OptionsMismatch extends Error {}

function exitCodeOf(error: unknown): number {
  return error instanceof UsageError || error instanceof OptionsMismatch ? 2 : 1;
}

/** This rank failed: say so, naming the rank, and end every rank of the job. */
export function failRank(rank: number, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  writeSync(2, `pfc-bench: rank ${rank}: ${message}\n`);
  const code = exitCodeOf(error);
  abortJob(code);
  process.exit(code); // reached only if MPI_Abort returned
}

/**
 * A failure every rank detects alike (the options are already known to agree): rank 0 reports
 * it and aborts; the others wait in a barrier for the abort.
 */
function failTogether(rank: number, error: unknown): never {
  if (rank === 0) failRank(0, error);
  core().mpiBarrier();
  throw new RankFailure('rank 0 should have ended the job');
}

/**
 * The ranks whose `text` differs from rank 0's (by SHA-256), on every rank: rank 0's hash goes
 * to everyone, and every rank then learns which ranks differ from it. Collective.
 */
export function ranksDiffering(text: string, size: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  const mine = new Int32Array(digest.buffer, digest.byteOffset, 8).slice();
  const reference = broadcastInt32(mine, 0);
  const differs = mine.some((w, i) => w !== reference[i]) ? 1 : 0;
  const flags = allGatherInt32(Int32Array.of(differs), size);
  return [...flags].flatMap((f, r) => (f ? [r] : []));
}

/** Compares every rank's options with rank 0's; on a mismatch rank 0 names the rank(s). */
function checkSameOptions(specs: readonly CellSpec[], rank: number, size: number): void {
  const text = agreedOptionsText(specs);
  const bad = ranksDiffering(text, size);
  if (bad.length === 0) return;
  // Collect the texts so rank 0 can say what differs.
  const texts = gatherTexts(text, size);
  if (rank !== 0) {
    core().mpiBarrier(); // rank 0 aborts the job
    throw new RankFailure('rank 0 should have ended the job');
  }
  const textOf = (r: number) => texts[r];
  const first = bad[0];
  const others = bad.length > 1 ? ` (ranks ${bad.join(', ')} all differ)` : '';
  failRank(
    first,
    new OptionsMismatch(
      `options differ from rank 0's: ${describeDifference(textOf(0), textOf(first), first)}${others}; ` +
        `every rank must be given the same options (only --gpu-memory and --threads may differ)`,
    ),
  );
}

interface MemoryFigures {
  peak: number;
  atPeak: BytesByCategory;
  deviceUsed: number | null;
}

function memoryWords(result: CellResult): Int32Array {
  const m = result.memory;
  return encode([m?.peakBytes ?? 0, ...MEMORY_CATEGORIES.map((c) => m?.atPeak[c] ?? 0), m?.deviceUsedBytes ?? null]);
}

function gatherMemory(result: CellResult, size: number): MemoryFigures[] {
  const words = memoryWords(result);
  const all = allGatherInt32(words, size);
  const per = MEMORY_CATEGORIES.length + 2;
  return Array.from({ length: size }, (_, r) => {
    const values = decode(all, r * words.length, per);
    const atPeak = Object.fromEntries(MEMORY_CATEGORIES.map((c, k) => [c, values[1 + k] ?? 0])) as BytesByCategory;
    return { peak: values[0] ?? 0, atPeak, deviceUsed: values[per - 1] };
  });
}

/** Rank 0's result with every rank's memory: the headline is the rank with the largest peak. */
function mergeMemory(result: CellResult, ranks: MemoryFigures[]): CellResult {
  if (!result.memory) return result;
  let top = 0;
  ranks.forEach((r, i) => {
    if (r.peak > ranks[top].peak) top = i;
  });
  const used = ranks.map((r) => r.deviceUsed).filter((v): v is number => v !== null);
  return {
    ...result,
    memory: {
      ...result.memory,
      peakBytes: ranks[top].peak,
      atPeak: ranks[top].atPeak,
      // Rank 0's model already holds the backend's library workspace (cuBLAS's); keep it.
      modelBytes: modelMemory(result.spec, top, result.memory.modelBytes.workspace - modelMemory(result.spec, 0).workspace),
      deviceUsedBytes: used.length ? Math.max(...used) : null,
      perRankPeakBytes: ranks.map((r) => r.peak),
    },
  };
}

/** Status codes every rank shares after a cell; the worst one is the cell's. */
const STATUS_CODES = { completed: 0, peer: 1, oom: 2, error: 3 } as const;

function statusCode(result: CellResult | undefined, error: unknown): number {
  if (error instanceof PeerSetupFailed) return STATUS_CODES.peer;
  if (error !== undefined) return isOutOfMemory(error) ? STATUS_CODES.oom : STATUS_CODES.error;
  return result!.status === 'completed' ? STATUS_CODES.completed : result!.status === 'oom' ? STATUS_CODES.oom : STATUS_CODES.error;
}

export interface RealSession {
  executor: CellExecutor;
  context: RunContext;
  rank: number;
  size: number;
  /** Rank 0 finishes writing before any rank leaves; then MPI ends cleanly everywhere. */
  finish(): void;
}

/**
 * Checks that every rank was given the same cells and that --gpus is the world size, then
 * returns the executor that runs a cell on every rank together. A cell that fails on any rank
 * while it is set up (out of memory, a bad allocation) ends on every rank alike: every rank
 * records the same status and the job goes on to the next cell. A failure inside a step, with
 * other ranks in a collective, still ends the job (it cannot be recovered from).
 */
export function startRealSession(specs: readonly CellSpec[], quiet: boolean, scenarioName: string): RealSession {
  const other = specs.find((s) => s.mode !== 'real');
  if (other) {
    throw new UsageError('--mode', `real mode runs every cell of the run under mpirun/srun; it cannot be mixed with '${other.mode}' cells in one run`);
  }
  const world = mpiWorld();
  const { rank, size } = world;
  try {
    checkSameOptions(specs, rank, size);
    const wrong = specs.find((s) => s.ranks !== size);
    if (wrong) {
      failTogether(
        rank,
        new UsageError('--gpus', `${wrong.ranks} does not equal the MPI world size ${size}; in real mode --gpus must be the number of ranks mpirun/srun started (mpirun -np ${wrong.ranks} ...)`),
      );
    }
  } catch (error) {
    failRank(rank, error);
  }
  const notes = [...new Set(specs.map((s) => s.backend))].map((b) => selectBackend(b).note);
  const { backend } = selectBackend(specs[0].backend);
  if (!quiet && rank === 0) process.stderr.write(`pfc-bench: ${scenarioName}, ${specs.length} cell(s) in real mode on ${size} MPI rank(s) (${world.version}); ${notes.join('; ')}\n`);

  const run = async (spec: CellSpec, onStep: (p: StepProgress) => void): Promise<CellResult> => {
    let result: CellResult | undefined;
    let failure: unknown;
    let everyRankSetUp: boolean | undefined;
    try {
      result = runCell(spec, {
        progress: rank === 0 ? onStep : undefined,
        agree: (ok) => (everyRankSetUp = allGatherInt32(Int32Array.of(ok ? 1 : 0), size).every((f) => f === 1)),
      });
    } catch (error) {
      // Past the agreement, the other ranks are in a collective: only ending the job is safe.
      if (everyRankSetUp !== false) failRank(rank, error);
      failure = error;
    }
    const mine = statusCode(result, failure);
    if (failure !== undefined && mine !== STATUS_CODES.peer) writeSync(2, `pfc-bench: rank ${rank}: ${(failure as Error).message ?? String(failure)}\n`);
    const codes = [...allGatherInt32(Int32Array.of(mine), size)];
    const worst = Math.max(...codes);
    if (worst === STATUS_CODES.completed) {
      const memory = gatherMemory(result!, size);
      return rank === 0 ? mergeMemory(result!, memory) : result!;
    }
    const culprit = codes.indexOf(worst);
    const status = worst === STATUS_CODES.oom ? 'oom' : 'error';
    const message = failure !== undefined ? String((failure as Error).message ?? failure) : (result?.error ?? status);
    const messages = gatherTexts(message.slice(0, 2000), size);
    return { ...(result ?? {}), id: cellId(spec), status, spec, error: `rank ${culprit}: ${messages[culprit]}` };
  };

  const executor: CellExecutor = {
    reports: rank === 0,
    run,
    shareKept: (kept) => [...broadcastInt32(Int32Array.from(kept.map((k) => (k ? 1 : 0))), 0)].map((f) => f === 1),
  };
  return {
    executor,
    context: runContext({ ...backend.context(), mpi: world.version, mpiLibrary: world.library, mpiRanks: size }),
    rank,
    size,
    finish() {
      barrierMpi();
      finalizeMpi();
    },
  };
}
