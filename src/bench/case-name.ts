/**
 * The one name of a case (a cell's problem size): its label when the scenario gives one, else
 * identities@GPUs with the count written as --classes accepts it ("5M@8", "1.5M@64",
 * "20k@8"). The run table, progress lines, reports (tables, charts, CSV) and compare all name
 * a case through here, so the same case never reads 5000000 in one place and C5000000@8 in
 * another.
 */
import type { CellSpec } from './results.js';

const UNITS: [number, string][] = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** An identity count exactly, with the largest prefix --classes reads: 5000000 -> "5M", 1234567 -> "1.234567M". */
export function countName(n: number): string {
  for (const [scale, suffix] of UNITS) {
    if (Math.abs(n) >= scale) return `${Number((n / scale).toPrecision(12))}${suffix}`;
  }
  return String(n);
}

/** "5M@8", or the cell's label when it has one. */
export function caseName(spec: Pick<CellSpec, 'classes' | 'ranks'> & { label?: string }): string {
  return spec.label || `${countName(spec.classes)}@${spec.ranks}`;
}
