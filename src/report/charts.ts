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
import type { ChartSpec, ReportCell } from './charts/common.js';

export { CHART_NAMES, logTicks, wrap, type ChartSpec } from './charts/common.js';

/** Every chart the cells have data for, in report order. */
export function buildCharts(cells: readonly ReportCell[]): ChartSpec[] {
  const multipleRuns = new Set(cells.map((rc) => rc.runIndex)).size > 1;
  return [seedChart, sweepChart, sampleRateChart, capacityChart, phasesChart, memoryChart]
    .map((build) => build(cells, multipleRuns))
    .filter((c): c is ChartSpec => c !== undefined);
}
