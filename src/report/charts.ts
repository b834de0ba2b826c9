/**
 * The report's charts as Vega-Lite specs, built from results files only:
 *   seed       throughput and memory by method for the seed-style settings, published beside ours
 *   sweep      throughput and memory against identity count (log x), one line per method
 *   sample-rate step time and memory against --sample-rate, one line per case and method
 *   capacity   the largest identity count that fits, by GPU count (when cells carry capacity)
 *   phases     where each step's time goes (stacked phases, modeled communication apart)
 *   memory     measured vs modeled memory per category, one panel per cell
 * A chart whose data is absent is left out, never drawn empty.
 */
import { seedChart } from './charts/seed.js';
import { sweepChart } from './charts/sweep.js';
import { sampleRateChart } from './charts/sample-rate.js';
import { capacityChart } from './charts/capacity.js';
import { phasesChart } from './charts/phases.js';
import { memoryChart } from './charts/memory.js';
import { wrap, type ChartSpec, type ReportCell } from './charts/common.js';

export { CHART_NAMES, logTicks, wrap, type ChartSpec } from './charts/common.js';

/** Every chart the cells have data for, in report order. */
export function buildCharts(cells: readonly ReportCell[]): ChartSpec[] {
  const multipleRuns = new Set(cells.map((rc) => rc.runIndex)).size > 1;
  const charts = [seedChart, sweepChart, sampleRateChart, capacityChart, phasesChart, memoryChart]
    .map((build) => build(cells, multipleRuns))
    .filter((c): c is ChartSpec => c !== undefined);
  return markPredicted(charts, cells);
}

/**
 * Predicted cells (--mode predict) are never shown as measured: every chart of a report that
 * holds any says so first in its subtitle and caption, naming the targets.
 */
function markPredicted(charts: ChartSpec[], cells: readonly ReportCell[]): ChartSpec[] {
  const targets = [...new Set(cells.filter((rc) => rc.cell.spec.mode === 'predict').map((rc) => rc.cell.prediction?.target ?? rc.cell.spec.target))];
  if (!targets.length) return charts;
  const note = `PREDICTED on ${targets.join(', ')}: no kernel ran; "ours" is predicted, not measured (docs/predict.md).`;
  return charts.map((chart) => {
    const spec = chart.spec as { title?: string | { text: string; subtitle?: string | string[] } };
    const title = typeof spec.title === 'string' || spec.title === undefined ? { text: spec.title ?? chart.title } : spec.title;
    const subtitle = title.subtitle === undefined ? [] : Array.isArray(title.subtitle) ? title.subtitle : [title.subtitle];
    return { ...chart, caption: `${note} ${chart.caption}`, spec: { ...chart.spec, title: { ...title, subtitle: [...wrap([note]), ...subtitle] } } as ChartSpec['spec'] };
  });
}
