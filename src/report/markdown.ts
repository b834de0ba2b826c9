/**
 * The Markdown summary: the seed's table layout (Method, GPUs, BatchSize, Memory/M,
 * Throughput img/sec) with our figures, the published ones and the ratios (Partial FC / model
 * parallel) side by side; then every cell, the failures with their errors, and the charts.
 * Every emulated or modeled figure says so next to the number.
 */
import { cellModelBytes } from '../strategies/memory-model.js';
import type { CellResult } from '../bench/results.js';
import { PREDICTION_HEADER, PREDICTION_NOTE, predictionRows } from './prediction.js';
import {
  MB,
  completed,
  countLabel,
  fmt,
  methodName,
  predictedLabel,
  provenance,
  reportCells,
  seedSettings,
  settingName,
  settingRatios,
  type LoadedResults,
  type Ratio,
  type Setting,
} from './data.js';

/** Our memory figure with its provenance ("1.55 (emulated rank)"). */
export function oursMemory(cell: CellResult): string {
  if (cell.spec.mode === 'predict' && cell.memory) return `${fmt(cell.memory.peakBytes / MB)} (${predictedLabel(cell)})${completed(cell) ? '' : ` ${cell.status}`}`;
  if (!completed(cell) || !cell.memory) return cell.status;
  return fmt(cell.memory.peakBytes / MB) + (cell.spec.mode === 'emulate' ? ' (emulated rank)' : '');
}

/** Our images/s with its provenance ("1474 (emulated, comm. modeled)"). */
export function oursThroughput(cell: CellResult): string {
  if (cell.spec.mode === 'predict' && cell.timing) return `${fmt(cell.timing.imagesPerSecond)} (${predictedLabel(cell)})`;
  if (!completed(cell) || !cell.timing) return cell.status;
  const note = cell.spec.mode === 'emulate' ? ' (emulated, comm. modeled)' : cell.timing.modeled ? ' (comm. modeled)' : '';
  return fmt(cell.timing.imagesPerSecond) + note;
}

export function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${value.toFixed(2)}x`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`)];
}

export const SEED_HEADER = [
  'Method',
  'GPUs',
  'BatchSize',
  'Memory/M (ours, FC)',
  'Memory/M (published)',
  'Throughput img/sec (ours, FC)',
  'Throughput img/sec (published)',
];

/** The rows of one setting in the seed's layout, the ratio rows last. */
export function seedRows(setting: Setting): { rows: string[][]; ratios: Ratio[] } {
  const rows = setting.cells.map((cell) => [
    methodName(cell.spec),
    String(cell.spec.ranks),
    String(cell.spec.batch),
    oursMemory(cell),
    fmt(cell.spec.published?.memoryMB),
    oursThroughput(cell),
    fmt(cell.spec.published?.imagesPerSecond),
  ]);
  const ratios = settingRatios(setting);
  for (const r of ratios) {
    rows.push([`${r.method} / ${r.base}`, '', '', ratio(r.memory), ratio(r.publishedMemory), ratio(r.throughput), ratio(r.publishedThroughput)]);
  }
  return { rows, ratios };
}

export const CELLS_HEADER = ['Setting', 'Method', 'Identities', 'GPUs', 'BatchSize', 'Memory/M (ours, FC)', 'Memory/M (model)', 'Step ms (median, p10-p90)', 'Throughput img/sec (ours, FC)', 'How obtained', 'Status'];

export function cellRow(cell: CellResult): string[] {
  const t = cell.timing;
  const model = cellModelBytes(cell);
  const modelTotal = model ? Object.values(model).reduce((a, b) => a + b, 0) : undefined;
  return [
    settingName(cell),
    methodName(cell.spec),
    countLabel(cell.spec.classes),
    String(cell.spec.ranks),
    String(cell.spec.batch),
    oursMemory(cell),
    modelTotal === undefined ? '-' : `${fmt(modelTotal / MB)} (modeled)`,
    t ? `${fmt(t.stepMs.median)} (${fmt(t.stepMs.p10)}-${fmt(t.stepMs.p90)})` : '-',
    oursThroughput(cell),
    provenance(cell) || 'measured',
    cell.status,
  ];
}

