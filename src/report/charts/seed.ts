/** seed: throughput and memory by method for the seed-style settings, published beside ours. */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG, HEADROOM, MEMORY, NUMBER_LABEL, THROUGHPUT, anyEmulated, methodScale, wrap, MB, completed, fmt, methodName, seedSettings, type ChartSpec, type ReportCell,
} from './common.js';

export function seedChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
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

