/**
 * `pfc-bench plan --target a100-80gb --gpus 8 --classes 5M [--backbone r100]`: one screen that
 * answers "model parallel or Partial FC, at which rate; how much memory per GPU, how fast, and
 * the largest identity count that fits" for a named GPU, predicted (no kernel runs; seconds on
 * any machine). Per strategy and sample rate: memory per GPU (ours and PyTorch's PartialFC_V2),
 * headroom, step time and images/s, capacity; and a chart of step time and memory against the
 * sample rate, written as SVG.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { packageRoot } from '../core/binding.js';
import { parseOptions, optionHelp, type OptionSpec } from '../options.js';
import { parseBytes, parseCount, parseNumber, parseInteger, parseChoice } from '../bench/fields.js';
import { INTERCONNECTS, INTERCONNECT_ALIASES, canonicalInterconnect } from '../model/comm.js';
import { DEFAULT_SGD, MARGINS, type FcConfig } from '../strategies/config.js';
import { isBuiltInStrategy, strategyDescriptors, strategyOf, validateFcConfig } from '../strategies/registry.js';
import { DEFAULT_BASELINE } from '../strategies/descriptor.js';
import { BACKBONE_CHOICES, parseBackbone, type BackboneName } from './backbone.js';
import { builtinTargetNames, loadTarget, type GpuTarget } from './targets.js';
import { predictTraining, type TrainingPrediction } from './training.js';

export const PLAN_USAGE = 'pfc-bench plan --target NAME|FILE --classes COUNT [--gpus 8] [--batch 128xGPUs] [--backbone none|r50|r100] [--reserve SIZE] [--sample-rates 0.05,0.1,0.2,0.3,0.5] [--interconnect NAME] [--chart FILE.svg]';

export const PLAN_OPTIONS: Record<string, OptionSpec> = {
  target: { kind: 'string', help: `the GPU: ${builtinTargetNames().join(' | ')} | a target FILE` },
  classes: { kind: 'string', help: 'identities C over all GPUs (5M, 1000000)' },
  gpus: { kind: 'string', help: 'GPUs N [8]' },
  batch: { kind: 'string', help: 'global batch B, divisible by --gpus [128 per GPU]' },
  dim: { kind: 'string', help: 'embedding dimension D [512]' },
  backbone: { kind: 'string', help: `${BACKBONE_CHOICES.join(' | ')} [none: the FC layer alone]` },
  reserve: { kind: 'string', help: 'per-GPU bytes for anything else, e.g. 1GiB [0]' },
  'sample-rates': { kind: 'string', help: 'Partial FC rates to show [0.05,0.1,0.2,0.3,0.5]' },
  update: { kind: 'string', help: "ours: sparse | dense | lazy-dense [lazy-dense: dense's result at sparse cost]" },
  dtype: { kind: 'string', help: 'ours: fp32 | bf16 | fp16 storage [fp32]' },
  interconnect: {
    kind: 'string',
    help: `communication model profile: ${Object.keys(INTERCONNECTS).join(' | ')} (old names ${Object.keys(INTERCONNECT_ALIASES).join(', ')} still read) [the target's usual servers: nvlink2-8gpu-4xedr for V100, nvswitch3-8gpu-8xhdr for A100, nvswitch4-8gpu-8xndr for H100/H200, else pcie3-8gpu-1xedr]`,
  },
  'gpus-per-node': { kind: 'string', help: "GPUs per node for the communication model [the profile's, 8]" },
  chart: { kind: 'string', help: 'the chart SVG [reports/plan-<target>-<classes>.svg]' },
  json: { kind: 'boolean', help: 'the rows as JSON on stdout, after the table' },
  help: { kind: 'boolean', help: 'this help' },
};

export interface PlanRequest {
  target: GpuTarget;
  classes: number;
  gpus: number;
  batch: number;
  dim: number;
  backbone: BackboneName | 'none';
  reserveBytes: number;
  sampleRates: number[];
  update: FcConfig['update'];
  dtype: FcConfig['dtype'];
  interconnect: string;
  gpusPerNode: number;
}

export interface PlanRow {
  /** The baseline (model parallel) at rate 1, or a built-in sampling strategy at a rate. */
  strategy: string;
  sampleRate: number;
  prediction: TrainingPrediction;
  /** The largest identity count whose predicted memory per GPU fits the target: ours, PyTorch's. */
  capacity: { ours: number; pytorch: number };
}

