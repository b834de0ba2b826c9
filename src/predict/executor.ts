/** `--mode predict` as a way to run a cell of a sweep: in this process, no kernel, no child. */
import type { CellExecutor } from '../bench/sweep.js';
import { predictCell } from './cell.js';

export function predictExecutor(): CellExecutor {
  return { reports: true, run: async (spec) => predictCell(spec) };
}
