/**
 * Where a step's time goes, per cell of one or more results files, as a Markdown table: each
 * phase (median over the cell's trials) as a share of its GEMM phase, and the step against the
 * GEMM reference timed after each trial in the same process ("x GEMMs", as the run's table: the
 * modeled communication of an emulated rank left out), and with that communication in. Every figure comes from the files; the CPU signature heads each one.
 *
 *   node dist/scripts/phase-shares.js RESULTS.json [...] > SUMMARY.md
 */
import { basename } from 'node:path';
import { PHASES } from '../src/core/backend.js';
import { formatCpuSignature } from '../src/bench/signature.js';
import { quantile } from '../src/bench/stats.js';
import { methodLabel } from '../src/bench/method.js';
import { readResults } from '../src/compare/compare.js';
import type { CellResult } from '../src/bench/results.js';

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

function row(cell: CellResult): string {
  const trials = cell.timing?.trials ?? [];
  if (cell.status !== 'completed' || trials.length === 0) return `| ${cell.spec.label || cell.spec.classes} | ${methodLabel(cell.spec, true)} | ${cell.status} |`;
  const phase = (p: string) => median(trials.map((t) => (t.phasesMs as Record<string, number>)[p] ?? 0));
  const gemm = phase('gemm');
  const shares = PHASES.filter((p) => p !== 'gemm').map((p) => (phase(p) / gemm).toFixed(3));
  const x = median(trials.map((t) => t.stepMs / t.gemmMs));
  const compute = median(trials.map((t) => (t.stepMs - (t.phasesMs.communication ?? 0)) / t.gemmMs));
  return `| ${cell.spec.label || cell.spec.classes} | ${methodLabel(cell.spec, true)} | ${median(trials.map((t) => t.stepMs)).toFixed(2)} | ${gemm.toFixed(2)} | ${shares.join(' | ')} | ${compute.toFixed(3)} | ${x.toFixed(3)} |`;
}

function main(paths: string[]): void {
  if (paths.length === 0) throw new Error('usage: phase-shares.js RESULTS.json [...]');
  const others = PHASES.filter((p) => p !== 'gemm');
  const out: string[] = [];
  for (const path of paths) {
    const results = readResults(path);
    const sig = results.context.cpuSignature;
    out.push(`## ${basename(path)}: ${results.scenario.name}`, '');
    out.push(`CPU: ${sig ? formatCpuSignature(sig) : results.context.cpu}; threads ${String(results.cells[0]?.spec.threads ?? '?')}; pfc-bench ${results.context.tool.gitRevision}.`, '');
    out.push(`| Setting | Method | Step ms | GEMM ms | ${others.map((p) => `${p} / GEMM`).join(' | ')} | x GEMMs | x GEMMs with modeled comm. |`);
    out.push(`|---|---|---|---|${others.map(() => '---|').join('')}---|---|`);
    for (const cell of results.cells) out.push(row(cell));
    out.push('');
  }
  out.push('Medians over each cell\'s trials. A phase / GEMM is that phase\'s time over the step\'s own GEMM phase; x GEMMs is the step, less the modeled communication of an emulated rank, over the three-GEMM reference timed after the same trial (the fused step\'s floor has a fourth GEMM), as in the run\'s table; the last column keeps the modeled communication in.');
  process.stdout.write(`${out.join('\n')}\n`);
}

main(process.argv.slice(2));
