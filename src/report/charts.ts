/**
 * The report's charts as Vega-Lite specs, built from results files only:
 *   seed       throughput and memory by method for the seed-style settings, published beside ours
 *   sweep      throughput and memory against identity count (log x), one line per method
 *   capacity   the largest identity count that fits, by GPU count (when cells carry capacity)
 *   phases     where each step's time goes (stacked phases, modeled communication apart)
 *   memory     measured vs modeled memory per category, one panel per cell
 * A chart whose data is absent is left out, never drawn empty.
 */
import type { TopLevelSpec } from 'vega-lite';
import { FONT_FAMILY } from './fonts.js';
import {
  MB,
  MEMORY_CATEGORIES,
  PHASES,
  bytesLabel,
  capacityOf,
  cellName,
  completed,
  countLabel,
  fmt,
  identitySweeps,
  methodName,
  methodOrder,
  seedSettings,
  uniqueNames,
  type ReportCell,
} from './data.js';

export interface ChartSpec {
  /** File stem: <name>-charts/<name>.svg */
  name: string;
  title: string;
  /** One or two sentences printed under the chart in the HTML page. */
  caption: string;
  spec: TopLevelSpec;
}

export const CHART_NAMES = ['seed', 'sweep', 'capacity', 'phases', 'memory'] as const;

const CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  padding: 10,
  view: { stroke: '#d0d0d0' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 360, gridColor: '#e8e8e8' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 360, symbolSize: 120 },
  header: { labelFontSize: 12, titleFontSize: 12, labelLimit: 300 },
  title: { fontSize: 16, anchor: 'start', offset: 12, subtitleFontSize: 11.5, subtitleColor: '#444', subtitlePadding: 6 },
  text: { fontSize: 10.5 },
} as const;

const METHOD_COLOURS = { dp: '#59a14f', mp: '#4e79a7', mpFused: '#a0cbe8', pfc: ['#f28e2b', '#e15759', '#b07aa1', '#edc948', '#9c755f', '#76b7b2'] };

/** A colour per method, the same in every chart: model parallel blue, Partial FC warm colours. */
function methodScale(cells: readonly ReportCell[]): { domain: string[]; range: string[] } {
  const specs = new Map<string, ReportCell['cell']['spec']>();
  for (const rc of cells) specs.set(methodName(rc.cell.spec), rc.cell.spec);
  const domain = [...specs.keys()].sort((a, b) => methodOrder(specs.get(a)!) - methodOrder(specs.get(b)!));
  let p = 0;
  const extra = ['#bab0ac', '#ff9da7', '#86bcb6'];
  const range = domain.map((name) => {
    const s = specs.get(name)!;
    if (s.strategy === 'model-parallel') return s.logits === 'fused' ? METHOD_COLOURS.mpFused : METHOD_COLOURS.mp;
    if (s.strategy === 'data-parallel') return METHOD_COLOURS.dp;
    if (s.strategy === 'partial-fc') return METHOD_COLOURS.pfc[p++ % METHOD_COLOURS.pfc.length];
    return extra[p++ % extra.length];
  });
  return { domain, range };
}

function anyEmulated(cells: readonly ReportCell[]): boolean {
  return cells.some((rc) => rc.cell.spec.mode === 'emulate' || rc.cell.timing?.modeled);
}

/**
 * Axis labels: plain numbers below a million ("12,000"), SI prefixes above ("1.5M"), never milli
 * ("100m" MB) or a shared prefix ("0k"), which d3's "~s" would print.
 */
const NUMBER_LABEL = "abs(datum.value) >= 1e6 ? replace(format(datum.value, '.3~s'), 'G', 'B') : format(datum.value, ',~g')";

/** Identity counts: always with SI prefixes ("5k", "1M", "1B"). */
const COUNT_LABEL = "replace(format(datum.value, '.3~s'), 'G', 'B')";

/** Tick values for a log axis: powers of ten, with 2 and 5 between them on short ranges. */
export function logTicks(values: readonly number[]): number[] {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (!positive.length) return [1];
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.ceil(Math.log10(Math.max(...positive)));
  const steps = hi - lo <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of steps) ticks.push(Number((m * 10 ** e).toPrecision(6)));
  return ticks.filter((t) => t <= 10 ** hi);
}

