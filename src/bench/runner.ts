/**
 * The child-process way to run a cell: each cell in its own process, so that an out-of-memory,
 * a crash or a signal is that cell's status and the sweep goes on.
 *   - completed, oom, error: the child's own verdict (its result file);
 *   - timeout: --cell-timeout passed, the child was killed;
 *   - killed: a signal ended the child (named in `signal`; SIGKILL is also what the kernel's
 *     out-of-memory killer sends), or it exited without a result.
 * A dying parent takes its cells with it: on SIGINT/SIGTERM/SIGHUP the parent kills its
 * children and removes their folders before it exits, and a child whose parent vanished
 * (SIGKILL) notices at its next step, removes its folder and exits (child.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cellId } from './cell.js';
import type { CellExecutor, StepProgress } from './sweep.js';
import type { CellResult, CellSpec } from './results.js';

const childScript = join(dirname(fileURLToPath(import.meta.url)), 'child.js');

export interface ChildOptions {
  /** Kill a cell that runs longer than this (seconds; 0 = never). */
  cellTimeoutSeconds: number;
  /** Extra environment for the child processes. */
  env?: NodeJS.ProcessEnv;
  /** Called with the child's pid once it runs. */
  onSpawn?: (pid: number) => void;
}

/** Children running now, with their folders: what a dying parent must clean up. */
const running = new Map<ChildProcess, string>();
const EXIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onParentSignal(signal: NodeJS.Signals): void {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  running.clear();
  // The conventional exit status of a process ended by a signal: 128 + its number.
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  process.exit(128 + (numbers[signal] ?? 1));
}

function track(child: ChildProcess, dir: string): void {
  if (running.size === 0) for (const s of EXIT_SIGNALS) process.on(s, onParentSignal);
  running.set(child, dir);
}

function untrack(child: ChildProcess): void {
  running.delete(child);
  if (running.size === 0) for (const s of EXIT_SIGNALS) process.off(s, onParentSignal);
}

export function runCellInChild(spec: CellSpec, options: ChildOptions, onProgress: (line: StepProgress) => void): Promise<CellResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-cell-'));
  const specPath = join(dir, 'spec.json');
  const resultPath = join(dir, 'result.json');
  writeFileSync(specPath, JSON.stringify(spec));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childScript, specPath, resultPath, String(process.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    track(child, dir);
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stderr = '';
    let pending = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('PFC_PROGRESS ')) onProgress(JSON.parse(line.slice(13)) as StepProgress);
        else stderr += `${line}\n`;
      }
    });
    let timedOut = false;
    const timer = options.cellTimeoutSeconds > 0
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, options.cellTimeoutSeconds * 1000)
      : undefined;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      untrack(child);
      const tail = (stderr + pending).trim().split('\n').slice(-5).join('\n');
      let result: CellResult;
      if (!timedOut && signal === null && existsSync(resultPath)) {
        result = JSON.parse(readFileSync(resultPath, 'utf8')) as CellResult;
      } else if (timedOut) {
        result = { id: cellId(spec), status: 'timeout', spec, error: `the cell ran past --cell-timeout ${options.cellTimeoutSeconds}s and was killed` };
      } else if (signal) {
        const why = signal === 'SIGKILL' ? ' (the kernel\'s out-of-memory killer sends SIGKILL when the host runs out of memory)' : '';
        result = { id: cellId(spec), status: 'killed', signal, spec, error: `the cell's process was killed by ${signal}${why}${tail ? `: ${tail}` : ''}` };
      } else {
        result = { id: cellId(spec), status: 'error', spec, error: `the cell's process exited with code ${code} without a result${tail ? `: ${tail}` : ''}` };
      }
      rmSync(dir, { recursive: true, force: true });
      resolve(result);
    });
  });
}

/** Runs each cell in a child process of this one. */
export function childProcessExecutor(options: ChildOptions): CellExecutor {
  return { reports: true, run: (spec, onStep) => runCellInChild(spec, options, onStep) };
}
