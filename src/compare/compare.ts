/**
 * Compares two results files cell by cell (matched by scenario and cell id): deterministic
 * figures (memory per category at the peak, FLOPs and bytes per step, collective byte counts)
 * must be equal, or within a stated tolerance for memory; timings are judged as ratios that
 * do not depend on the machine's speed.
 *
 * Timing rule. Each trial's step time and each phase time is divided by the reference
 * workload (the step's three GEMMs) timed right after that trial in the same process, so a
 * machine, or a moment, that is uniformly k times slower cancels out. A file may hold the
 * same cell several times (independent runs, see record.ts); their trials are pooled. A
 * metric is a regression only when
 *   1. threshold:   median(current) / median(baseline) > threshold (default 1.15), and
 *   2. consistency: the slowdown is seen across trials: the current's 25th percentile is above
 *      the baseline's 75th (at least three quarters of the current trials are slower than
 *      three quarters of the baseline's), i.e. the low end of the ratio's interquartile
 *      range, p25(current) / p75(baseline), is above 1;
 * and, for a phase, 3. materiality: the phase adds at least minPhaseEffect of the
 * baseline's step time (default 7.5%: half the step's threshold margin), so that a phase of a
 * few microseconds, or one that escapes the time slicing a busy machine inflicts on the
 * longer reference, cannot fail a check on noise; and 4. the metric is slower in milliseconds
 * too: when the machine got faster but its GEMMs got faster still (memory-bound kernels and
 * GEMMs do not scale alike), the normalized ratio alone would call a faster step a regression.
 *
 * Evidence. A slowdown that meets the rule is 'inconclusive', never 'regressed', when the
 * evidence cannot carry it: fewer than minTrials trials on a side (with one trial the
 * consistency test passes trivially), or a GEMM reference that itself moved by more than
 * referenceBound (a machine under heavy contention: the normalization no longer cancels it).
 * The comparison's verdict is then 'inconclusive' (its own exit code), not a failure.
 *
 * Machines. Normalization cancels a machine's overall speed, not its kind: on another CPU
 * (another vendor or model, other vector units, another OpenBLAS core, another SIMD target
 * for the kernels) memory-bound phases and GEMMs do not scale alike, so the same code can
 * look 5x slower. When the two files' CPU signatures differ (signature.ts), or a side has
 * none (recorded before signatures: its CPU is unknown), a timing slowdown is 'inconclusive',
 * never 'regressed', and a note says what differs; the deterministic figures still compare
 * exactly and can still fail. Two files the regression guard measured interleaved on one
 * machine (the same context.pairedRun.id) are the same machine whatever their signatures say
 * (the change itself may move the SIMD target). Files that both lack a signature fall back
 * to the CPU model name and the BLAS config string.
 */
import { PHASES } from '../core/backend.js';
import { readResultsFile, type CellResult, type ResultsFile } from '../bench/results.js';
import type { StrategyModuleRecord } from '../strategies/modules.js';
import { quantile } from '../bench/stats.js';
import { methodLabel } from '../bench/method.js';
import { caseName } from '../bench/case-name.js';
import { MEASUREMENT_SETTINGS, configurationDifferences, configurationKey, configurationName, nearestConfiguration } from '../bench/configuration.js';
import { bytesInBothUnits } from '../bench/fields.js';
import { formatCpuSignature, signatureDifferences } from '../bench/signature.js';

export interface CompareOptions {
  /** Normalized-time ratio above which a consistent slowdown is a regression. */
  threshold: number;
  /** Relative tolerance for memory bytes (0 = exact). */
  memoryTolerance: number;
  /** A phase must add at least this share of the baseline step to be judged a regression. */
  minPhaseEffect: number;
  /** Fewer trials than this on either side: a slowdown is inconclusive. */
  minTrials: number;
  /** The GEMM reference moved by more than this factor (either way): a slowdown is inconclusive. */
  referenceBound: number;
  /** Compare the deterministic figures only (memory, FLOPs, bytes, collectives); timings are not judged. */
  figuresOnly?: boolean;
}

export const DEFAULT_COMPARE_OPTIONS: CompareOptions = { threshold: 1.15, memoryTolerance: 0, minPhaseEffect: 0.075, minTrials: 3, referenceBound: 3, figuresOnly: false };