export const NOTE =
  "Memory/M is in MB (10^6 bytes). Ours is the FC layer of one rank as the core allocates it (peak of the tagged total); the published figure is the whole GPU (backbone, activations, CUDA context) as nvidia-smi shows it. Our throughput is the FC layer alone: global batch / step time, where the step time (the median in 'Step ms') includes exactly one communication time, measured or modeled as 'How obtained' says. 'emulated' = one rank of an N-GPU run computed in this process; 'comm. modeled' = its collectives' time comes from an alpha-beta model of the interconnect, not a measurement. Compare ratios, not absolute figures.";

export interface MarkdownOptions {
  /** Chart images to embed, relative to the Markdown file. */
  charts?: { title: string; path: string }[];
}

export function markdownSummary(files: readonly LoadedResults[], options: MarkdownOptions = {}): string {
  const lines: string[] = [];
  const multiple = files.length > 1;
  lines.push(`# pfc-bench report: ${files.map((f) => f.file.scenario.name).join(', ')}`, '');
  for (const loaded of files) {
    const { file } = loaded;
    const ctx = file.context;
    if (multiple) lines.push(`## Run ${loaded.run}`, '');
    if (file.scenario.description) lines.push(file.scenario.description, '');
    const device = ctx.backend.cudaDevice && !String(ctx.backend.cudaDevice).startsWith('none') ? ctx.backend.cudaDevice : ctx.cpu;
    const targets = [...new Set(file.cells.filter((c) => c.spec.mode === 'predict').map((c) => c.prediction?.target ?? c.spec.target))];
    const predictedOnly = targets.length > 0 && file.cells.every((c) => c.spec.mode === 'predict');
    lines.push(
      predictedOnly
        ? `Predicted ${ctx.createdAt} with ${ctx.tool.name} ${ctx.tool.version} (${ctx.tool.gitRevision}) for ${targets.join(', ')}: no kernel ran, every figure is predicted (docs/predict.md), computed on ${ctx.cpu}. Results: \`${loaded.path}\`.`
        : `Run ${ctx.createdAt} with ${ctx.tool.name} ${ctx.tool.version} (${ctx.tool.gitRevision}) on ${device} (${ctx.cpuCount} CPUs, ${ctx.platform}), node ${ctx.node}. Results: \`${loaded.path}\`.`,
      '',
    );
    const h = multiple ? '###' : '##';
    const settings = seedSettings(reportCells([loaded]));
    for (const setting of settings) {
      const sample = setting.cells[0].spec;
      lines.push(`${h} ${setting.label}: ${countLabel(sample.classes)} identities`, '');
      lines.push(...table(SEED_HEADER, seedRows(setting).rows), '');
    }
    const predicted = predictionRows(file.cells);
    if (predicted.rows.length) {
      lines.push(`${h} Predicted against published`, '', PREDICTION_NOTE, '');
      lines.push(...table(PREDICTION_HEADER, predicted.rows), '');
    }
    lines.push(`${h} All cells`, '');
    lines.push(...table(CELLS_HEADER, file.cells.map(cellRow)), '');
    const failed = file.cells.filter((c) => !completed(c));
    if (failed.length) {
      lines.push(`${h} Cells that did not complete`, '');
      for (const cell of failed) lines.push(`- \`${cell.id}\` (${settingName(cell)}): **${cell.status}**${cell.error ? ` - ${escapeCell(cell.error.split('\n')[0])}` : ''}`);
      lines.push('');
    }
  }
  if (options.charts?.length) {
    lines.push('## Charts', '');
    for (const chart of options.charts) lines.push(`![${chart.title}](${encodeURI(chart.path)})`, '');
  }
  lines.push(NOTE, '');
  return lines.join('\n');
}
