/**
 * What every report format derives from results files: names of methods, settings and cells,
 * the seed-style settings, identity sweeps, capacity figures, and number formatting. Reports
 * read results files only, so this is also how old runs are re-rendered.
 */
import { methodOrder, methodTitle } from '../bench/method.js';
import { findStrategy } from '../strategies/registry.js';
import { baselineOf } from '../strategies/descriptor.js';
import { basename } from 'node:path';
import { MEMORY_CATEGORIES } from '../core/binding.js';
import { PHASES } from '../core/backend.js';
import { SIMULATED_NOTE, simulatedCell, type CellResult, type CellSpec, type ResultsFile } from '../bench/results.js';
import { caseName, countName } from '../bench/case-name.js';
import { INTERCONNECTS, canonicalInterconnect } from '../model/comm.js';
import { DEFINING_FIELDS, configurationOf } from '../bench/configuration.js';
import { CELL_FIELDS, bytesInBothUnits } from '../bench/fields.js';

export { caseName, countName };

export const MB = 1e6;
export { MEMORY_CATEGORIES, PHASES };

/** One results file as a report sees it. */
export interface LoadedResults {
  path: string;
  /** Short name of the run, used to tell runs apart when a report covers several. */
  run: string;
  file: ResultsFile;
}

/** A cell with the run it came from. */
export interface ReportCell {
  cell: CellResult;
  run: string;
  /** Index of the run among the report's files. */
  runIndex: number;
}

export function runName(path: string, file: ResultsFile): string {
  const base = basename(path).replace(/\.json$/, '');
  return base || file.scenario.name;
}

/**
 * The report's title: the scenario of one file; with several, every run by name (a file's stem)
 * with its scenario where that says more ("A (custom), B (custom)" would hide which is which).
 */
export function reportTitle(files: readonly LoadedResults[]): string {
  if (files.length === 1) return `pfc-bench report: ${files[0].file.scenario.name}`;
  return `pfc-bench report: ${files.map((f) => f.run).join(' vs ')}`;
}

/**
 * The file stem of a report over these files: the one file's, or every file's joined by '+';
 * past 120 characters (a file name has 255 at most), the first's and how many more.
 */
export function reportStem(files: readonly LoadedResults[]): string {
  const all = files.map((f) => f.run).join('+');
  return all.length <= 120 ? all : `${files[0].run}+${files.length - 1}-more`;
}

/** Run names made unique (two files called results.json in two folders are results and results#2). */
export function uniqueRunNames(files: LoadedResults[]): LoadedResults[] {
  const names = uniqueNames(files.map((f) => f.run));
  return files.map((f, i) => ({ ...f, run: names[i].replace(' #', '#') }));
}

/**
 * Several files side by side: one row per configuration, one column group per file. A defining
 * field that is constant within each file but differs between them (an interconnect, a dtype:
 * what the runs were made to compare) is a property of the run, not of a row: it is left out of
 * the rows' key and named per run, so those cells share a row.
 */
export interface SideBySide {
  runs: string[];
  /** Fields that tell the runs apart, with each run's value. */
  runLevel: { field: string; values: string[] }[];
  rows: { spec: CellSpec; cells: (CellResult | undefined)[] }[];
}

export function sideBySide(files: readonly LoadedResults[]): SideBySide {
  const configs = files.map((f) => f.file.cells.map((c) => configurationOf(c.spec)));
  const runLevel: SideBySide['runLevel'] = [];
  for (const field of DEFINING_FIELDS) {
    const perRun = configs.map((list) => [...new Set(list.map((c) => c[field]))]);
    if (perRun.every((v) => v.length === 1) && new Set(perRun.map((v) => v[0])).size > 1) runLevel.push({ field, values: perRun.map((v) => v[0]) });
  }
  const rowFields = DEFINING_FIELDS.filter((f) => !runLevel.some((r) => r.field === f));
  const rows = new Map<string, SideBySide['rows'][number]>();
  files.forEach((f, run) => {
    f.file.cells.forEach((cell, i) => {
      const key = rowFields.map((k) => configs[run][i][k]).join('|');
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { spec: cell.spec, cells: files.map(() => undefined) }));
      // A cell repeated in one file (recorded runs): the first completed one stands for it.
      const held = row.cells[run];
      if (!held || (!completed(held) && completed(cell))) row.cells[run] = cell;
    });
  });
  return { runs: files.map((f) => f.run), runLevel, rows: [...rows.values()] };
}