/** Breaks a subtitle into lines of about `width` characters, so a long note cannot widen a chart. */
export function wrap(lines: readonly string[], width = 96): string[] {
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    for (const word of line.split(/\s+/)) {
      if (current && current.length + 1 + word.length > width) {
        out.push(current);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    if (current) out.push(current);
  }
  return out;
}

const THROUGHPUT = 'Throughput (images/s)';
/** Room above the tallest bar for its value label. */
const HEADROOM = 1.12;
const MEMORY = 'Memory per GPU (MB)';

function seedChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const settings = seedSettings(cells);
  if (!settings.length) return undefined;
  const rows: Record<string, unknown>[] = [];
  const panels: string[] = [];
  const used: ReportCell[] = [];
  let anyPublished = false;
  for (const setting of settings) {
    const name = (multipleRuns ? `${setting.run}: ` : '') + setting.label;
    const emulated = setting.cells.some((c) => c.spec.mode === 'emulate');
    const ours = `${name}|ours${emulated ? ' (emulated)' : ''}`;
    const published = `${name}|published`;
    const hasPublished = setting.cells.some((c) => c.spec.published);
    anyPublished ||= hasPublished;
    panels.push(ours);
    if (hasPublished) panels.push(published);
    for (const cell of setting.cells) {
      used.push({ cell, run: setting.run, runIndex: setting.runIndex });
      const method = methodName(cell.spec);
      const ok = completed(cell) && cell.timing && cell.memory;
      const measured = [
        [THROUGHPUT, ok ? cell.timing!.imagesPerSecond : undefined],
        [MEMORY, ok ? cell.memory!.peakBytes / MB : undefined],
      ] as const;
      for (const [metric, value] of measured) {
        rows.push({ panel: ours, metric, method, source: 'ours', value: value ?? 0, headroom: (value ?? 0) * HEADROOM, text: value === undefined ? cell.status : fmt(value) });
      }
      const pub = cell.spec.published;
      if (pub) {
        for (const [metric, value] of [
          [THROUGHPUT, pub.imagesPerSecond],
          [MEMORY, pub.memoryMB],
        ] as const) {
          if (value !== undefined) rows.push({ panel: published, metric, method, source: 'published', value, headroom: value * HEADROOM, text: fmt(value) });
        }
      }
    }
  }
  const colours = methodScale(used);
  const subtitle = [
    anyEmulated(used)
      ? 'Ours: the FC layer alone, one emulated rank; images/s include modeled communication.'
      : 'Ours: the FC layer alone, measured.',
  ];
  if (anyPublished) {
    const sources = [...new Set(used.map((rc) => rc.cell.spec.published?.source).filter(Boolean))];
    subtitle.push(`Published: the whole network per GPU, from ${sources.join('; ')}.`, 'Each panel has its own scale: compare the ratios between methods, not the heights across panels.');
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Throughput and memory by method', subtitle: wrap(subtitle) },
    data: { values: rows },
    facet: {
      row: { field: 'metric', type: 'nominal', sort: [THROUGHPUT, MEMORY], header: { title: null, labelFontWeight: 'bold', labelPadding: 8 } },
      column: {
        field: 'panel',
        type: 'nominal',
        sort: panels,
        header: { title: null, labelExpr: "split(datum.label, '|')", labelFontWeight: 'bold', labelPadding: 6 },
      },
    },
    spec: {
      width: { step: 44 },
      height: 170,
      encoding: {
        x: { field: 'method', type: 'nominal', sort: colours.domain, axis: null },
        y: { field: 'value', type: 'quantitative', title: null, axis: { labelExpr: NUMBER_LABEL, tickCount: 5 } },
      },
      layer: [
        {
          mark: { type: 'bar', width: { band: 0.8 } },
          encoding: {
            color: { field: 'method', type: 'nominal', scale: colours, legend: { title: 'Method', orient: 'bottom', direction: 'horizontal' } },
            opacity: { field: 'source', type: 'ordinal', sort: ['ours', 'published'], scale: { domain: ['ours', 'published'], range: [1, 0.45] }, legend: anyPublished ? { title: 'Figures', orient: 'bottom', direction: 'horizontal' } : null },
          },
        },
        { mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 10 }, encoding: { text: { field: 'text' } } },
        // Invisible: stretches each y scale so the value above the tallest bar stays inside the frame.
        { mark: { type: 'point', opacity: 0 }, encoding: { y: { field: 'headroom', type: 'quantitative' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
    config: CONFIG,
  };
  return {
    name: 'seed',
    title: 'Throughput and memory by method',
    caption: `The seed's bar chart: for each setting, our figures beside the published ones (lighter bars). ${subtitle.join(' ')}`,
    spec: spec as unknown as TopLevelSpec,
  };
}

function sweepChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const sweeps = identitySweeps(cells);
  if (!sweeps.length) return undefined;
  const rows: Record<string, unknown>[] = [];
  const used: ReportCell[] = [];
  let anyPublished = false;
  const classValues = new Set<number>();
  const seriesOrder: string[] = [];
  for (const sweep of sweeps) {
    for (const [method, list] of sweep.series) {
      const series = [method, sweeps.length > 1 ? sweep.description : '', multipleRuns ? sweep.run : ''].filter(Boolean).join(' · ');
      seriesOrder.push(series);
      for (const cell of list) {
        used.push({ cell, run: sweep.run, runIndex: 0 });
        classValues.add(cell.spec.classes);
        rows.push({ series, method, classes: cell.spec.classes, metric: THROUGHPUT, value: cell.timing!.imagesPerSecond, source: 'ours' });
        rows.push({ series, method, classes: cell.spec.classes, metric: MEMORY, value: cell.memory!.peakBytes / MB, source: 'ours' });
        const pub = cell.spec.published;
        if (pub?.imagesPerSecond !== undefined) rows.push({ series, method, classes: cell.spec.classes, metric: THROUGHPUT, value: pub.imagesPerSecond, source: 'published' });
        if (pub?.memoryMB !== undefined) rows.push({ series, method, classes: cell.spec.classes, metric: MEMORY, value: pub.memoryMB, source: 'published' });
        anyPublished ||= pub?.imagesPerSecond !== undefined || pub?.memoryMB !== undefined;
      }
    }
  }
  // One colour per series; with a single sweep a series is a method, coloured as everywhere else.
  const colours = sweeps.length === 1 && !multipleRuns ? methodScale(used) : { domain: seriesOrder, range: undefined };
  const x = {
    field: 'classes',
    type: 'quantitative',
    scale: { type: 'log', nice: false, padding: 12 },
    axis: { values: [...classValues].sort((a, b) => a - b), labelExpr: COUNT_LABEL, title: 'identities (classes), log scale', labelFlush: false },
  };
  const valuesOf = (metric: string) => rows.filter((r) => r.metric === metric).map((r) => r.value as number);
  const panel = (metric: string, logY: boolean) => {
    const y = {
      field: 'value',
      type: 'quantitative',
      title: null,
      scale: logY ? { type: 'log' } : { zero: true },
      axis: logY ? { values: logTicks(valuesOf(metric)), labelExpr: NUMBER_LABEL } : { labelExpr: NUMBER_LABEL, tickCount: 6 },
    };
    const color = {
      field: 'series',
      type: 'nominal',
      scale: colours.range ? colours : { domain: colours.domain },
      legend: { title: sweeps.length > 1 ? 'Method · sweep' : 'Method', orient: 'bottom', direction: 'vertical' },
    };
    const source = { domain: ['ours', 'published'] };
    const figuresLegend = { title: 'Figures', orient: 'bottom', direction: 'vertical', symbolStrokeWidth: 2 };
    return {
      width: 300,
      height: 220,
      title: { text: metric + (logY ? ', log scale' : ''), fontSize: 12.5, fontWeight: 'bold', anchor: 'middle' },
      transform: [{ filter: { field: 'metric', equal: metric } }],
      encoding: { x, y, color },
      layer: [
        {
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            detail: { field: 'source', type: 'nominal' },
            strokeDash: anyPublished ? { field: 'source', type: 'nominal', scale: { ...source, range: [[1, 0], [5, 3]] }, legend: figuresLegend } : { value: [1, 0] },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 60, opacity: 1 },
          encoding: anyPublished ? { shape: { field: 'source', type: 'nominal', scale: { ...source, range: ['circle', 'diamond'] }, legend: figuresLegend } } : {},
        },
      ],
    };
  };
  const subtitle = [sweeps.length === 1 ? `${sweeps[0].description}.` : `${sweeps.length} sweeps; each line holds everything but the identity count fixed.`];
  if (anyEmulated(used)) subtitle.push('Ours: the FC layer of one emulated rank; images/s include modeled communication.');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Throughput and memory against identity count', subtitle: wrap(subtitle) },
    data: { values: rows },
    hconcat: [panel(THROUGHPUT, anyPublished), panel(MEMORY, true)],
    spacing: 28,
    config: CONFIG,
  };
  return {
    name: 'sweep',
    title: 'Throughput and memory against identity count',
    caption: `Cells that differ only in the identity count, one line per method. ${subtitle.join(' ')}`,
    spec: spec as unknown as TopLevelSpec,
  };
}

function capacityChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const rows: Record<string, unknown>[] = [];
  const used: ReportCell[] = [];
  const groups: { key: string; gpus: number }[] = [];
  let anyPublished = false;
  for (const rc of cells) {
    const cap = capacityOf(rc.cell);
    if (!cap) continue;
    used.push(rc);
    const s = rc.cell.spec;
    const group = [multipleRuns ? rc.run : '', `${s.ranks} GPUs`, cap.budgetBytes ? bytesLabel(cap.budgetBytes) : ''].filter(Boolean).join(' · ');
    if (!groups.some((g) => g.key === group)) groups.push({ key: group, gpus: s.ranks });
    const method = methodName(s);
    rows.push({ group, method, series: `${method}|ours`, source: 'ours', value: cap.maxClasses, text: countLabel(cap.maxClasses) });
    if (cap.publishedMaxClasses) {
      anyPublished = true;
      rows.push({ group, method, series: `${method}|published`, source: 'published', value: cap.publishedMaxClasses, text: countLabel(cap.publishedMaxClasses) });
    }
  }
  if (!rows.length) return undefined;
  const colours = methodScale(used);
  groups.sort((a, b) => a.gpus - b.gpus);
  // Bars on a log scale start at the domain's minimum: keep it a decade under the smallest bar.
  const values = rows.map((r) => r.value as number);
  const yDomain = [10 ** Math.floor(Math.log10(Math.min(...values) / 1.5)), 10 ** Math.ceil(Math.log10(Math.max(...values) * 1.5))];
  const seriesDomain = colours.domain.flatMap((m) => [`${m}|ours`, `${m}|published`]).filter((k) => rows.some((r) => r.series === k));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Capacity: the largest identity count that fits',
      subtitle: [anyPublished ? 'Lighter bars: published capacity.' : 'Per-GPU memory budget as given by each cell.'],
    },
    data: { values: rows },
    width: Math.max(260, 200 * groups.length),
    height: 240,
    encoding: {
      x: { field: 'group', type: 'nominal', scale: { domain: groups.map((g) => g.key) }, title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', scale: { domain: seriesDomain } },
      y: { field: 'value', type: 'quantitative', stack: null, scale: { type: 'log', domain: yDomain, nice: false }, title: 'identities, log scale', axis: { values: logTicks(yDomain), labelExpr: COUNT_LABEL } },
    },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          color: { field: 'method', type: 'nominal', scale: colours, legend: { title: 'Method', orient: 'bottom' } },
          opacity: { field: 'source', type: 'ordinal', sort: ['ours', 'published'], scale: { domain: ['ours', 'published'], range: [1, 0.45] }, legend: anyPublished ? { title: 'Figures', orient: 'bottom' } : null },
        },
      },
      { mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 10 }, encoding: { text: { field: 'text' } } },
    ],
    config: CONFIG,
  };
  return {
    name: 'capacity',
    title: 'Capacity by GPU count',
    caption: 'The largest identity count that trains within the per-GPU memory budget, per method and GPU count.',
    spec: spec as unknown as TopLevelSpec,
  };
}

