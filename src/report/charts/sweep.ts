/** sweep: throughput and memory against identity count (log x), one line per method. */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG, COUNT_LABEL, MEMORY, NUMBER_LABEL, THROUGHPUT, anyEmulated, logTicks, methodScale, wrap, MB, identitySweeps, type ChartSpec, type ReportCell,
} from './common.js';

export function sweepChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const sweeps = identitySweeps(cells);
  if (!sweeps.length) return undefined;
  const rows: Record<string, unknown>[] = [];
  const used: ReportCell[] = [];
  let anyPublished = false;
  const classValues = new Set<number>();
  const seriesOrder: string[] = [];
  for (const sweep of sweeps) {
    // The run first: a long legend entry is cut at its end, and two runs must never read alike.
    const severalInRun = sweeps.filter((s) => s.run === sweep.run).length > 1;
    for (const [method, list] of sweep.series) {
      const series = [multipleRuns ? sweep.run : '', method, severalInRun || (!multipleRuns && sweeps.length > 1) ? sweep.description : ''].filter(Boolean).join(' · ');
      seriesOrder.push(series);
      for (const cell of list) {
        used.push({ cell, run: sweep.run, runIndex: 0 });
        classValues.add(cell.spec.classes);
        rows.push({ series, run: sweep.run, method, classes: cell.spec.classes, metric: THROUGHPUT, value: cell.timing!.imagesPerSecond, source: 'ours' });
        rows.push({ series, run: sweep.run, method, classes: cell.spec.classes, metric: MEMORY, value: cell.memory!.peakBytes / MB, source: 'ours' });
        const pub = cell.spec.published;
        if (pub?.imagesPerSecond !== undefined) rows.push({ series, run: sweep.run, method, classes: cell.spec.classes, metric: THROUGHPUT, value: pub.imagesPerSecond, source: 'published' });
        if (pub?.memoryMB !== undefined) rows.push({ series, run: sweep.run, method, classes: cell.spec.classes, metric: MEMORY, value: pub.memoryMB, source: 'published' });
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
      legend: { title: multipleRuns ? 'Run · method' : sweeps.length > 1 ? 'Method · sweep' : 'Method', orient: 'bottom', direction: 'vertical' },
    };
    const source = { domain: ['ours', 'published'] };
    const runLegend = { title: 'Run', orient: 'bottom', direction: 'vertical', symbolStrokeWidth: 2 };
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
            strokeDash: anyPublished
              ? { field: 'source', type: 'nominal', scale: { ...source, range: [[1, 0], [5, 3]] }, legend: figuresLegend }
              : multipleRuns
                ? { field: 'run', type: 'nominal', scale: { range: [[1, 0], [6, 4], [2, 2], [8, 3, 2, 3]] }, legend: runLegend }
                : { value: [1, 0] },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 60, opacity: 1 },
          // Several runs: a shape per run, so a run whose points lie on another's (equal memory) still shows.
          encoding: anyPublished
            ? { shape: { field: 'source', type: 'nominal', scale: { ...source, range: ['circle', 'diamond'] }, legend: figuresLegend } }
            : multipleRuns
              ? { shape: { field: 'run', type: 'nominal', legend: runLegend } }
              : {},
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