export function reportCells(files: readonly LoadedResults[]): ReportCell[] {
  return files.flatMap((f, runIndex) => f.file.cells.map((cell) => ({ cell, run: f.run, runIndex })));
}

/** "Partial FC 0.1 (sparse)", from the strategy's descriptor. */
export function methodName(spec: Pick<CellSpec, 'strategy' | 'sampleRate' | 'update'> & Partial<CellSpec>): string {
  return methodTitle(spec);
}

/** Sort key: the registry's order (data parallel, model parallel, Partial FC by descending rate). */
export { methodOrder };

/** 1000000 -> "1M", 125000 -> "125k", 1400000 -> "1.4M". */
export function countLabel(n: number): string {
  const units: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, suffix] of units) {
    if (Math.abs(n) >= scale) return `${Number((n / scale).toPrecision(3))}${suffix}`;
  }
  return String(n);
}

/** The case's one name (bench/case-name.ts): its label, or "5M@8". */
export function settingName(cell: CellResult): string {
  return caseName(cell.spec);
}

/** A name unique enough to label a bar: setting, method, shape. */
export function cellName(rc: ReportCell, multipleRuns: boolean): string {
  const s = rc.cell.spec;
  const shape = `${countName(s.classes)}@${s.ranks}, batch ${s.batch}`;
  // A label that only restates the shape ("20k@8") is dropped rather than printed twice.
  const parts = [s.label && !shape.startsWith(s.label) ? s.label : '', methodName(s), shape].filter(Boolean);
  return (multipleRuns ? `${rc.run}: ` : '') + parts.join(' · ');
}

/** Gives repeated names a #2, #3 suffix so every bar has its own row. */
export function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} #${k}`;
  });
}

/** The interconnect profile a cell was modeled with: its name (an old name as the profile's name now), and the file it came from (calibrated). */
function profileLabel(cell: CellResult): string {
  const p = cell.communication?.interconnect;
  return p?.file ? `${p.name}, profile ${basename(p.file.path)}` : canonicalInterconnect(cell.spec.interconnect);
}

/** An interconnect profile the report's emulated or predicted cells were modeled with, and what it models. */
export interface ProfileUsed {
  name: string;
  description: string;
  gpusPerNode: number;
}

/**
 * The profiles of the emulated and predicted cells, once each, with what each models: a built-in one (an old
 * name read as its new one) from this build's table, whose figures it always had; a calibrated
 * file from the profile the cell recorded.
 */
export function profilesUsed(cells: readonly CellResult[]): ProfileUsed[] {
  const out = new Map<string, ProfileUsed>();
  for (const cell of cells) {
    // Emulated ranks and predictions model their communication on a profile; a capacity answer models none.
    if ((cell.spec.mode !== 'emulate' && cell.spec.mode !== 'predict') || cell.capacity || cell.id.startsWith('capacity|')) continue;
    const recorded = cell.communication?.interconnect;
    const builtin = INTERCONNECTS[canonicalInterconnect(cell.spec.interconnect)];
    const name = recorded?.file ? profileLabel(cell) : (builtin?.name ?? cell.spec.interconnect);
    const description = recorded?.file ? (recorded.description || 'a calibrated profile') : (builtin?.description ?? recorded?.description ?? 'unknown to this build');
    const gpusPerNode = recorded?.gpusPerNode ?? (cell.spec.gpusPerNode || builtin?.gpusPerNode || 8);
    out.set(`${name}\u0000${gpusPerNode}`, { name, description, gpusPerNode });
  }
  return [...out.values()];
}