export function parsePlanArgs(argv: readonly string[]): PlanRequest | undefined {
  const { options, positionals } = parseOptions(argv, PLAN_OPTIONS, 'plan', `usage: ${PLAN_USAGE}`);
  if (options.help === true) return undefined;
  if (positionals.length) throw new UsageError('plan', `unexpected argument '${positionals[0]}' (options start with --); usage: ${PLAN_USAGE}`);
  if (options.target === undefined) throw new UsageError('--target', `plan needs a GPU target: one of ${builtinTargetNames().join(', ')} or a target FILE`);
  if (options.classes === undefined) throw new UsageError('--classes', 'plan needs the identity count, e.g. --classes 5M');
  const target = loadTarget(String(options.target));
  const classes = parseCount('--classes', String(options.classes));
  const gpus = options.gpus === undefined ? 8 : (parseInteger(1)(String(options.gpus), '--gpus') as number);
  const batch = options.batch === undefined ? 128 * gpus : (parseInteger(1)(String(options.batch), '--batch') as number);
  const dim = options.dim === undefined ? 512 : (parseInteger(1)(String(options.dim), '--dim') as number);
  const backbone = options.backbone === undefined ? 'none' : parseBackbone(String(options.backbone));
  const reserveBytes = options.reserve === undefined ? 0 : parseBytes('--reserve', String(options.reserve));
  const rateText = options['sample-rates'] === undefined ? '0.05,0.1,0.2,0.3,0.5' : String(options['sample-rates']);
  const sampleRates = rateText.split(',').map((r) => parseNumber(Number.MIN_VALUE, 1, 'in (0, 1]')(r.trim(), '--sample-rates') as number);
  const update = (options.update === undefined ? 'lazy-dense' : parseChoice(() => ['sparse', 'dense', 'lazy-dense'])(String(options.update), '--update')) as FcConfig['update'];
  const dtype = (options.dtype === undefined ? 'fp32' : parseChoice(() => ['fp32', 'bf16', 'fp16'])(String(options.dtype), '--dtype')) as FcConfig['dtype'];
  // An old profile name reads as the profile it always was, shown by its current name.
  const interconnect =
    options.interconnect === undefined
      ? defaultInterconnect(target)
      : canonicalInterconnect(parseChoice(() => [...Object.keys(INTERCONNECTS), ...Object.keys(INTERCONNECT_ALIASES)])(String(options.interconnect), '--interconnect') as string);
  const gpusPerNode = options['gpus-per-node'] === undefined ? 0 : (parseInteger(0)(String(options['gpus-per-node']), '--gpus-per-node') as number);
  const request = { target, classes, gpus, batch, dim, backbone, reserveBytes, sampleRates: [...new Set(sampleRates)].sort((a, b) => a - b), update, dtype, interconnect, gpusPerNode };
  // Every shape through the strategies' own validation: errors name the option.
  for (const row of planConfigs(request)) validateFcConfig(row);
  return request;
}

/** The servers a GPU usually sits in (SXM boards on NVLink; PCIe cards and unknown files on PCIe). */
export function defaultInterconnect(target: GpuTarget): string {
  if (target.file) return 'pcie3-8gpu-1xedr';
  if (target.name.startsWith('v100')) return 'nvlink2-8gpu-4xedr';
  if (target.name.startsWith('a100')) return 'nvswitch3-8gpu-8xhdr';
  if (target.name.startsWith('h100') || target.name.startsWith('h200')) return 'nvswitch4-8gpu-8xndr';
  return 'pcie3-8gpu-1xedr';
}

function config(r: PlanRequest, strategy: string, sampleRate: number, classes = r.classes): FcConfig {
  return {
    strategy,
    classes,
    ranks: r.gpus,
    batch: r.batch,
    dim: r.dim,
    sampleRate,
    update: strategyOf(strategy).samples ? r.update : 'sparse',
    margin: { ...MARGINS.cosface },
    sgd: { ...DEFAULT_SGD },
    seed: 1,
    dtype: r.dtype,
  };
}

/**
 * The rows: the ratio rows' default baseline (model parallel) at rate 1, then each built-in
 * sharded sampling strategy (Partial FC, whose PyTorch counterpart predict models) at each rate.
 */
function planConfigs(r: PlanRequest): FcConfig[] {
  const sampling = strategyDescriptors().filter((d) => d.samples && d.layout === 'sharded' && isBuiltInStrategy(d.name));
  return [config(r, DEFAULT_BASELINE, 1), ...sampling.flatMap((d) => r.sampleRates.filter((rate) => rate < 1).map((rate) => config(r, d.name, rate)))];
}

function predict(r: PlanRequest, c: FcConfig): TrainingPrediction {
  return predictTraining(c, r.target, { backbone: r.backbone, reserveBytes: r.reserveBytes, interconnect: r.interconnect, gpusPerNode: r.gpusPerNode });
}

