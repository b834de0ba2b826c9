/**
 * sample-rate: step time and memory against Partial FC's sample rate, one line per case and
 * method (cells that differ only in --sample-rate). The rate decides how many centres each
 * step touches, so it is the axis a sweep over --sample-rate asks for.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, MEMORY, NUMBER_LABEL, anyEmulated, logTicks, wrap, MB, rateSweeps, type ChartSpec, type ReportCell } from './common.js';

const STEP = 'Step time (ms)';

export function sampleRateChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const sweeps = rateSweeps(cells);
  if (!sweeps.length) return undefined;
  const rows: Record<string, unknown>[] = [];
  const used: ReportCell[] = [];
  const rates = new Set<number>();
  const seriesOrder: string[] = [];
  for (const sweep of sweeps) {
    for (const [name, list] of sweep.series) {
      const series = [multipleRuns ? sweep.run : '', name, sweeps.filter((s) => s.run === sweep.run).length > 1 ? sweep.description : ''].filter(Boolean).join(' · ');
      seriesOrder.push(series);
      for (const cell of list) {
        used.push({ cell, run: sweep.run, runIndex: 0 });
        rates.add(cell.spec.sampleRate);
        rows.push({ series, rate: cell.spec.sampleRate, metric: STEP, value: cell.timing!.stepMs.median });
        rows.push({ series, rate: cell.spec.sampleRate, metric: MEMORY, value: cell.memory!.peakBytes / MB });
      }
    }
  }
  const sorted = [...rates].sort((a, b) => a - b);
  // A decade or more of rates reads on a log axis; a few nearby rates on a linear one.
  const logX = sorted[sorted.length - 1] / sorted[0] >= 10;
  const x = {
    field: 'rate',
    type: 'quantitative',
    scale: logX ? { type: 'log', nice: false, padding: 12 } : { zero: false, nice: false, padding: 12 },
    axis: { values: sorted, format: '~g', title: `sample rate (--sample-rate)${logX ? ', log scale' : ''}`, labelFlush: false },
  };
  const panel = (metric: string) => ({
    width: 300,
    height: 220,
    title: { text: `${metric}, log scale`, fontSize: 12.5, fontWeight: 'bold', anchor: 'middle' },
    transform: [{ filter: { field: 'metric', equal: metric } }],
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative', title: null, scale: { type: 'log' }, axis: { values: logTicks(rows.filter((r) => r.metric === metric).map((r) => r.value as number)), labelExpr: NUMBER_LABEL } },
      color: { field: 'series', type: 'nominal', scale: { domain: seriesOrder }, legend: { title: 'Case · method', orient: 'bottom', direction: 'vertical' } },
    },
    layer: [{ mark: { type: 'line', strokeWidth: 2 } }, { mark: { type: 'point', filled: true, size: 60, opacity: 1 } }],
  });
  const subtitle = ['Cells that differ only in the sample rate: the share of each shard\'s centres a step samples (positives always in).'];
  if (anyEmulated(used)) subtitle.push('Ours: the FC layer of one emulated rank; the step time includes modeled communication.');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Step time and memory against the sample rate', subtitle: wrap(subtitle) },
    data: { values: rows },
    hconcat: [panel(STEP), panel(MEMORY)],
    spacing: 28,
    config: CONFIG,
  };
  return {
    name: 'sample-rate',
    title: 'Step time and memory against the sample rate',
    caption: `One line per case and method over --sample-rate. ${subtitle.join(' ')}`,
    spec: spec as unknown as TopLevelSpec,
  };
}
