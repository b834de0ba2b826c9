/**
 * Runs a matrix of cells, each in its own child process, so that an out-of-memory or a crash
 * is recorded as that cell's status and the sweep goes on. The results file is rewritten
 * (atomically) after every cell, so an interrupted sweep keeps its finished cells, and
 * `resume` skips the cells a previous run already finished.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cellId } from './cell.js';
import { Progress } from './progress.js';
import { RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION, parseResultsFile, type CellResult, type CellSpec, type ResultsFile, type RunContext } from './results.js';

const childScript = join(dirname(fileURLToPath(import.meta.url)), 'child.js');

export interface SweepOptions {
  outPath: string;
  scenario: ResultsFile['scenario'];
  context: RunContext;
  resume: boolean;
  /** Kill a cell that runs longer than this (seconds; 0 = never). */
  cellTimeoutSeconds: number;
  progress: Progress;
  /** Extra environment for the child processes. */
  env?: NodeJS.ProcessEnv;
}

/** Final statuses a resumed sweep does not run again. */
const FINISHED = new Set(['completed', 'oom']);

export function writeResultsAtomically(path: string, results: ResultsFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(results, null, 1)}\n`);
  renameSync(tmp, path);
}

export function runCellInChild(spec: CellSpec, options: Pick<SweepOptions, 'cellTimeoutSeconds' | 'env'>, onProgress: (line: { phase: string; done: number; total: number }) => void): Promise<CellResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-cell-'));
  const specPath = join(dir, 'spec.json');
  const resultPath = join(dir, 'result.json');
  writeFileSync(specPath, JSON.stringify(spec));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childScript, specPath, resultPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stderr = '';
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('PFC_PROGRESS ')) onProgress(JSON.parse(line.slice(13)));
        else stderr += `${line}\n`;
      }
    });
    const timer = options.cellTimeoutSeconds > 0 ? setTimeout(() => child.kill('SIGKILL'), options.cellTimeoutSeconds * 1000) : undefined;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      let result: CellResult;
      if (existsSync(resultPath)) {
        result = JSON.parse(readFileSync(resultPath, 'utf8')) as CellResult;
      } else {
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        // A child killed by the kernel's OOM killer dies of SIGKILL without writing a result.
        const oomKilled = signal === 'SIGKILL' && !timer;
        result = {
          id: cellId(spec),
          status: oomKilled ? 'oom' : 'error',
          spec,
          error: signal
            ? `the cell's process was killed by ${signal}${timer && signal === 'SIGKILL' ? ` (timeout ${options.cellTimeoutSeconds}s or out of memory)` : ''}${tail ? `: ${tail}` : ''}`
            : `the cell's process exited with code ${code}${tail ? `: ${tail}` : ''}`,
        };
      }
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
  });
}

export async function runSweep(specs: CellSpec[], options: SweepOptions): Promise<ResultsFile> {
  const previous = options.resume && existsSync(options.outPath) ? parseResultsFile(readFileSync(options.outPath, 'utf8'), options.outPath) : undefined;
  const done = new Map<string, CellResult>();
  for (const cell of previous?.cells ?? []) if (FINISHED.has(cell.status)) done.set(cell.id, cell);
  const results: ResultsFile = {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    scenario: options.scenario,
    context: options.context,
    cells: [],
  };
  const progress = options.progress;
  progress.begin(specs.length);
  for (const [index, spec] of specs.entries()) {
    const id = cellId(spec);
    const reused = done.get(id);
    if (reused) {
      results.cells.push(reused);
      progress.cellDone(index, spec, reused, true);
      continue;
    }
    progress.cellStart(index, spec);
    const result = await runCellInChild(spec, options, (p) => progress.step(p.phase, p.done, p.total));
    results.cells.push(result);
    writeResultsAtomically(options.outPath, results);
    progress.cellDone(index, spec, result, false);
  }
  writeResultsAtomically(options.outPath, results);
  progress.end();
  return results;
}
