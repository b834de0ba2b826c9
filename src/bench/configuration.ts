/**
 * The configuration that defines a cell: the fields that decide what it measures (problem
 * size, method, precision, margin, mode, the rank measured, and, for an emulated rank or a
 * prediction, the interconnect its communication is modeled on; for a prediction also the GPU
 * target, backbone and reserve its figures are predicted for). Two cells with equal
 * configurations measure the same thing, whatever their labels, budgets or measurement
 * settings; compare matches cells by it, and a report with several files puts such cells side
 * by side. An old interconnect name reads as its new one, so files from before the rename
 * still match.
 */
import type { CellSpec } from './results.js';
import { INTERCONNECTS, canonicalInterconnect } from '../model/comm.js';
import { caseName } from './case-name.js';
import { methodLabel } from './method.js';

/** The defining fields, in the order differences are named. */
export const DEFINING_FIELDS = ['strategy', 'classes', 'ranks', 'batch', 'dim', 'sampleRate', 'update', 'logits', 'tile', 'dtype', 'margin', 'mode', 'rank', 'interconnect', 'gpusPerNode', 'target', 'backbone', 'reserve'] as const;
export type DefiningField = (typeof DEFINING_FIELDS)[number];

/**
 * Settings of how a cell was measured, not of what: they may differ between two cells with the
 * same configuration (compare says so), and a budget (--gpu-memory) only decides whether a
 * cell fits, not what it measures when it does.
 */
export const MEASUREMENT_SETTINGS = ['steps', 'warmup', 'trials', 'threads', 'backend', 'memoryBudget', 'seed'] as const;

/** Each defining field as text; '-' where it does not apply (no interconnect outside emulation and prediction, no target outside prediction). */
export function configurationOf(spec: CellSpec): Record<DefiningField, string> {
  const logits = spec.logits ?? 'materialized';
  const predicted = spec.mode === 'predict';
  // An emulated rank and a prediction both model their communication on a profile.
  const modeled = spec.mode === 'emulate' || predicted;
  const profile = INTERCONNECTS[canonicalInterconnect(spec.interconnect)];
  const m = spec.margin;
  return {
    strategy: spec.strategy,
    classes: String(spec.classes),
    ranks: String(spec.ranks),
    batch: String(spec.batch),
    dim: String(spec.dim),
    sampleRate: String(spec.sampleRate),
    update: spec.update,
    logits,
    tile: logits === 'fused' ? String(spec.tile ?? 0) : '-',
    dtype: spec.dtype ?? 'fp32',
    margin: m ? `${m.s},${m.m1},${m.m2},${m.m3}` : '-',
    mode: spec.mode,
    rank: String(spec.rank),
    interconnect: modeled ? canonicalInterconnect(spec.interconnect) : '-',
    // 0 is the profile's own count: the same configuration as that count given explicitly.
    gpusPerNode: modeled ? String(spec.gpusPerNode || profile?.gpusPerNode || 0) : '-',
    target: predicted ? (spec.target ?? '-') : '-',
    backbone: predicted ? (spec.backbone ?? 'none') : '-',
    reserve: predicted ? String(spec.reserveBytes ?? 0) : '-',
  };
}

/** One string per configuration: equal keys, the same measurement. */
export function configurationKey(spec: CellSpec): string {
  const c = configurationOf(spec);
  return DEFINING_FIELDS.map((k) => `${k}=${c[k]}`).join('|');
}

/** What differs between two configurations, in words: "interconnect pcie3-8gpu-1xedr vs nvswitch3-8gpu-8xhdr". */
export function configurationDifferences(a: CellSpec, b: CellSpec): string[] {
  const ca = configurationOf(a);
  const cb = configurationOf(b);
  return DEFINING_FIELDS.filter((k) => ca[k] !== cb[k]).map((k) => `${k} ${ca[k]} vs ${cb[k]}`);
}

/** The cell of `among` whose configuration is nearest to `spec` (fewest differing fields), with the differences. */
export function nearestConfiguration(spec: CellSpec, among: readonly CellSpec[]): { spec: CellSpec; differences: string[] } | undefined {
  let best: { spec: CellSpec; differences: string[] } | undefined;
  for (const other of among) {
    const differences = configurationDifferences(spec, other);
    if (!best || differences.length < best.differences.length) best = { spec: other, differences };
  }
  return best;
}

/** "20k@8 model-parallel": how a configuration is named to a reader. */
export function configurationName(spec: CellSpec): string {
  return `${caseName(spec)} ${methodLabel(spec, true)}`;
}