/** "pcie3-8gpu-1xedr: PCIe gen3 ... (run with 4 GPUs per node)": what each profile used models, in words. */
export function profileLines(cells: readonly CellResult[]): string[] {
  return profilesUsed(cells).map((p) => {
    const declared = /-(\d+)gpu-/.exec(p.name)?.[1];
    const override = declared !== undefined && Number(declared) !== p.gpusPerNode ? ` (run with --gpus-per-node ${p.gpusPerNode}, not the ${declared} its name says)` : '';
    return `${p.name}: ${p.description}${override}`;
  });
}

/** How a cell's figures were obtained, in words (empty when everything was measured for real). */
/** How a cell's step time was obtained, including which communication time it counts. */
export function provenance(cell: CellResult): string {
  if (simulatedCell(cell)) return SIMULATED_NOTE;
  if (cell.spec.mode === 'predict') return `${predictedLabel(cell)}: no kernel ran; communication modeled (${profileLabel(cell)})`;
  if (cell.spec.mode === 'emulate') return `emulated rank ${cell.spec.rank} of ${cell.spec.ranks}; communication modeled (${profileLabel(cell)})`;
  if (cell.timing?.modeled) return 'communication modeled';
  if (cell.spec.mode === 'real' && cell.spec.ranks > 1) return `${cell.spec.ranks} ranks; communication measured (each collective alone, after a barrier)`;
  return '';
}

/** "predicted on v100-32gb, with r50": what every predicted figure says beside it. */
export function predictedLabel(cell: CellResult): string {
  const target = cell.prediction?.target ?? basename(cell.spec.target ?? '?');
  const backbone = cell.spec.backbone && cell.spec.backbone !== 'none' ? `, with ${cell.spec.backbone}` : '';
  return `predicted on ${target}${backbone}`;
}

/** Number formatting for tables and chart labels: integers for large values, 2-3 digits for small. */
export function fmt(n: number | undefined | null, digits?: number): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  if (digits !== undefined) return n.toFixed(digits);
  const a = Math.abs(n);
  if (a >= 100) return Math.round(n).toString();
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  if (a === 0) return '0';
  return n.toPrecision(2);
}

export function completed(cell: CellResult): boolean {
  return cell.status === 'completed';
}

/**
 * The seed-style settings: labelled groups holding at most one cell per method. Cells with
 * published figures define them when there are any; otherwise every labelled group with one
 * cell per method and at least two methods does.
 */
export interface Setting {
  run: string;
  runIndex: number;
  label: string;
  cells: CellResult[];
}