export type TimingVerdict = 'ok' | 'faster' | 'regressed' | 'inconclusive' | 'slower (inconsistent)' | 'slower (immaterial)' | 'slower (normalized only)';
export type FigureVerdict = 'equal' | 'within tolerance' | 'smaller' | 'larger' | 'changed';
export type CellVerdict = 'ok' | 'regressed' | 'inconclusive' | 'missing' | 'not completed' | 'incomparable' | 'new' | 'not run in baseline';
/** ok (exit 0), regressed (exit 1), inconclusive (exit 3: a slowdown the evidence cannot carry). */
export type ComparisonVerdict = 'ok' | 'regressed' | 'inconclusive';

/** Normalized samples of one metric: time / reference, one per trial, with raw medians. */
export interface MetricSide {
  /** Normalized times (time / GEMM reference), one per trial over all runs of the cell. */
  normalized: number[];
  median: number;
  p25: number;
  p75: number;
  /** Median raw time in ms, for the reader. */
  ms: number;
}

export interface TimingRow {
  metric: string; // 'step' or a phase name
  baseline: MetricSide;
  current: MetricSide;
  /** median(current) / median(baseline) of the normalized times. */
  ratio: number;
  /** Interquartile range of the ratio: p25(current)/p75(baseline) .. p75(current)/p25(baseline). */
  low: number;
  high: number;
  /** Phase time added, as a share of the baseline step (normalized). */
  effect: number;
  verdict: TimingVerdict;
}

export interface FigureRow {
  metric: string; // e.g. 'memory.atPeak.logits', 'work.flopsPerStep', 'collective allGather features'
  baseline: number | null;
  current: number | null;
  ratio: number | null;
  verdict: FigureVerdict;
  failed: boolean;
}

export interface CellComparison {
  id: string;
  label: string;
  strategy: string;
  verdict: CellVerdict;
  failed: boolean;
  detail?: string;
  /** Runs (repeated cells) and trials pooled on each side. */
  runs?: { baseline: number; current: number };
  trials?: { baseline: number; current: number };
  /** Raw GEMM reference, current / baseline: the machine's speed factor (normalized away). */
  referenceRatio?: number;
  /** True when a side lacks per-trial data: each run's cell-level medians stand in. */
  coarse?: boolean;
  /** Why a slowdown of this cell is inconclusive. */
  inconclusive?: string;
  timing: TimingRow[];
  figures: FigureRow[];
}

export interface Regression {
  cell: string;
  strategy: string;
  metric: string;
  ratio: number | null;
  verdict: string;
}

export interface Comparison {
  /** No regression (an inconclusive comparison is ok: nothing was shown to regress). */
  ok: boolean;
  verdict: ComparisonVerdict;
  options: CompareOptions;
  baseline: SideInfo;
  current: SideInfo;
  /** Whether the two files were timed on the same kind of machine, and if not, why not. */
  machine: MachineCheck;
  notes: string[];
  cells: CellComparison[];
  regressions: Regression[];
  /** Configurations found on both sides: none means nothing was compared (bad input, exit 2). */
  common: number;
}

export interface SideInfo {
  path: string;
  scenario: string;
  createdAt: string;
  gitRevision: string;
  /** Each strategy module the run loaded, as its revision: "package@version sha256:abcdef123456 (strategies)". */
  strategyModules: string[];
  cpu: string;
  /** The CPU signature in one line, or 'none recorded'. */
  signature: string;
  cells: number;
}

export interface MachineCheck {
  /** Timings of the two sides can judge a change (same CPU signature, or one guard run). */
  comparable: boolean;
  /** How that was decided: 'signature', 'paired' (one guard run), 'model' (no signatures: CPU model and BLAS), 'unknown' (one side has no signature). */
  basis: 'signature' | 'paired' | 'model' | 'unknown';
  /** What differs (empty when nothing does). */
  differences: string[];
  /** Why timing slowdowns are inconclusive, when not comparable. */
  reason?: string;
}

const GUARD_HINT = 'run `npm run guard` to measure both revisions on this machine';