/** Largest C (>= GPUs, < 2^31) whose predicted memory per GPU fits the target; 0 when none does. */
function largestFitting(r: PlanRequest, c: FcConfig, bytes: (p: TrainingPrediction) => number): number {
  const fits = (classes: number) => bytes(predict(r, { ...c, classes })) <= r.target.memoryBytes;
  let lo = Math.max(r.gpus, Math.ceil(1 / c.sampleRate) * r.gpus);
  if (!fits(lo)) return 0;
  let hi = 2 ** 31 - 1;
  if (fits(hi)) return hi;
  while (hi - lo > Math.max(1, lo * 1e-4)) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function planRows(r: PlanRequest): PlanRow[] {
  return planConfigs(r).map((c) => ({
    strategy: c.strategy,
    sampleRate: c.sampleRate,
    prediction: predict(r, c),
    capacity: {
      ours: largestFitting(r, c, (p) => p.ours.totalBytes),
      pytorch: largestFitting(r, c, (p) => p.pytorch!.totalBytes),
    },
  }));
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(1);
const count = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : String(n));

function pad(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')).join('\n');
}

export function planTable(r: PlanRequest, rows: readonly PlanRow[]): string {
  const t = r.target;
  const head = [
    `pfc-bench plan: ${count(r.classes)} identities on ${r.gpus} x ${t.name} (${t.description}, ${t.memory}), global batch ${r.batch} (${r.batch / r.gpus} per GPU), D ${r.dim}, backbone ${r.backbone === 'none' ? 'none (the FC layer alone)' : `${r.backbone} (fp16 autocast)`}${r.reserveBytes ? `, reserve ${gb(r.reserveBytes)} GB` : ''}, ${r.interconnect}`,
    `PREDICTED on ${t.name}: no kernel ran. Ours: pfc-bench's step (${r.dtype}, update ${r.update}); PyTorch: arcface_torch's PartialFC_V2 (fp32 FC, dense update). GB = 10^9 bytes.`,
    '',
  ];
  const table = [['Strategy', 'Rate', 'GB/GPU ours', 'PyTorch', 'Headroom ours', 'PyTorch', 'Step ms ours', 'PyTorch', 'img/s ours', 'PyTorch', 'Capacity ours', 'PyTorch']];
  for (const row of rows) {
    const p = row.prediction;
    const pt = p.pytorch!;
    const fit = (h: number) => (h >= 0 ? gb(h) : `${gb(h)} (no fit)`);
    table.push([
      row.strategy,
      String(row.sampleRate),
      gb(p.ours.totalBytes),
      gb(pt.totalBytes),
      fit(p.ours.headroomBytes),
      fit(pt.headroomBytes),
      p.ours.stepMs.toFixed(1),
      pt.stepMs.toFixed(1),
      p.ours.imagesPerSecond.toFixed(0),
      pt.imagesPerSecond.toFixed(0),
      count(row.capacity.ours),
      count(row.capacity.pytorch),
    ]);
  }
  const b = rows[0].prediction;
  const notes = [
    '',
    `Step = backbone ${b.backboneMs.toFixed(1)} ms + FC + exposed communication ${b.exposedCommunicationMs.toFixed(1)} ms (model parallel; per row it varies little); memory = backbone ${gb(b.backboneBytes)} GB + FC + reserve.`,
    `Capacity: the largest identity count whose predicted memory per GPU fits ${t.memory}, same GPUs, batch, backbone and reserve. Headroom: ${t.memory} minus the predicted memory.`,
    'What is modeled and what is not: docs/predict.md. Check a prediction on the GPU with pfc-bench run --mode emulate.',
  ];
  return [...head, pad(table), ...notes].join('\n');
}

export function defaultChartPath(r: PlanRequest): string {
  return join(packageRoot(), 'reports', `plan-${r.target.name}-${count(r.classes)}-${r.gpus}gpus.svg`);
}

export async function planCommand(argv: readonly string[], write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { options } = parseOptions(argv, PLAN_OPTIONS, 'plan', `usage: ${PLAN_USAGE}`);
  const request = parsePlanArgs(argv);
  if (!request) {
    write(`usage: ${PLAN_USAGE}\n${optionHelp(PLAN_OPTIONS)}\n`);
    return 0;
  }
  const rows = planRows(request);
  write(`${planTable(request, rows)}\n`);
  const chartPath = options.chart === undefined ? defaultChartPath(request) : String(options.chart);
  const { planChart } = await import('./plan-chart.js');
  const { renderSvg } = await import('../report/render.js');
  const rendered = await renderSvg(planChart(request, rows));
  mkdirSync(dirname(chartPath), { recursive: true });
  writeFileSync(chartPath, rendered.svg);
  write(`chart: ${chartPath}\n`);
  if (options.json === true) write(`${JSON.stringify(rows.map((r) => ({ strategy: r.strategy, sampleRate: r.sampleRate, capacity: r.capacity, ours: r.prediction.ours, pytorch: r.prediction.pytorch })), null, 1)}\n`);
  return 0;
}