export function seedSettings(cells: readonly ReportCell[]): Setting[] {
  const groups = new Map<string, Setting>();
  for (const rc of cells) {
    if (!rc.cell.spec.label) continue;
    const key = `${rc.runIndex}\u0000${rc.cell.spec.label}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { run: rc.run, runIndex: rc.runIndex, label: rc.cell.spec.label, cells: [] }));
    g.cells.push(rc.cell);
  }
  const oneEach = (g: Setting): boolean => {
    const methods = g.cells.map((c) => methodName(c.spec));
    return new Set(methods).size === methods.length;
  };
  const all = [...groups.values()].filter(oneEach);
  const published = all.filter((g) => g.cells.some((c) => c.spec.published));
  const chosen = published.length ? published : all.filter((g) => g.cells.length >= 2);
  for (const g of chosen) g.cells.sort((a, b) => methodOrder(a.spec) - methodOrder(b.spec));
  return chosen;
}

export interface Ratio {
  label: string;
  run: string;
  /** The numerator's method name, and the base's (model parallel, or the same method materialized). */
  method: string;
  base: string;
  throughput?: number;
  memory?: number;
  publishedThroughput?: number;
  publishedMemory?: number;
}

const logitsOf = (c: CellResult) => c.spec.logits ?? 'materialized';

/** Each cell over its baseline (--baseline, else its descriptor's `baseline`, model parallel by default)
 * for a setting, measured and published: each cell over the baseline cell with the same logits
 * (else the materialized one); then each fused cell over its materialized twin. */
export function settingRatios(setting: Setting): Ratio[] {
  const out: Ratio[] = [];
  const div = (a?: number, b?: number): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  const push = (cell: CellResult, base: CellResult) => {
    const ok = completed(base) && completed(cell);
    out.push({
      label: setting.label,
      run: setting.run,
      method: methodName(cell.spec),
      base: methodName(base.spec),
      throughput: ok ? div(cell.timing?.imagesPerSecond, base.timing?.imagesPerSecond) : undefined,
      memory: ok ? div(cell.memory?.peakBytes, base.memory?.peakBytes) : undefined,
      publishedThroughput: div(cell.spec.published?.imagesPerSecond, base.spec.published?.imagesPerSecond),
      publishedMemory: div(cell.spec.published?.memoryMB, base.spec.published?.memoryMB),
    });
  };
  for (const cell of setting.cells) {
    // --baseline on the cell, else its descriptor's (model parallel unless it names another).
    const descriptor = findStrategy(cell.spec.strategy);
    const baseline = cell.spec.baseline || (descriptor ? baselineOf(descriptor) : null);
    if (!baseline || baseline === cell.spec.strategy) continue;
    const bases = setting.cells.filter((c) => c.spec.strategy === baseline);
    const base = bases.find((c) => logitsOf(c) === logitsOf(cell)) ?? bases.find((c) => logitsOf(c) === 'materialized');
    if (base) push(cell, base);
  }
  // Each fused cell over its materialized twin: the same method and settings otherwise.
  for (const fused of setting.cells.filter((c) => logitsOf(c) === 'fused')) {
    const twin = setting.cells.find((c) => logitsOf(c) === 'materialized' && c.spec.strategy === fused.spec.strategy && c.spec.update === fused.spec.update && c.spec.sampleRate === fused.spec.sampleRate);
    if (twin) push(fused, twin);
  }
  return out;
}

/**
 * Identity sweeps: completed cells that differ only in the number of classes (label and
 * published figures aside), per method. A sweep has at least two class counts for a method.
 */
export interface Sweep {
  /** What the sweep's cells share, in words (GPUs, batch, ...). */
  key: string;
  description: string;
  run: string;
  series: Map<string, CellResult[]>;
}

/** JSON with keys sorted at every level, so equal specs give equal keys. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sweepKey(spec: CellSpec): string {
  // Method fields (fused logits too: a legend entry beside materialized) are not the sweep's.
  const { classes: _c, label: _l, published: _p, strategy: _s, sampleRate: _r, update: _u, logits: _g, tile: _t, baseline: _b, ...rest } = spec;
  return stableJson(rest);
}

export function identitySweeps(cells: readonly ReportCell[]): Sweep[] {
  const groups = new Map<string, Sweep>();
  for (const rc of cells) {
    if (!completed(rc.cell) || !rc.cell.timing || !rc.cell.memory) continue;
    const s = rc.cell.spec;
    const key = `${rc.runIndex}\u0000${sweepKey(s)}`;
    let g = groups.get(key);
    if (!g) {
      const description = `${s.ranks} GPUs, batch ${s.batch}, D ${s.dim}, ${s.dtype}, ${s.mode}${s.mode === 'emulate' ? ` (${canonicalInterconnect(s.interconnect)})` : ''}`;
      groups.set(key, (g = { key, description, run: rc.run, series: new Map() }));
    }
    const name = methodName(s);
    const list = g.series.get(name) ?? [];
    if (!list.some((c) => c.spec.classes === s.classes)) list.push(rc.cell);
    g.series.set(name, list);
  }
  const sweeps = [...groups.values()].filter((g) => [...g.series.values()].some((list) => list.length >= 2));
  for (const g of sweeps) {
    for (const [name, list] of g.series) {
      if (list.length < 2) g.series.delete(name);
      else list.sort((a, b) => a.spec.classes - b.spec.classes);
    }
  }
  return sweeps;
}

/**
 * Sample-rate sweeps: completed cells that differ only in --sample-rate (label and published
 * figures aside), one series per case and method (the method without its rate). A series has
 * at least two rates.
 */
export interface RateSweep {
  description: string;
  run: string;
  /** Series name -> cells by ascending rate. */
  series: Map<string, CellResult[]>;
}

export function rateSweeps(cells: readonly ReportCell[]): RateSweep[] {
  const groups = new Map<string, RateSweep & { key: string }>();
  for (const rc of cells) {
    if (!completed(rc.cell) || !rc.cell.timing || !rc.cell.memory) continue;
    const s = rc.cell.spec;
    // One sweep per run and everything but the case and the method's rate.
    const { classes: _c, ranks: _n, batch: _b, strategy: _s, update: _u, logits: _g, tile: _t, ...shared } = { ...s, sampleRate: 0, label: '', published: undefined };
    const key = `${rc.runIndex}\u0000${stableJson(shared)}`;
    let g = groups.get(key);
    if (!g) {
      const description = `D ${s.dim}, ${s.dtype}, ${s.mode}${s.mode === 'emulate' ? ` (${canonicalInterconnect(s.interconnect)})` : ''}`;
      groups.set(key, (g = { key, description, run: rc.run, series: new Map() }));
    }
    const name = `${countName(s.classes)}@${s.ranks}, batch ${s.batch} · ${methodName(s).replace(` ${s.sampleRate}`, '')}`;
    const list = g.series.get(name) ?? [];
    if (!list.some((c) => c.spec.sampleRate === s.sampleRate)) list.push(rc.cell);
    g.series.set(name, list);
  }
  const sweeps = [...groups.values()].filter((g) => [...g.series.values()].some((list) => list.length >= 2));
  for (const g of sweeps) {
    for (const [name, list] of g.series) {
      if (list.length < 2) g.series.delete(name);
      else list.sort((a, b) => a.spec.sampleRate - b.spec.sampleRate);
    }
  }
  return sweeps;
}

/** Capacity: the largest identity count that fits a per-GPU budget (a capacity search's cells). */
export interface Capacity {
  maxClasses: number;
  budgetBytes?: number;
  publishedMaxClasses?: number;
}

export function capacityOf(cell: CellResult): Capacity | undefined {
  const answer = cell.capacity;
  if (!answer || !(answer.largestClasses > 0)) return undefined;
  return { maxClasses: answer.largestClasses, budgetBytes: answer.budgetBytes || undefined, publishedMaxClasses: cell.spec.published?.largestClasses };
}

/**
 * What the command line replaced in the scenario, in words ("--gpu-memory 80 GB = 74.51 GiB
 * (...); --batch 512"): a scenario's description names its own values (11 and 32 GiB, 64
 * images per GPU), which the report must not let stand alone when they were overridden.
 */
export function overridesLine(file: ResultsFile): string | undefined {
  const overrides = Object.entries(file.scenario.overrides ?? {}).filter(([k]) => k !== 'recordedRuns');
  if (!overrides.length) return undefined;
  const flag = (key: string) => CELL_FIELDS.find((f) => f.key === key)?.flag ?? key;
  const value = (key: string, v: unknown): string => {
    const one = (x: unknown) => (key === 'gpuMemory' && typeof x === 'number' ? (x > 0 ? bytesInBothUnits(x).replace(/ \(.*\)$/, '') : 'none') : typeof x === 'object' ? JSON.stringify(x) : String(x));
    return Array.isArray(v) ? v.map(one).join(', ') : one(v);
  };
  return `Given on the command line, in place of the scenario's own values (which its description names): ${overrides.map(([k, v]) => `--${flag(k)} ${value(k, v)}`).join('; ')}.`;
}

export function bytesLabel(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return Number.isInteger(Math.round(gib * 100) / 100) ? `${Math.round(gib)} GiB` : `${(bytes / 1e9).toFixed(1)} GB`;
}
