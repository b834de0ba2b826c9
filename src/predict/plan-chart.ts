/**
 * The plan's chart: predicted step time and memory per GPU against the sample rate (model
 * parallel is rate 1), ours and PyTorch's PartialFC_V2, the target's memory as a rule. A
 * Vega-Lite spec in the report's chart style, rendered to SVG by report/render.ts.
 */
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, NUMBER_LABEL, wrap, type ChartSpec } from '../report/charts/common.js';
import type { PlanRequest, PlanRow } from './plan.js';

const STEP = 'Step time (ms)';
const MEMORY = 'Memory per GPU (GB)';

export function planChart(r: PlanRequest, rows: readonly PlanRow[]): ChartSpec {
  const data: Record<string, unknown>[] = [];
  for (const row of rows) {
    const p = row.prediction;
    for (const [implementation, f] of [['ours', p.ours], ['PyTorch PartialFC_V2', p.pytorch!]] as const) {
      data.push({ rate: row.sampleRate, implementation, metric: STEP, value: f.stepMs });
      data.push({ rate: row.sampleRate, implementation, metric: MEMORY, value: f.totalBytes / 1e9 });
    }
  }
  const panel = (metric: string) => ({
    width: 300,
    height: 220,
    title: { text: metric, fontSize: 12.5, fontWeight: 'bold', anchor: 'middle' },
    layer: [
      {
        data: { values: data },
        transform: [{ filter: { field: 'metric', equal: metric } }],
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, axis: { values: rows.map((x) => x.sampleRate), title: 'sample rate (1 = model parallel), log scale' } },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true }, axis: { labelExpr: NUMBER_LABEL } },
          color: { field: 'implementation', type: 'nominal', scale: { domain: ['ours', 'PyTorch PartialFC_V2'], range: ['#f28e2b', '#4e79a7'] }, legend: { title: 'Predicted', orient: 'bottom' } },
        },
      },
      ...(metric === MEMORY
        ? [
            {
              data: { values: [{ value: r.target.memoryBytes / 1e9, label: `${r.target.name}: ${r.target.memory}` }] },
              mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
              encoding: { y: { field: 'value', type: 'quantitative' } },
            },
          ]
        : []),
    ],
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CONFIG,
    title: {
      text: `Predicted on ${r.target.name}: ${r.classes.toLocaleString('en-US')} identities on ${r.gpus} GPUs`,
      subtitle: wrap([
        `Global batch ${r.batch}, backbone ${r.backbone}${r.reserveBytes ? `, reserve ${(r.reserveBytes / 1e9).toFixed(1)} GB` : ''}, ${r.interconnect}. No kernel ran: every figure is predicted (docs/predict.md). Dashed: the GPU's memory.`,
      ]),
    },
    hconcat: [panel(STEP), panel(MEMORY)],
    resolve: { scale: { y: 'independent' } },
  } as unknown as TopLevelSpec;
  return {
    name: 'plan',
    title: `Predicted step time and memory against the sample rate on ${r.target.name}`,
    caption: 'Predicted, not measured: step time and memory per GPU against the Partial FC sample rate (rate 1 is model parallel), ours and PyTorch PartialFC_V2.',
    spec,
  };
}
