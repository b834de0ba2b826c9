/**
 * The logit-free step (--logits fused) against materialized cells of results files (node dist/scripts/fused-ratios.js
 * FILE...). Per pair with the same settings: the step ratio of medians, the same ratio with each
 * step measured against its own GEMM floor timed in the same trials (robust to machine load:
 * fused's floor has the recomputed GEMM, so its ratio is scaled by the floors' FLOP ratio), peak
 * memory, and the logits category against the tile scratch the model gives.
 */
import { readFileSync } from 'node:fs';
import { parseResultsFile, type CellResult } from '../src/bench/results.js';
import { strategyOf } from '../src/strategies/registry.js';

function key(c: CellResult): string {
  const { logits: _l, tile: _t, published: _p, ...rest } = c.spec;
  return JSON.stringify(rest);
}

const cells = process.argv.slice(2).flatMap((path) => parseResultsFile(readFileSync(path, 'utf8'), path).cells.filter((c) => c.status === 'completed' && c.timing));
const MB = 1e6;
const rows = [['setting', 'method', 'fused/mat. step', 'fused/mat. vs floors', 'peak MB mat. -> fused', 'logits MB mat. -> fused', 'tile scratch MB (model)']];
for (const fused of cells.filter((c) => c.spec.logits === 'fused')) {
  const mat = cells.find((c) => c.spec.logits !== 'fused' && key(c) === key(fused));
  if (!mat) continue;
  const s = fused.spec;
  const compute = (c: CellResult) => c.timing!.totalMs - c.timing!.modeledCommMs;
  const A = fused.activeCentres ?? 0;
  const floors = (3 + (strategyOf(s.strategy).recomputedColumns?.(s, A, s.rank) ?? 0) / A) / 3;
  const viaFloors = fused.reference && mat.reference ? (fused.reference.stepOverGemm * floors) / mat.reference.stepOverGemm : NaN;
  rows.push([
    s.label || `${s.classes}@${s.ranks}`,
    strategyOf(s.strategy).label(s),
    (compute(fused) / compute(mat)).toFixed(2),
    viaFloors.toFixed(2),
    `${(mat.memory!.peakBytes / MB).toFixed(0)} -> ${(fused.memory!.peakBytes / MB).toFixed(0)}`,
    `${(mat.memory!.atPeak.logits / MB).toFixed(1)} -> ${(fused.memory!.atPeak.logits / MB).toFixed(1)}`,
    (fused.memory!.modelBytes.logits / MB).toFixed(1),
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) process.stdout.write(`${r.map((v, i) => v.padEnd(widths[i])).join('  ')}\n`);
