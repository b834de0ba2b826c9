/** capacity: the largest identity count that fits, by GPU count. */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG, COUNT_LABEL, logTicks, methodScale, bytesLabel, capacityOf, countLabel, methodName, type ChartSpec, type ReportCell,
} from './common.js';

export function capacityChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
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

