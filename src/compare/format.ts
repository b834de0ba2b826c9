/** The readable form of a comparison: one table of timings, the deterministic figures that differ, notes and a verdict. */
import type { CellComparison, Comparison } from './compare.js';

function pad(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((v, i) => (i >= 3 && i <= 5 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

const x = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 0.995 || v === 0 ? v.toFixed(2) : v.toPrecision(2)) : String(v));
const bytes = (v: number | null) => (v === null ? '-' : String(v));

function mark(verdict: string): string {
  if (verdict === 'inconclusive') return '?? INCONCLUSIVE ??';
  return verdict === 'regressed' || verdict === 'larger' || verdict === 'changed' ? `** ${verdict.toUpperCase()} **` : verdict;
}

function cellName(cell: CellComparison): string {
  return `${cell.label} ${cell.strategy}`;
}

export function formatComparison(c: Comparison, all = false): string {
  const out: string[] = [];
  const modules = (side: typeof c.baseline) => (side.strategyModules.length ? `; modules ${side.strategyModules.join(', ')}` : '');
  out.push(`baseline: ${c.baseline.path} (${c.baseline.scenario}, ${c.baseline.createdAt}, rev ${c.baseline.gitRevision}${modules(c.baseline)})`);
  out.push(`current:  ${c.current.path} (${c.current.scenario}, ${c.current.createdAt}, rev ${c.current.gitRevision}${modules(c.current)})`);
  if (c.baseline.signature === c.current.signature) out.push(`CPU signature (both): ${c.baseline.signature}`);
  else out.push(`CPU signature: baseline ${c.baseline.signature}`, `               current  ${c.current.signature}`);
  if (!c.options.figuresOnly) out.push(
    `rule: time / GEMM reference of the same trial; regression = ratio of medians > ${c.options.threshold} AND p25(current) > p75(baseline) across trials` +
      ` (phases: AND adds >= ${(c.options.minPhaseEffect * 100).toFixed(1)}% of the step); memory tolerance ${c.options.memoryTolerance}`,
  );
  out.push('');
  const rows: string[][] = [['cell', 'strategy', 'metric', 'baseline', 'current', 'ratio [IQR]', 'verdict']];
  for (const cell of c.cells) {
    if (cell.timing.length === 0) {
      const verdict = cell.failed ? `** ${cell.verdict.toUpperCase()} **` : cell.verdict;
      rows.push([cell.label, cell.strategy, 'cell', '-', '-', '-', `${verdict}${cell.detail ? ` (${cell.detail})` : ''}`]);
      continue;
    }
    for (const row of cell.timing) {
      if (!all && row.metric !== 'step' && row.verdict === 'ok') continue;
      rows.push([
        cell.label,
        cell.strategy,
        row.metric === 'step' ? `step (ref ${x(cell.referenceRatio ?? NaN)}x)` : `phase ${row.metric}`,
        `${x(row.baseline.median)} (${row.baseline.ms.toFixed(2)}ms)`,
        `${x(row.current.median)} (${row.current.ms.toFixed(2)}ms)`,
        `${x(row.ratio)} [${x(row.low)}-${x(row.high)}]`,
        mark(row.verdict),
      ]);
    }
  }
  if (!c.options.figuresOnly) {
    out.push(pad(rows));
    out.push('(baseline/current: median time / GEMM reference, raw median ms in brackets; ref = current/baseline GEMM time, the machine-speed factor)');
  } else if (rows.length > 1 && rows.slice(1).some((r) => r[6] !== 'ok')) {
    out.push(pad([rows[0], ...rows.slice(1).filter((r) => r[6] !== 'ok')]));
  }
  const figures = c.cells.flatMap((cell) => cell.figures.filter((f) => all || f.verdict !== 'equal').map((f) => [cellName(cell), f.metric, bytes(f.baseline), bytes(f.current), f.ratio === null ? '-' : f.ratio.toFixed(4), mark(f.verdict)]));
  const counted = c.cells.reduce((n, cell) => n + cell.figures.length, 0);
  out.push('');
  if (figures.length) {
    out.push(`deterministic figures that differ (${figures.length} of ${counted}):`);
    out.push(pad([['cell', 'figure', 'baseline', 'current', 'ratio', 'verdict'], ...figures]));
  } else {
    out.push(`deterministic figures: all ${counted} equal (memory per category at the peak, FLOPs, bytes, collectives)`);
  }
  for (const note of c.notes) out.push(`note: ${note}`);
  out.push('');
  if (c.verdict === 'inconclusive') {
    const cells = c.cells.filter((x) => x.verdict === 'inconclusive');
    out.push(`INCONCLUSIVE: ${cells.length} cell(s) look slower but the evidence cannot carry a verdict (see the notes); no regression shown`);
  } else if (c.ok) {
    out.push(`OK: no regression in ${c.cells.filter((x) => x.verdict === 'ok').length} compared cell(s)`);
  } else {
    out.push(`REGRESSION: ${c.regressions.length} finding(s)`);
    for (const r of c.regressions) {
      const cell = c.cells.find((x) => x.id === r.cell)!;
      out.push(`  ${cell.label} ${r.strategy}: ${r.metric === 'cell' ? r.verdict : `${r.metric} ${r.verdict}${r.ratio !== null ? ` (${x(r.ratio)}x)` : ''}`}  [${r.cell}]`);
    }
  }
  return out.join('\n');
}
