/**
 * capacity: the largest identity count that fits, by GPU count and budget. Horizontal bars: a
 * row per group (GPUs, budget) and a bar per series (method, ours or published) inside it, each
 * value written past its bar's end. The width is fixed and the height grows by one bar step
 * per series, so ten methods over many groups stay readable: a label has its bar's row to
 * itself and never meets its neighbour's (side by side, columns of labels ran into each other
 * and the chart grew to 4,000 px wide).
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG, COUNT_LABEL, logTicks, methodScale, bytesLabel, capacityOf, countLabel, methodName, type ChartSpec, type ReportCell,
} from './common.js';

/** Pixels per bar: room for a 10 px label beside a bar of its own. */
const BAR_STEP = 16;
const PLOT_WIDTH = 520;

export function capacityChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const rows: Record<string, unknown>[] = [];
  const used: ReportCell[] = [];
  const groups: { key: string; gpus: number; budget: number; run: number }[] = [];
  let anyPublished = false;
  for (const rc of cells) {
    const cap = capacityOf(rc.cell);
    if (!cap) continue;
    used.push(rc);
    const s = rc.cell.spec;
    const group = [multipleRuns ? rc.run : '', `${s.ranks} GPUs`, cap.budgetBytes ? bytesLabel(cap.budgetBytes) : ''].filter(Boolean).join(' · ');
    if (!groups.some((g) => g.key === group)) groups.push({ key: group, gpus: s.ranks, budget: cap.budgetBytes ?? 0, run: rc.runIndex });
    const method = methodName(s);
    const modelOnly = rc.cell.capacity?.checkedBy === 'model only';
    rows.push({ group, method, series: `${method}|ours`, source: 'ours', value: cap.maxClasses, text: `${countLabel(cap.maxClasses)}${modelOnly ? ' (model only)' : ''}` });
    if (cap.publishedMaxClasses) {
      anyPublished = true;
      rows.push({ group, method, series: `${method}|published`, source: 'published', value: cap.publishedMaxClasses, text: `${countLabel(cap.publishedMaxClasses)} published` });
    }
  }
  if (!rows.length) return undefined;
  const colours = methodScale(used);
  groups.sort((a, b) => a.run - b.run || a.gpus - b.gpus || a.budget - b.budget);
  // Bars on a log scale start at the domain's minimum: a decade under the smallest bar; room past the longest for its label.
  const values = rows.map((r) => r.value as number);
  const xDomain = [10 ** Math.floor(Math.log10(Math.min(...values) / 1.5)), Math.max(...values) * 4];
  const xTicks = logTicks(xDomain).filter((t) => t <= xDomain[1]);
  const seriesDomain = colours.domain.flatMap((m) => [`${m}|ours`, `${m}|published`]).filter((k) => rows.some((r) => r.series === k));
  const anyModelOnly = used.some((rc) => rc.cell.capacity?.checkedBy === 'model only');
  const subtitle = [
    anyPublished ? 'Lighter bars: published capacity (the whole network on the GPU).' : 'Per-GPU memory budget as given by each cell.',
    ...(anyModelOnly ? ['(model only): the analytic model\'s answer, not checked by allocation on this machine.'] : []),
  ];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Capacity: the largest identity count that fits', subtitle },
    data: { values: rows },
    width: PLOT_WIDTH,
    height: { step: BAR_STEP },
    encoding: {
      y: { field: 'group', type: 'nominal', scale: { domain: groups.map((g) => g.key), paddingInner: 0.25 }, title: null, axis: { labelFontWeight: 'bold', labelPadding: 6 } },
      yOffset: { field: 'series', type: 'nominal', scale: { domain: seriesDomain } },
      x: { field: 'value', type: 'quantitative', stack: null, scale: { type: 'log', domain: xDomain, nice: false }, title: 'identities, log scale', axis: { values: xTicks, labelExpr: COUNT_LABEL, orient: 'top' } },
    },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.85 } },
        encoding: {
          color: { field: 'method', type: 'nominal', scale: colours, legend: { title: 'Method', orient: 'bottom', direction: 'vertical', columns: seriesDomain.length > 6 ? 2 : 1 } },
          opacity: { field: 'source', type: 'ordinal', sort: ['ours', 'published'], scale: { domain: ['ours', 'published'], range: [1, 0.45] }, legend: anyPublished ? { title: 'Figures', orient: 'bottom' } : null },
        },
      },
      // A text mark sits at the start of its offset band: half a step down puts it level with its bar.
      { mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, dy: BAR_STEP / 2, fontSize: 10 }, encoding: { text: { field: 'text' } } },
    ],
    config: CONFIG,
  };
  return {
    name: 'capacity',
    title: 'Capacity by GPU count',
    caption: 'The largest identity count that trains within the per-GPU memory budget, per method, GPU count and budget; each bar is labelled with its count.',
    spec: spec as unknown as TopLevelSpec,
  };
}
