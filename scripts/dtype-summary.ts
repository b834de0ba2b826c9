/**
 * bf16 against fp32 storage, per configuration of one or more results files, as Markdown: the
 * measured bytes per memory category at the step's peak beside the model's, and the loss. Cells
 * that differ only in --dtype are paired; every figure comes from the files.
 *
 *   node dist/scripts/dtype-summary.js RESULTS.json [...] > SUMMARY.md
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEMORY_CATEGORIES } from '../src/core/binding.js';
import { methodLabel } from '../src/bench/method.js';
import { readResults } from '../src/compare/compare.js';
import type { CellResult, ResultsFile } from '../src/bench/results.js';

const MiB = 2 ** 20;

/** The configuration a cell measures, less its storage type. */
function configKey(cell: CellResult): string {
  const { dtype: _dtype, ...rest } = cell.spec as CellResult['spec'] & { dtype: string };
  return JSON.stringify(rest);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : (bytes / MiB).toFixed(2);
}

/** One table per configuration with an fp32 and a bf16 cell that both completed. */
export function dtypeSummary(results: ResultsFile, name: string): string {
  const groups = new Map<string, Partial<Record<string, CellResult>>>();
  for (const cell of results.cells) {
    if (cell.status !== 'completed') continue;
    const key = configKey(cell);
    groups.set(key, { ...groups.get(key), [cell.spec.dtype]: cell });
  }
  const out: string[] = [`## ${name}: ${results.scenario.name}`, ''];
  for (const { fp32, bf16 } of groups.values()) {
    if (!fp32 || !bf16) continue;
    const s = fp32.spec;
    out.push(`### ${methodLabel(s, true)}, ${s.classes} classes, batch ${s.batch}, D ${s.dim}, ${s.mode} on ${fp32.backend} (${fp32.device})`, '');
    out.push('| category | fp32 measured MiB | fp32 model MiB | bf16 measured MiB | bf16 model MiB | bf16 / fp32 |', '|---|---|---|---|---|---|');
    type Category = (typeof MEMORY_CATEGORIES)[number];
    const sum = (bytes: Partial<Record<Category, number>> | undefined, k: string) =>
      k === 'total' ? MEMORY_CATEGORIES.reduce((t, m) => t + (bytes?.[m] ?? 0), 0) : bytes?.[k as Category];
    const at = (c: CellResult, k: string) => sum(c.memory?.atPeak, k) ?? 0;
    const model = (c: CellResult, k: string) => sum(c.memory?.modelBytes, k);
    for (const k of [...MEMORY_CATEGORIES, 'total']) {
      const ratio = at(fp32, k) > 0 ? (at(bf16, k) / at(fp32, k)).toFixed(3) : '-';
      out.push(`| ${k} | ${mib(at(fp32, k))} | ${mib(model(fp32, k))} | ${mib(at(bf16, k))} | ${mib(model(bf16, k))} | ${ratio} |`);
    }
    const exact = (c: CellResult) => MEMORY_CATEGORIES.every((m) => c.memory?.atPeak[m] === c.memory?.modelBytes?.[m]);
    out.push('', `Measured = model in every category: fp32 ${exact(fp32) ? 'yes' : 'no'}, bf16 ${exact(bf16) ? 'yes' : 'no'} (bytes at the peak of the total).`);
    if (fp32.loss !== undefined && bf16.loss !== undefined) {
      const d = bf16.loss - fp32.loss;
      out.push(`Loss (mean of the measured steps): fp32 ${fp32.loss.toFixed(6)}, bf16 ${bf16.loss.toFixed(6)}; bf16 - fp32 = ${d.toExponential(2)} (${(d / fp32.loss).toExponential(2)} relative).`);
    }
    const step = (c: CellResult) => c.timing?.stepMs.median;
    out.push(`Step (median): fp32 ${step(fp32)?.toFixed(1) ?? '-'} ms, bf16 ${step(bf16)?.toFixed(1) ?? '-'} ms.`, '');
  }
  return out.join('\n');
}

function main(paths: string[]): void {
  if (paths.length === 0) throw new Error('usage: dtype-summary.js RESULTS.json [...]');
  process.stdout.write(`${paths.map((p) => dtypeSummary(readResults(p), basename(p))).join('\n')}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