/** Can the two files' timings judge a change? (see "Machines" at the top of this file) */
export function machineCheck(baseline: ResultsFile, current: ResultsFile): MachineCheck {
  const b = baseline.context;
  const c = current.context;
  const bs = b?.cpuSignature;
  const cs = c?.cpuSignature;
  const differences = bs && cs ? signatureDifferences(bs, cs) : [];
  if (b?.pairedRun && c?.pairedRun && b.pairedRun.id === c.pairedRun.id) {
    return { comparable: true, basis: 'paired', differences };
  }
  if (bs && cs) {
    if (differences.length === 0) return { comparable: true, basis: 'signature', differences };
    return { comparable: false, basis: 'signature', differences, reason: `CPU signature differs (${differences.join('; ')}): timings recorded on different CPUs cannot judge a change; ${GUARD_HINT}` };
  }
  if (bs || cs) {
    const missing = bs ? 'current' : 'baseline';
    return {
      comparable: false,
      basis: 'unknown',
      differences: [`${missing} has no CPU signature`],
      reason: `the ${missing} file records no CPU signature (recorded before signatures), so its CPU is unknown: its timings cannot judge a change; ${GUARD_HINT}`,
    };
  }
  const model = (r: ResultsFile) => r.context?.cpu ?? '?';
  const blas = (r: ResultsFile) => String(r.context?.backend?.blas ?? '?');
  if (model(baseline) !== model(current)) differences.push(`cpu ${model(baseline)} vs ${model(current)}`);
  if (blas(baseline) !== blas(current)) differences.push(`blas ${blas(baseline)} vs ${blas(current)}`);
  if (differences.length === 0) return { comparable: true, basis: 'model', differences };
  return { comparable: false, basis: 'model', differences, reason: `CPU differs (${differences.join('; ')}; neither file records a CPU signature): timings recorded on different CPUs cannot judge a change; ${GUARD_HINT}` };
}

/** Reads and checks a results file (bench/results.ts readResultsFile). */
export function readResults(path: string): ResultsFile {
  return readResultsFile(path);
}

/** What a cell says about its strategy, for a reader: "partial-fc 0.1 sparse". */
export function strategyName(cell: CellResult): string {
  return methodLabel(cell.spec, true);
}

function cellLabel(cell: CellResult): string {
  return caseName(cell.spec);
}

interface Trial {
  step: number;
  phases: Record<string, number>;
  gemm: number;
}

/** Per-trial times of a cell, each with its reference; cell-level medians when not recorded. */
function trialsOf(cell: CellResult): { trials: Trial[]; coarse: boolean } {
  const timing = cell.timing!;
  const cellGemm = cell.reference?.gemmMs.median ?? NaN;
  if (timing.trials?.length) {
    return {
      coarse: false,
      trials: timing.trials.map((t) => ({ step: t.stepMs, phases: { ...t.phasesMs }, gemm: Number.isFinite(t.gemmMs) && t.gemmMs > 0 ? t.gemmMs : cellGemm })),
    };
  }
  return { coarse: true, trials: [{ step: timing.stepMs.median, phases: { ...timing.phasesMs }, gemm: cellGemm }] };
}

function side(values: number[], raw: number[]): MetricSide {
  const sorted = [...values].sort((a, b) => a - b);
  return { normalized: values, median: quantile(sorted, 0.5), p25: quantile(sorted, 0.25), p75: quantile(sorted, 0.75), ms: quantile([...raw].sort((a, b) => a - b), 0.5) };
}

/** The decision rule for one metric (see the top of this file). */
export function judge(baseline: MetricSide, current: MetricSide, options: CompareOptions, effect = Infinity): Omit<TimingRow, 'metric' | 'baseline' | 'current' | 'effect'> {
  const ratio = current.median / baseline.median;
  const low = current.p25 / baseline.p75;
  const high = current.p75 / baseline.p25;
  let verdict: TimingVerdict = 'ok';
  if (ratio > options.threshold) {
    if (!(low > 1)) verdict = 'slower (inconsistent)';
    else if (effect < options.minPhaseEffect) verdict = 'slower (immaterial)';
    else if (!(current.ms > baseline.ms)) verdict = 'slower (normalized only)';
    else verdict = 'regressed';
  } else if (ratio < 1 / options.threshold && high < 1) {
    verdict = 'faster';
  }
  return { ratio, low, high, verdict };
}

