/**
 * The Markdown summary: the seed's table layout (Method, GPUs, BatchSize, Memory/M,
 * Throughput img/sec) with our figures, the published ones and the ratios (Partial FC / model
 * parallel) side by side; then every cell, the failures with their errors, and the charts.
 * Every emulated or modeled figure says so next to the number.
 */
import { cellModelBytes } from '../strategies/memory-model.js';
import { capacityCheck, modelOnlyNotes } from './table.js';
import { bytesInBothUnits } from '../bench/fields.js';
import { simulatedCell, type CellResult } from '../bench/results.js';
import { PREDICTION_HEADER, PREDICTION_NOTE, predictionRows } from './prediction.js';
import {
  MB,
  completed,
  countName,
  fmt,
  methodName,
  predictedLabel,
  profileLines,
  provenance,
  reportCells,
  seedSettings,
  overridesLine,
  caseName,
  reportTitle,
  sideBySide,
  type SideBySide,
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
  if (simulatedCell(cell)) return `${fmt(cell.timing.imagesPerSecond)} (simulated: means nothing for a GPU)`;
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
    countName(cell.spec.classes),
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

/** The side-by-side table of several files: one row per configuration, each file's figures in its own columns. */
export function sideBySideTable(view: SideBySide): { header: string[]; rows: string[][] } {
  const [first, second] = view.runs;
  const pair = view.runs.length === 2;
  const header = [
    'Case',
    'Method',
    'GPUs',
    'BatchSize',
    ...view.runs.flatMap((r) => [`Step ms (${r})`, `img/s (${r})`, `Memory/M (${r})`]),
    ...(pair ? [`img/s ${second} / ${first}`, `Memory ${second} / ${first}`] : []),
  ];
  // A predicted figure says so beside it, as everywhere else (no kernel ran).
  const figure = (cell: CellResult | undefined, value: (c: CellResult) => number | undefined): string => {
    if (!cell) return 'not run';
    if (!completed(cell)) return cell.status;
    return fmt(value(cell)) + (cell.spec.mode === 'predict' ? ` (${predictedLabel(cell)})` : '');
  };
  const step = (c: CellResult) => c.timing?.stepMs.median;
  const ips = (c: CellResult) => c.timing?.imagesPerSecond;
  const mem = (c: CellResult) => (c.memory ? c.memory.peakBytes / MB : undefined);
  const over = (a: CellResult | undefined, b: CellResult | undefined, value: (c: CellResult) => number | undefined): string => {
    const x = a && completed(a) ? value(a) : undefined;
    const y = b && completed(b) ? value(b) : undefined;
    if (x === undefined || y === undefined || !(x > 0)) return '-';
    // A ratio with a prediction on either side names the predicted run(s).
    const predicted = [a, b].flatMap((c, i) => (c!.spec.mode === 'predict' ? [view.runs[i]] : []));
    return ratio(y / x) + (predicted.length ? ` (${predicted.join(' and ')} predicted)` : '');
  };
  const rows = view.rows.map((row) => [
    caseName(row.spec),
    methodName(row.spec),
    String(row.spec.ranks),
    String(row.spec.batch),
    ...row.cells.flatMap((c) => [figure(c, step), figure(c, ips), figure(c, mem)]),
    ...(pair ? [over(row.cells[0], row.cells[1], ips), over(row.cells[0], row.cells[1], mem)] : []),
  ]);
  return { header, rows };
}

/** What tells the runs of a side-by-side report apart, in words ("interconnect: A pcie3-8gpu-1xedr, B nvswitch3-8gpu-8xhdr"). */
export function runLevelLines(view: SideBySide): string[] {
  return view.runLevel.map((r) => `${r.field}: ${r.values.map((v, i) => `${view.runs[i]} ${v}`).join(', ')}`);
}

export const CAPACITY_HEADER = ['Setting', 'Method', 'GPUs', 'BatchSize', 'Budget per GPU', 'Largest identities', 'Published', 'Model GiB at the answer', 'Checked', 'Status'];

/** A capacity answer as a table row: an answer, not a measurement (no step time, no throughput). */
export function capacityRow(cell: CellResult): string[] {
  const c = cell.capacity;
  const budget = cell.spec.memoryBudget;
  const checked = !c ? '-' : capacityCheck(c);
  return [
    cell.spec.label || `${cell.spec.ranks} GPUs`,
    methodName(cell.spec),
    String(cell.spec.ranks),
    String(cell.spec.batch),
    budget > 0 ? bytesInBothUnits(budget).replace(/ \(.*\)$/, '') : '-',
    c ? c.largestClasses.toLocaleString('en-US') : '-',
    cell.spec.published?.largestClasses ? cell.spec.published.largestClasses.toLocaleString('en-US') : '-',
    c ? fmt(c.modelBytes / 2 ** 30) : '-',
    checked,
    cell.status,
  ];
}

export const CAPACITY_NOTE =
  "A capacity answer is the largest identity count whose FC layer (one rank's buffers, as the memory model counts them) fits the per-GPU budget. 'fits; N: out of budget' = both counts were allocated under the budget in child processes (memory not touched) and the budget refused the next; 'failed' = an allocation failed for another reason and judges nothing; 'model only' = this machine could not allocate the budget, and the answer is the model's.";

export const NOTE =
  "Memory/M is in MB (10^6 bytes). Ours is the FC layer of one rank as the core allocates it (peak of the tagged total); the published figure is the whole GPU (backbone, activations, CUDA context) as nvidia-smi shows it. Our throughput is the FC layer alone: global batch / step time, where the step time (the median in 'Step ms') includes exactly one communication time, measured or modeled as 'How obtained' says. 'emulated' = one rank of an N-GPU run computed in this process; 'comm. modeled' = its collectives' time comes from an alpha-beta model of the interconnect, not a measurement. Compare ratios, not absolute figures.";

export interface MarkdownOptions {
  /** Chart images to embed, relative to the Markdown file. */
  charts?: { title: string; path: string }[];
}

export function markdownSummary(files: readonly LoadedResults[], options: MarkdownOptions = {}): string {
  const lines: string[] = [];
  const multiple = files.length > 1;
  lines.push(`# ${reportTitle(files)}`, '');
  if (multiple) {
    // Side by side first: the reason to give several files is to compare them.
    const view = sideBySide(files);
    lines.push('## Side by side', '');
    lines.push(`Each row is one configuration; each file's figures are in its own columns (${files.map((f) => `${f.run}: \`${f.path}\``).join('; ')}).`, '');
    const apart = runLevelLines(view);
    if (apart.length) lines.push(`The runs differ in ${apart.join('; ')}.`, '');
    const { header, rows } = sideBySideTable(view);
    lines.push(...table(header, rows), '');
  }
  for (const loaded of files) {
    const { file } = loaded;
    const ctx = file.context;
    if (multiple) lines.push(`## Run ${loaded.run}`, '');
    if (file.scenario.description) lines.push(file.scenario.description, '');
    const given = overridesLine(file);
    if (given) lines.push(given, '');
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
      lines.push(`${h} ${setting.label}: ${countName(sample.classes)} identities`, '');
      lines.push(...table(SEED_HEADER, seedRows(setting).rows), '');
    }
    const predicted = predictionRows(file.cells);
    if (predicted.rows.length) {
      lines.push(`${h} Predicted against published`, '', PREDICTION_NOTE, '');
      lines.push(...table(PREDICTION_HEADER, predicted.rows), '');
    }
    const profiles = profileLines(file.cells);
    if (profiles.length) {
      lines.push(`${h} Interconnect ${profiles.length > 1 ? 'profiles' : 'profile'} (the modeled communication)`, '');
      for (const p of profiles) lines.push(`- ${p}`);
      lines.push('');
    }
    // Capacity answers get their own table: in the cells table their step time and throughput would read 'completed'.
    const answers = file.cells.filter((c) => c.capacity || c.id.startsWith('capacity|'));
    const measured = file.cells.filter((c) => !answers.includes(c));
    if (answers.length) {
      lines.push(`${h} Capacity`, '');
      lines.push(...table(CAPACITY_HEADER, answers.map(capacityRow)), '', ...modelOnlyNotes(answers).flatMap((n) => [n, '']), CAPACITY_NOTE, '');
    }
    if (!multiple && measured.length) {
      lines.push(`${h} All cells`, '');
      lines.push(...table(CELLS_HEADER, measured.map(cellRow)), '');
    }
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
