/**
 * The one sweep executor. Whatever runs a cell (a child process per cell, the ranks of an
 * mpirun job in-process, a capacity probe), the sweep is the same: the output path is checked
 * before anything runs, `--resume` keeps the cells a previous run completed (and the statuses
 * asked for with --keep) and runs every other one again, the results file is rewritten
 * atomically after every cell, and progress is reported. Runners return results; the
 * commands render them.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../core/errors.js';
import { cellId } from './cell.js';
import { findStrategy } from '../strategies/registry.js';
import { loadedStrategyModules, moduleFailures, unavailableStrategyReason } from '../strategies/modules.js';
import { Progress } from './progress.js';
import { RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION, readResultsFile, type CellResult, type CellSpec, type CellStatus, type ResultsFile, type RunContext } from './results.js';

export interface StepProgress {
  phase: string;
  done: number;
  total: number;
}

/** One way to run a cell. */
export interface CellExecutor {
  /** The cell's result; a failure of the cell itself (oom, crash, signal) is a result, not a throw. */
  run(spec: CellSpec, onStep: (p: StepProgress) => void): Promise<CellResult>;
  /** The id results are matched by on --resume (a capacity answer is not a measurement). */
  idOf?(spec: CellSpec): string;
  /** How progress names a cell, when not as describeCell does. */
  describe?(spec: CellSpec): string;
  /** Real mode: every rank takes rank 0's decision of which cells to keep. */
  shareKept?(kept: boolean[]): boolean[];
  /** False where this process neither writes nor prints (ranks other than 0). */
  readonly reports: boolean;
}

export interface SweepOptions {
  outPath: string;
  scenario: ResultsFile['scenario'];
  context: RunContext;
  /** Keep the finished cells of outPath and run the rest. */
  resume: boolean;
  /** Statuses --resume keeps besides 'completed' (none by default: they run again). */
  keep?: readonly CellStatus[];
  progress: Progress;
}

export function writeResultsAtomically(path: string, results: ResultsFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, `${JSON.stringify(results, null, 1)}\n`);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Fails before any cell runs when the results cannot be written where asked. */
export function checkOutputPath(path: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new UsageError('--out', `'${path}' is a folder; expected the path of a results file (e.g. ${path.replace(/\/$/, '')}/results.json)`);
  }
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError('--out', `cannot create the folder '${dir}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError('--out', `'${dir}' is not a folder`);
  // The results are written as a file beside the target, then renamed: try exactly that now.
  const probe = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(probe, '');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError('--out', `cannot write results in the folder '${dir}' (${reason}); expected a path in a folder you can write`);
  }
  rmSync(probe, { force: true });
}

function readPrevious(path: string): ResultsFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return readResultsFile(path);
  } catch (error) {
    throw new UsageError('--resume', `${(error as Error).message}; remove --resume or choose another --out`);
  }
}

export async function runSweep(specs: readonly CellSpec[], executor: CellExecutor, options: SweepOptions): Promise<ResultsFile> {
  const idOf = executor.idOf ?? cellId;
  const keep = new Set<string>(['completed', ...(options.keep ?? [])]);
  let kept: (CellResult | undefined)[] = specs.map(() => undefined);
  if (executor.reports) checkOutputPath(options.outPath);
  if (options.resume && executor.reports) {
    const done = new Map<string, CellResult>();
    for (const cell of readPrevious(options.outPath)?.cells ?? []) if (keep.has(cell.status)) done.set(cell.id, cell);
    kept = specs.map((spec) => done.get(idOf(spec)));
  }
  const keptFlags = executor.shareKept ? executor.shareKept(kept.map((k) => k !== undefined)) : kept.map((k) => k !== undefined);
  const results: ResultsFile = { schema: RESULTS_SCHEMA, schemaVersion: RESULTS_SCHEMA_VERSION, scenario: options.scenario, context: options.context, cells: [] };
  // The strategy modules of this run (path, version, SHA-256), and any that failed to load.
  const modules = loadedStrategyModules();
  if (modules.length) results.strategyModules = modules;
  if (moduleFailures().length) results.strategyModuleFailures = [...moduleFailures()];
  // Written now: an unwritable path fails before the first cell, not after it.
  if (executor.reports) writeResultsAtomically(options.outPath, results);
  const progress = options.progress;
  if (executor.describe) progress.describe = (spec) => executor.describe!(spec);
  progress.begin(specs.length);
  for (const [index, spec] of specs.entries()) {
    if (keptFlags[index]) {
      const previous = kept[index];
      if (previous) {
        results.cells.push(previous);
        writeResultsAtomically(options.outPath, results);
        progress.cellDone(index, spec, previous, true);
      }
      continue;
    }
    progress.cellStart(index, spec);
    // A strategy whose module failed to load: an error cell naming the module; the sweep goes on.
    const unavailable = findStrategy(spec.strategy) ? null : unavailableStrategyReason(spec.strategy);
    const result = unavailable ? { id: idOf(spec), status: 'error' as const, spec, error: unavailable } : await executor.run(spec, (p) => progress.step(p.phase, p.done, p.total));
    if (!executor.reports) continue;
    results.cells.push(result);
    writeResultsAtomically(options.outPath, results);
    progress.cellDone(index, spec, result, false);
  }
  progress.end();
  return results;
}