function compareTiming(base: CellResult[], cur: CellResult[], options: CompareOptions): { rows: TimingRow[]; coarse: boolean; trials: { baseline: number; current: number } } {
  const b = base.map(trialsOf);
  const c = cur.map(trialsOf);
  const bt = b.flatMap((x) => x.trials).filter((t) => Number.isFinite(t.gemm) && t.gemm > 0);
  const ct = c.flatMap((x) => x.trials).filter((t) => Number.isFinite(t.gemm) && t.gemm > 0);
  const rows: TimingRow[] = [];
  if (bt.length === 0 || ct.length === 0) return { rows, coarse: true, trials: { baseline: bt.length, current: ct.length } };
  const baseStep = side(bt.map((t) => t.step / t.gemm), bt.map((t) => t.step));
  for (const metric of ['step', ...PHASES]) {
    const pick = (t: Trial) => (metric === 'step' ? t.step : (t.phases[metric] ?? 0));
    const bs = side(bt.map((t) => pick(t) / t.gemm), bt.map(pick));
    const cs = side(ct.map((t) => pick(t) / t.gemm), ct.map(pick));
    if (metric !== 'step' && bs.median <= 0 && cs.median <= 0) continue; // a phase this strategy does not have
    const effect = metric === 'step' ? Infinity : (cs.median - bs.median) / baseStep.median;
    if (bs.median <= 0) {
      rows.push({ metric, baseline: bs, current: cs, ratio: Infinity, low: Infinity, high: Infinity, effect, verdict: effect >= options.minPhaseEffect ? 'regressed' : 'slower (immaterial)' });
      continue;
    }
    rows.push({ metric, baseline: bs, current: cs, effect: metric === 'step' ? (cs.median - bs.median) / bs.median : effect, ...judge(bs, cs, options, effect) });
  }
  return { rows, coarse: b.some((x) => x.coarse) || c.some((x) => x.coarse), trials: { baseline: bt.length, current: ct.length } };
}

function figure(metric: string, baseline: number | null | undefined, current: number | null | undefined, tolerance = 0, smallerIsFine = false): FigureRow {
  const b = baseline ?? null;
  const cu = current ?? null;
  const ratio = b !== null && cu !== null && b !== 0 ? cu / b : null;
  let verdict: FigureVerdict;
  if (b === cu) verdict = 'equal';
  else if (b === null || cu === null) verdict = 'changed';
  else if (Math.abs(cu - b) <= tolerance * Math.abs(b)) verdict = 'within tolerance';
  else verdict = cu < b ? 'smaller' : 'larger';
  const failed = verdict === 'changed' || verdict === 'larger' || (verdict === 'smaller' && !smallerIsFine);
  return { metric, baseline: b, current: cu, ratio, verdict, failed };
}

function compareFigures(b: CellResult, c: CellResult, options: CompareOptions): FigureRow[] {
  const rows: FigureRow[] = [];
  const mem = (r: CellResult) => r.memory;
  const categories = new Set([...Object.keys(mem(b)?.atPeak ?? {}), ...Object.keys(mem(c)?.atPeak ?? {})]);
  const tol = options.memoryTolerance;
  rows.push(figure('memory.peakBytes', mem(b)?.peakBytes, mem(c)?.peakBytes, tol, true));
  for (const k of categories) {
    rows.push(figure(`memory.atPeak.${k}`, (mem(b)?.atPeak as Record<string, number> | undefined)?.[k], (mem(c)?.atPeak as Record<string, number> | undefined)?.[k], tol, true));
  }
  const modelCategories = new Set([...Object.keys(mem(b)?.modelBytes ?? {}), ...Object.keys(mem(c)?.modelBytes ?? {})]);
  for (const k of modelCategories) {
    rows.push(figure(`memory.model.${k}`, (mem(b)?.modelBytes as Record<string, number> | undefined)?.[k], (mem(c)?.modelBytes as Record<string, number> | undefined)?.[k], tol, true));
  }
  rows.push(figure('work.flopsPerStep', b.work?.flopsPerStep, c.work?.flopsPerStep));
  rows.push(figure('work.bytesPerStep', b.work?.bytesPerStep, c.work?.bytesPerStep));
  rows.push(figure('activeCentres', b.activeCentres, c.activeCentres));
  const key = (r: { kind: string; label?: string; op?: string }) => [r.kind, r.op, r.label].filter(Boolean).join(' ');
  const bc = b.communication?.collectives ?? [];
  const cc = c.communication?.collectives ?? [];
  rows.push(figure('collectives.count', bc.length, cc.length));
  for (let i = 0; i < Math.max(bc.length, cc.length); i++) {
    const name = `collective ${key((bc[i] ?? cc[i]) as { kind: string; label?: string; op?: string })}`;
    if (bc[i] && cc[i] && key(bc[i] as never) !== key(cc[i] as never)) {
      rows.push({ metric: `collective #${i + 1}`, baseline: null, current: null, ratio: null, verdict: 'changed', failed: true });
      continue;
    }
    rows.push(figure(`${name} bytes`, bc[i]?.bytes, cc[i]?.bytes));
    rows.push(figure(`${name} ranks`, bc[i]?.ranks, cc[i]?.ranks));
  }
  return rows;
}

