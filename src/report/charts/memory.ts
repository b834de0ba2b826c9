/** memory: measured vs modeled memory per category, one panel per cell. */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG, NUMBER_LABEL, wrap, MB, MEMORY_CATEGORIES, cellName, completed, uniqueNames, type ChartSpec, type ReportCell,
} from './common.js';

export function memoryChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
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

