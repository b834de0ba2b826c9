/** phases: where each step's time goes. */
import type { TopLevelSpec } from 'vega-lite';
import {
  CONFIG, NUMBER_LABEL, PHASES, cellName, completed, fmt, uniqueNames, type ChartSpec, type ReportCell,
} from './common.js';

const OTHER = 'other (outside the phases)';

/**
 * One bar per completed cell: the phases of its step (medians), the communication phase being
 * the one communication time the step time includes (modeled for an emulated rank), and the
 * rest of the step as "other", so the bar ends at the step time (timing.stepMs.median) and its
 * label is that same figure.
 */
export function phasesChart(cells: readonly ReportCell[], multipleRuns: boolean): ChartSpec | undefined {
  const done = cells.filter((rc) => completed(rc.cell) && rc.cell.timing);
  if (!done.length) return undefined;
  const names = uniqueNames(done.map((rc) => cellName(rc, multipleRuns)));
  const rows: Record<string, unknown>[] = [];
  const totals: Record<string, unknown>[] = [];
  const phaseName = (phase: string, modeled: boolean) => (phase === 'communication' && modeled ? 'communication (modeled)' : phase);
  const anyModeled = done.some((rc) => rc.cell.timing!.communication === 'modeled' && rc.cell.timing!.modeledCommMs > 0);
  let longest = 0;
  done.forEach((rc, i) => {
    const t = rc.cell.timing!;
    const modeled = t.communication === 'modeled';
    let sum = 0;
    PHASES.forEach((phase, order) => {
      const ms = t.phasesMs[phase] ?? 0;
      sum += ms;
      rows.push({ cell: names[i], phase: phaseName(phase, modeled), ms, order });
    });
    const step = t.stepMs.median;
    // Medians per phase need not add up to the median step: the rest is shown, never hidden.
    if (step > sum) rows.push({ cell: names[i], phase: OTHER, ms: step - sum, order: PHASES.length });
    const end = Math.max(step, sum);
    longest = Math.max(longest, end);
    totals.push({ cell: names[i], end, text: `${fmt(step)} ms` });
  });
  // Colours by phase name, and a legend of the phases the bars show.
  const colours: Record<string, string> = {
    communication: '#4e79a7', sampling: '#f28e2b', normalize: '#edc948', gemm: '#e15759', softmax: '#76b7b2', update: '#59a14f',
    'communication (modeled)': '#bab0ac', [OTHER]: '#d7d7d7',
  };
  const shown = new Set(rows.map((r) => r.phase as string));
  const phaseDomain = Object.keys(colours).filter((name) => shown.has(name));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: "Where each step's time goes",
      subtitle: [
        'Phases of one training step of the FC layer, in milliseconds; the label is the step time (median).',
        ...(anyModeled ? ['communication (modeled): the collectives\' time modeled from message sizes (emulated ranks), not measured.'] : []),
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
          // Room past the longest bar for its label, so the label stays inside the plot.
          x: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'milliseconds per step', scale: { domainMax: longest * 1.25, nice: false }, axis: { labelExpr: NUMBER_LABEL } },
          color: {
            field: 'phase',
            type: 'nominal',
            scale: { domain: phaseDomain, range: phaseDomain.map((name) => colours[name]) },
            legend: { title: 'Phase', orient: 'bottom', columns: 4 },
          },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        data: { values: totals },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
        encoding: { x: { field: 'end', type: 'quantitative' }, text: { field: 'text' } },
      },
    ],
    config: CONFIG,
  };
  return {
    name: 'phases',
    title: 'Phase breakdown of each step',
    caption: 'Stacked phases of one step per completed cell (timing.phasesMs, communication measured or modeled as the step time counts it); each bar ends at the step time (timing.stepMs.median).',
    spec: spec as unknown as TopLevelSpec,
  };
}
