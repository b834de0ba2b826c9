/** The plain-text table `pfc-bench run` prints: one row per cell, seed-table columns first. */
import { SIMULATED_NOTE, simulatedCell, type CapacityAnswer, type CellResult } from '../bench/results.js';
import { methodLabel } from '../bench/method.js';
import { caseName } from '../bench/case-name.js';
import { cellModelBytes, totalBytes } from '../strategies/memory-model.js';

const MB = 1e6;

function modelTotal(cell: CellResult): string {
  const model = cellModelBytes(cell);
  return model ? (totalBytes(model) / MB).toFixed(0) : '-';
}

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  return cells.map((row) => row.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')).join('\n');
}

/**
 * A step cannot be faster than its own three GEMMs: x GEMMs under 1 means the floor was not a
 * floor in this run (timer resolution at tiny shapes, a busy machine, the reference timed in a
 * colder cache), and figures normalized by it (compare) are not to be trusted for this cell.
 */
export function belowFloor(cell: CellResult): boolean {
  return cell.reference !== undefined && Number.isFinite(cell.reference.stepOverGemm) && cell.reference.stepOverGemm < 1;
}

export const BELOW_FLOOR_NOTE =
  "! x GEMMs under 1: the step ran faster than its own three GEMMs timed alone, which it contains; the GEMM floor was not a floor in this run (timer resolution at small shapes, a busy machine): do not trust this cell's x GEMMs, nor compare's figures normalized by it; rerun with more --steps/--trials or larger shapes";

export function resultsTable(cells: readonly CellResult[]): string {
  const rows = [['Setting', 'Method', 'GPUs', 'Batch', 'Memory/MB', 'Model/MB', 'Step ms', 'p10-p90 ms', 'Comm ms', 'img/s', 'x GEMMs', 'Status']];
  // Step ms and its spread are THE step time (timing.stepMs); Comm ms is the communication it includes.
  for (const cell of cells) {
    const s = cell.spec;
    const method = methodLabel(s);
    const t = cell.timing;
    const m = cell.memory;
    const sim = simulatedCell(cell) ? '~' : '';
    const modeled = (s.mode === 'predict' ? '^' : t?.modeled ? '*' : '') + sim;
    rows.push([
      caseName(s),
      method,
      `${s.ranks}`,
      `${s.batch}`,
      m ? `${(m.peakBytes / MB).toFixed(0)}${s.mode === 'predict' ? '^' : ''}` : '-',
      modelTotal(cell),
      t ? `${t.stepMs.median.toFixed(1)}${s.mode === 'predict' ? '^' : ''}${sim}` : '-',
      t ? `${t.stepMs.p10.toFixed(1)}-${t.stepMs.p90.toFixed(1)}` : '-',
      t ? `${t.phasesMs.communication.toFixed(2)}${modeled}` : '-',
      t ? `${Math.round(t.imagesPerSecond)}${modeled}` : '-',
      cell.reference ? `${cell.reference.stepOverGemm.toFixed(2)}${belowFloor(cell) ? '!' : ''}` : '-',
      cell.status + (cell.error ? `: ${cell.error.split('\n')[0].slice(0, 60)}` : ''),
    ]);
  }
  const anyModeled = cells.some((c) => c.timing?.modeled && c.spec.mode !== 'predict');
  const targets = [...new Set(cells.filter((c) => c.spec.mode === 'predict').map((c) => c.prediction?.target ?? c.spec.target))];
  const anyMeasured = cells.some((c) => c.communication?.measuredMs !== undefined);
  const anySimulated = cells.some(simulatedCell);
  return (
    pad(rows) +
    (anyModeled ? '\n* includes modeled communication (emulated rank; collectives not sent): Step ms counts the modeled, not the measured, communication' : '') +
    (targets.length ? `\n^ predicted on ${targets.join(', ')}: no kernel ran, nothing measured (pfc-bench plan and docs/predict.md say what is modeled)` : '') +
    (anySimulated ? `\n~ ${SIMULATED_NOTE}` : '') +
    (anyMeasured ? '\nComm ms without *: measured, each collective of the step timed alone after a barrier (waits for slower ranks are in Step ms only)' : '') +
    (cells.some(belowFloor) ? `\n${BELOW_FLOOR_NOTE}` : '')
  );
}

/**
 * How a capacity answer was checked, in a table cell: "model only", or what each allocation
 * said ("fits; 1,674,248: out of budget"). Files written before the probes were recorded
 * say only whether each was confirmed.
 */
export function capacityCheck(c: CapacityAnswer): string {
  if (c.checkedBy === 'model only') return 'model only (not allocated)';
  const probes = c.probes ?? { atLargest: c.confirmedFit ? 'fits' : 'not confirmed', above: c.confirmedOomAbove ? 'out of budget' : 'not confirmed' };
  return `${probes.atLargest}; ${c.nextClassesTried.toLocaleString('en-US')}: ${probes.above}`;
}

/** The reasons the table's model-only answers were not allocated, once each. */
export function modelOnlyNotes(cells: readonly CellResult[]): string[] {
  const reasons = [...new Set(cells.map((c) => (c.capacity?.checkedBy === 'model only' ? c.capacity.modelOnly : undefined)).filter((r): r is string => !!r))];
  return reasons.map((r) => `model only: the answer is the analytic memory model's, not checked by allocation: ${r}`);
}

/** Capacity answers: largest identity count per strategy, GPUs and budget. */
export function capacityTable(cells: readonly CellResult[]): string {
  const GiB = 2 ** 30;
  const rows = [['Strategy', 'GPUs', 'Batch', 'Budget/GiB', 'Largest C', 'Model/GiB', 'Allocated/GiB', 'Checked by allocation', 'Status']];
  for (const cell of cells) {
    const s = cell.spec;
    const c = cell.capacity;
    rows.push([
      methodLabel(s),
      `${s.ranks}`,
      `${s.batch}`,
      (s.memoryBudget / GiB).toFixed(2),
      c ? c.largestClasses.toLocaleString('en-US') : '-',
      c ? (c.modelBytes / GiB).toFixed(2) : '-',
      c && c.checkedBy !== 'model only' ? (c.allocatedBytes / GiB).toFixed(2) : '-',
      c ? capacityCheck(c) : '-',
      cell.status + (cell.error ? `: ${cell.error.slice(0, 60)}` : ''),
    ]);
  }
  return [pad(rows), ...modelOnlyNotes(cells)].join('\n');
}
