/**
 * Entry point of the child process that runs one cell (node child.js SPEC.json RESULT.json PARENT_PID).
 * An out-of-memory error becomes status 'oom', any other error 'error'; the parent records a
 * crash or a signal (no result file) itself. Progress goes to stderr as JSON lines for the
 * parent. A child whose parent died (killed with SIGKILL, which it cannot intercept) removes
 * its folder and exits at its next step instead of running on as an orphan.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isOutOfMemory } from '../core/errors.js';
import { cellId, runCell } from './cell.js';
import type { CellResult, CellSpec } from './results.js';
import { registerOptionalModules } from './modules.js';

// The parent names itself: a parent killed before this process read process.ppid would leave
// this process already adopted (by init or a subreaper), and it would never notice.
const parentAtStart = Number(process.argv[4] ?? process.ppid);

/** The parent's pid now: process.ppid is read once at start-up, /proc has the live value. */
function currentParent(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    try {
      process.kill(parentAtStart, 0);
      return parentAtStart;
    } catch {
      return 1;
    }
  }
}

function exitIfOrphaned(folder: string): void {
  if (currentParent() === parentAtStart) return;
  rmSync(folder, { recursive: true, force: true });
  process.exit(1);
}

async function main(): Promise<void> {
  const [specPath, resultPath] = process.argv.slice(2);
  const folder = dirname(specPath);
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as CellSpec;
  await registerOptionalModules();
  let result: CellResult;
  try {
    result = runCell(spec, (p) => {
      exitIfOrphaned(folder);
      process.stderr.write(`PFC_PROGRESS ${JSON.stringify(p)}\n`);
    });
  } catch (error) {
    result = {
      id: cellId(spec),
      status: isOutOfMemory(error) ? 'oom' : 'error',
      spec,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  exitIfOrphaned(folder);
  writeFileSync(resultPath, JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
