/**
 * Entry point of the child process that runs one cell (node child.js SPEC.json RESULT.json).
 * An out-of-memory error becomes status 'oom', any other error 'error'; the parent records a
 * crash (no result file) itself. Progress goes to stderr as JSON lines for the parent.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isOutOfMemory } from '../core/errors.js';
import { cellId, runCell } from './cell.js';
import type { CellResult, CellSpec } from './results.js';
import { registerOptionalModules } from './modules.js';

async function main(): Promise<void> {
  const [specPath, resultPath] = process.argv.slice(2);
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as CellSpec;
  await registerOptionalModules();
  let result: CellResult;
  try {
    result = runCell(spec, (p) => process.stderr.write(`PFC_PROGRESS ${JSON.stringify(p)}\n`));
  } catch (error) {
    result = {
      id: cellId(spec),
      status: isOutOfMemory(error) ? 'oom' : 'error',
      spec,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  writeFileSync(resultPath, JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