/** Cells grouped by the configuration that defines them (repeated runs of a cell pool their trials). */
function group(cells: CellResult[]): Map<string, CellResult[]> {
  const map = new Map<string, CellResult[]>();
  for (const cell of cells) {
    const key = configurationKey(cell.spec);
    const list = map.get(key) ?? [];
    list.push(cell);
    map.set(key, list);
  }
  return map;
}

function moduleRevision(m: StrategyModuleRecord): string {
  return `${m.package || m.path}${m.version ? `@${m.version}` : ''} sha256:${m.sha256.slice(0, 12)} (${m.strategies.join(', ')})`;
}

/**
 * A strategy module is code the comparison runs, as the repository is: one that changed between
 * the sides (another SHA-256) is a change of revision, said in a note as the revisions are shown;
 * the cells of its strategies are compared as across a change of revision.
 */
function moduleNotes(baseline: ResultsFile, current: ResultsFile): string[] {
  const notes: string[] = [];
  const byStrategy = (r: ResultsFile) => new Map((r.strategyModules ?? []).flatMap((m) => m.strategies.map((s) => [s, m] as const)));
  const b = byStrategy(baseline);
  const c = byStrategy(current);
  const seen = new Set<string>();
  for (const [strategy, cm] of c) {
    const bm = b.get(strategy);
    if (!bm || seen.has(cm.sha256)) continue;
    seen.add(cm.sha256);
    if (bm.sha256 !== cm.sha256) {
      notes.push(`strategy module of ${cm.strategies.join(', ')} changed: ${moduleRevision(bm)} -> ${moduleRevision(cm)}; its cells compare two revisions of its code`);
    }
  }
  for (const [strategy, cm] of c) if (!b.has(strategy) && baseline.cells.some((cell) => cell.spec?.strategy === strategy)) notes.push(`strategy ${strategy} comes from a module in the current run only (${moduleRevision(cm)})`);
  for (const [strategy, bm] of b) if (!c.has(strategy) && current.cells.some((cell) => cell.spec?.strategy === strategy)) notes.push(`strategy ${strategy} comes from a module in the baseline only (${moduleRevision(bm)})`);
  return notes;
}

function settingText(key: (typeof MEASUREMENT_SETTINGS)[number], value: unknown): string {
  if (key === 'memoryBudget') return Number(value) > 0 ? bytesInBothUnits(Number(value)) : 'none';
  return String(value);
}

/** Where no cell of the `other` side has a cell's configuration: the nearest one, and what differs (baseline value vs current value). */
function unmatched(cell: CellResult, others: CellResult[], other: 'baseline' | 'current'): string {
  const nearest = nearestConfiguration(cell.spec, others.map((c) => c.spec));
  if (!nearest) return `the ${other} results have no cells`;
  const differences = other === 'current' ? nearest.differences : configurationDifferences(nearest.spec, cell.spec);
  return `no ${other} cell has this configuration; the nearest, ${configurationName(nearest.spec)}, differs in ${differences.join(', ')} (baseline vs current)`;
}

function info(path: string, r: ResultsFile): SideInfo {
  const sig = r.context?.cpuSignature;
  return {
    path,
    scenario: r.scenario?.name ?? '?',
    createdAt: r.context?.createdAt ?? '?',
    gitRevision: r.context?.tool?.gitRevision ?? '?',
    strategyModules: (r.strategyModules ?? []).map(moduleRevision),
    cpu: r.context?.cpu ?? '?',
    signature: sig ? formatCpuSignature(sig) : 'none recorded',
    cells: r.cells.length,
  };
}