const MODELED_COMM = 'communication (modeled)';

function phasesChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const done = cells.filter((rc) => completed(rc.cell) && rc.cell.timing);
  if (!done.length) return undefined;
  const names = uniqueNames(done.map((rc) => cellName(rc, multipleRuns)));
  const rows: Record<string, unknown>[] = [];
  const totals: Record<string, unknown>[] = [];
  const phaseDomain = [...PHASES, MODELED_COMM];
  done.forEach((rc, i) => {
    const t = rc.cell.timing!;
    let total = 0;
    PHASES.forEach((phase, order) => {
      const ms = t.phasesMs[phase] ?? 0;
      total += ms;
      rows.push({ cell: names[i], phase, ms, order });
    });
    if (t.modeledCommMs > 0) {
      rows.push({ cell: names[i], phase: MODELED_COMM, ms: t.modeledCommMs, order: PHASES.length });
      total += t.modeledCommMs;
    }
    totals.push({ cell: names[i], total, text: `${fmt(total)} ms` });
  });
  const anyModeled = done.some((rc) => rc.cell.timing!.modeledCommMs > 0);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: "Where each step's time goes",
      subtitle: [
        'Phases of one training step of the FC layer, in milliseconds.',
        ...(anyModeled ? ['Grey segment: communication time modeled from message sizes (emulated ranks), not measured.'] : []),
      ],
    },
    width: 460,
    height: { step: 20 },
    encoding: {
      y: { field: 'cell', type: 'nominal', sort: names, title: null, axis: { labelLimit: 420 } },
    },
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', height: { band: 0.75 } },
        encoding: {
          x: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'milliseconds per step', axis: { labelExpr: NUMBER_LABEL } },
          color: {
            field: 'phase',
            type: 'nominal',
            scale: { domain: phaseDomain, range: ['#4e79a7', '#f28e2b', '#edc948', '#e15759', '#76b7b2', '#59a14f', '#bab0ac'] },
            legend: { title: 'Phase', orient: 'right' },
          },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        data: { values: totals },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
        encoding: { x: { field: 'total', type: 'quantitative' }, text: { field: 'text' } },
      },
    ],
    config: CONFIG,
  };
  return {
    name: 'phases',
    title: 'Phase breakdown of each step',
    caption: `Stacked phases of one step per completed cell (timing.phasesMs), with the modeled communication as its own segment.`,
    spec: spec as unknown as TopLevelSpec,
  };
}

function memoryChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const done = cells.filter((rc) => completed(rc.cell) && rc.cell.memory);
  if (!done.length) return undefined;
  const names = uniqueNames(done.map((rc) => cellName(rc, multipleRuns)));
  const rows: Record<string, unknown>[] = [];
  const categories = new Set<string>();
  done.forEach((rc, i) => {
    const m = rc.cell.memory!;
    for (const category of MEMORY_CATEGORIES) {
      const measured = m.atPeak[category] ?? 0;
      const modeled = m.modelBytes?.[category] ?? 0;
      if (measured === 0 && modeled === 0) continue;
      categories.add(category);
      rows.push({ cell: names[i], category, source: 'measured (at peak)', mb: measured / MB });
      rows.push({ cell: names[i], category, source: 'modeled', mb: modeled / MB });
    }
  });
  if (!rows.length) return undefined;
  const columns = Math.min(3, done.length);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Measured vs modeled memory per category',
      subtitle: wrap(["Bytes per category at the rank's peak (the core's accounting) beside the analytic model, in MB; each panel has its own scale."]),
    },
    data: { values: rows },
    facet: { field: 'cell', type: 'nominal', sort: names, title: null, header: { labelLimit: 300, labelFontSize: 11, labelFontWeight: 'bold', labelExpr: "split(datum.label, ' · ')" } },
    columns,
    spec: {
      width: 230,
      height: { step: 15 },
      mark: { type: 'bar', height: { band: 0.9 } },
      encoding: {
        y: { field: 'category', type: 'nominal', sort: MEMORY_CATEGORIES.filter((c) => categories.has(c)), title: null },
        yOffset: { field: 'source', type: 'nominal', sort: ['measured (at peak)', 'modeled'] },
        x: { field: 'mb', type: 'quantitative', title: 'MB', axis: { labelExpr: NUMBER_LABEL, tickCount: 4 } },
        color: {
          field: 'source',
          type: 'nominal',
          scale: { domain: ['measured (at peak)', 'modeled'], range: ['#4e79a7', '#f2a45c'] },
          legend: { title: null, orient: 'top' },
        },
      },
    },
    resolve: { scale: { x: 'independent' } },
    spacing: { row: 18, column: 24 },
    config: CONFIG,
  };
  return {
    name: 'memory',
    title: 'Measured vs modeled memory',
    caption: 'memory.atPeak (measured by the core at the peak of its tagged total) beside memory.modelBytes (the analytic model), per category and cell.',
    spec: spec as unknown as TopLevelSpec,
  };
}

/** Every chart the cells have data for, in report order. */
export function buildCharts(cells: readonly ReportCell[]): ChartSpec[] {
  const multipleRuns = new Set(cells.map((rc) => rc.runIndex)).size > 1;
  return [seedChart, sweepChart, capacityChart, phasesChart, memoryChart]
    .map((build) => build(cells, multipleRuns))
    .filter((c): c is ChartSpec => c !== undefined);
}