export function compareResults(baseline: ResultsFile, current: ResultsFile, options: CompareOptions = DEFAULT_COMPARE_OPTIONS, paths = { baseline: 'baseline', current: 'current' }): Comparison {
  const notes: string[] = [];
  const bi = info(paths.baseline, baseline);
  const ci = info(paths.current, current);
  if (bi.scenario !== ci.scenario) notes.push(`scenarios differ (${bi.scenario} vs ${ci.scenario}): cells are matched by configuration only`);
  notes.push(...moduleNotes(baseline, current));
  const machine = machineCheck(baseline, current);
  if (options.figuresOnly) notes.push('deterministic figures only: timings are not judged');
  else if (machine.reason) notes.push(machine.reason);
  else if (machine.basis === 'paired') {
    notes.push(
      `both sides measured interleaved on one machine by the guard (${baseline.context.pairedRun!.id}): timings are judged` +
        (machine.differences.length ? ` although the signatures differ (${machine.differences.join('; ')}): the change itself moved them` : ''),
    );
  }
  const bg = group(baseline.cells);
  const cg = group(current.cells);
  const cells: CellComparison[] = [];
  const settingsNoted = new Set<string>();
  for (const [key, bList] of bg) {
    const first = bList[0];
    const id = first.id;
    const base = bList.filter((c) => c.status === 'completed');
    const cur = (cg.get(key) ?? []).filter((c) => c.status === 'completed');
    const entry: CellComparison = { id, label: cellLabel(first), strategy: strategyName(first), verdict: 'ok', failed: false, timing: [], figures: [] };
    cells.push(entry);
    if (base.length === 0) {
      entry.verdict = 'not run in baseline';
      entry.detail = `baseline status ${first.status}${first.error ? `: ${first.error}` : ''}`;
      if (cur.length === 0 && cg.has(key)) entry.detail += `; current status ${cg.get(key)![0].status}`;
      continue;
    }
    if (!cg.has(key)) {
      entry.verdict = 'missing';
      entry.failed = true;
      entry.detail = `cell is in the baseline but not in the current results: ${unmatched(first, current.cells, 'current')}`;
      continue;
    }
    if (cur.length === 0) {
      const c0 = cg.get(key)![0];
      entry.verdict = 'not completed';
      entry.failed = true;
      entry.detail = `current status ${c0.status}${c0.error ? `: ${c0.error}` : ''}`;
      continue;
    }
    if ((base[0].backend ?? base[0].spec.backend) !== (cur[0].backend ?? cur[0].spec.backend)) {
      entry.verdict = 'incomparable';
      entry.failed = true;
      entry.detail = `backends differ (${base[0].backend} vs ${cur[0].backend}): timings cannot be compared; record a baseline on this backend`;
      continue;
    }
    for (const k of MEASUREMENT_SETTINGS) {
      const bv = base[0].spec[k];
      const cv = cur[0].spec[k];
      if (bv !== cv && !settingsNoted.has(k)) {
        settingsNoted.add(k);
        const why = k === 'memoryBudget' ? 'a budget decides whether a cell fits, not what it measures: compared' : 'timings are compared anyway';
        notes.push(`measurement setting '${k}' differs (${settingText(k, bv)} vs ${settingText(k, cv)}): ${why}`);
      }
    }
    entry.runs = { baseline: base.length, current: cur.length };
    entry.figures = compareFigures(base[0], cur[0], options);
    if (base[0].timing && cur[0].timing && !options.figuresOnly) {
      const t = compareTiming(base, cur, options);
      entry.timing = t.rows;
      entry.trials = t.trials;
      entry.coarse = t.coarse;
      const bRef = quantile(base.map((c) => c.reference?.gemmMs.median ?? NaN).sort((a, b) => a - b), 0.5);
      const cRef = quantile(cur.map((c) => c.reference?.gemmMs.median ?? NaN).sort((a, b) => a - b), 0.5);
      entry.referenceRatio = cRef / bRef;
      const why = machine.comparable ? weakEvidence(t.trials, entry.referenceRatio, options) : 'timings recorded on different CPUs (see the note on CPU signatures)';
      if (why && entry.timing.some((r) => r.verdict === 'regressed')) {
        for (const row of entry.timing) if (row.verdict === 'regressed') row.verdict = 'inconclusive';
        entry.inconclusive = why;
        entry.verdict = 'inconclusive';
      }
    }
    if (entry.timing.some((r) => r.verdict === 'regressed') || entry.figures.some((f) => f.failed)) {
      entry.verdict = 'regressed';
      entry.failed = true;
    }
  }
  for (const [key, cList] of cg) {
    if (bg.has(key)) continue;
    cells.push({ id: cList[0].id, label: cellLabel(cList[0]), strategy: strategyName(cList[0]), verdict: 'new', failed: false, detail: `not in the baseline: ${unmatched(cList[0], baseline.cells, 'baseline')}`, timing: [], figures: [] });
  }
  const common = [...bg.keys()].filter((k) => cg.has(k)).length;
  if (cells.some((c) => c.verdict === 'missing' || c.verdict === 'new')) {
    notes.push('cells are matched by the configuration that defines them (strategy, classes, GPUs, batch, dim, sample rate, update, logits, dtype, margin, mode, rank; interconnect and GPUs per node for an emulated rank), not by label or budget: each unmatched cell names the nearest one and what differs');
  }
  if (cells.some((c) => c.coarse)) notes.push('some cells have no per-trial data (older results): their run-level medians stand in for trials, so the consistency test has little to go on');
  const speed = cells.map((c) => c.referenceRatio).filter((r): r is number => r !== undefined && Number.isFinite(r));
  if (speed.length) {
    const s = quantile([...speed].sort((a, b) => a - b), 0.5);
    if (s > 1.25 || s < 0.8) {
      notes.push(`the reference workload (GEMMs) itself runs ${s.toFixed(2)}x the baseline's time: a ${s > 1 ? 'slower' : 'faster'} machine (normalized away), or a change in GEMM itself, which normalization cannot see`);
    }
  }
  const regressions: Regression[] = [];
  for (const cell of cells) {
    if (!cell.failed) continue;
    if (cell.verdict !== 'regressed') {
      regressions.push({ cell: cell.id, strategy: cell.strategy, metric: 'cell', ratio: null, verdict: cell.verdict });
      continue;
    }
    for (const row of cell.timing) if (row.verdict === 'regressed') regressions.push({ cell: cell.id, strategy: cell.strategy, metric: row.metric, ratio: row.ratio, verdict: 'regressed' });
    for (const row of cell.figures) if (row.failed) regressions.push({ cell: cell.id, strategy: cell.strategy, metric: row.metric, ratio: row.ratio, verdict: row.verdict });
  }
  const inconclusive = cells.filter((c) => c.verdict === 'inconclusive');
  for (const cell of inconclusive) notes.push(`${cell.label} ${cell.strategy}: a slowdown is inconclusive: ${cell.inconclusive}`);
  if (!machine.comparable && !options.figuresOnly && inconclusive.length === 0 && cells.some((c) => c.timing.length)) {
    notes.push('no timing looked slower; the verdict ok rests on the deterministic figures and on timings from different CPUs');
  }
  const verdict: ComparisonVerdict = regressions.length ? 'regressed' : inconclusive.length ? 'inconclusive' : 'ok';
  return { ok: regressions.length === 0, verdict, options, baseline: bi, current: ci, machine, notes, cells, regressions, common };
}

/** Why the timings of a cell cannot carry a regression verdict, or undefined when they can. */
function weakEvidence(trials: { baseline: number; current: number }, referenceRatio: number, options: CompareOptions): string | undefined {
  if (trials.baseline < options.minTrials || trials.current < options.minTrials) {
    return `${trials.baseline} baseline and ${trials.current} current trial(s); at least ${options.minTrials} per side are needed (record with --trials ${options.minTrials} or more)`;
  }
  if (Number.isFinite(referenceRatio) && (referenceRatio > options.referenceBound || referenceRatio < 1 / options.referenceBound)) {
    return `the GEMM reference itself ran ${referenceRatio.toFixed(2)}x the baseline's time (bound ${options.referenceBound}x): the machine was too differently loaded for normalization to cancel`;
  }
  return undefined;
}
