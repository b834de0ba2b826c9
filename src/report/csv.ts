/**
 * CSV of all cells, one row per cell, with stable column names (snake_case, units in the
 * name). Absent figures are empty fields. New columns are only ever appended.
 */
import { stringify } from 'csv-stringify/sync';
import { MEMORY_CATEGORIES, PHASES, capacityOf, caseName, methodName, provenance, type LoadedResults } from './data.js';
import type { CellResult } from '../bench/results.js';
import { canonicalInterconnect } from '../model/comm.js';

type Value = string | number | boolean | null | undefined;

const COLUMNS: [string, (cell: CellResult, file: LoadedResults) => Value][] = [
  ['run', (_, f) => f.run],
  ['scenario', (_, f) => f.file.scenario.name],
  ['created_at', (_, f) => f.file.context.createdAt],
  ['git_revision', (_, f) => f.file.context.tool.gitRevision],
  ['cell_id', (c) => c.id],
  ['status', (c) => c.status],
  ['error', (c) => c.error],
  ['label', (c) => c.spec.label],
  ['strategy', (c) => c.spec.strategy],
  ['method', (c) => methodName(c.spec)],
  ['classes', (c) => c.spec.classes],
  ['gpus', (c) => c.spec.ranks],
  ['global_batch', (c) => c.spec.batch],
  ['dim', (c) => c.spec.dim],
  ['sample_rate', (c) => c.spec.sampleRate],
  ['update', (c) => c.spec.update],
  ['dtype', (c) => c.spec.dtype],
  ['margin_s', (c) => c.spec.margin?.s],
  ['margin_m1', (c) => c.spec.margin?.m1],
  ['margin_m2', (c) => c.spec.margin?.m2],
  ['margin_m3', (c) => c.spec.margin?.m3],
  ['mode', (c) => c.spec.mode],
  ['rank', (c) => c.spec.rank],
  ['backend', (c) => c.backend ?? c.spec.backend],
  ['device', (c) => c.device],
  ['interconnect', (c) => canonicalInterconnect(c.spec.interconnect)],
  ['memory_budget_bytes', (c) => c.spec.memoryBudget],
  ['steps', (c) => c.spec.steps],
  ['warmup', (c) => c.spec.warmup],
  ['trials', (c) => c.spec.trials],
  ['seed', (c) => c.spec.seed],
  ['threads', (c) => c.spec.threads],
  ['provenance', (c) => provenance(c) || 'measured'],
  ['step_ms_median', (c) => c.timing?.stepMs.median],
  ['step_ms_mean', (c) => c.timing?.stepMs.mean],
  ['step_ms_min', (c) => c.timing?.stepMs.min],
  ['step_ms_p10', (c) => c.timing?.stepMs.p10],
  ['step_ms_p90', (c) => c.timing?.stepMs.p90],
  ['step_ms_max', (c) => c.timing?.stepMs.max],
  ['modeled_comm_ms', (c) => c.timing?.modeledCommMs],
  ['measured_comm_ms', (c) => c.communication?.measuredMs],
  ['total_ms', (c) => c.timing?.totalMs],
  ['images_per_second', (c) => c.timing?.imagesPerSecond],
  ['time_modeled', (c) => c.timing?.modeled],
  ...PHASES.map((p): [string, (c: CellResult) => Value] => [`phase_${p}_ms`, (c) => c.timing?.phasesMs[p]]),
  ['peak_bytes', (c) => c.memory?.peakBytes],
  ['device_used_bytes', (c) => c.memory?.deviceUsedBytes],
  ...MEMORY_CATEGORIES.map((m): [string, (c: CellResult) => Value] => [`measured_${m}_bytes`, (c) => c.memory?.atPeak[m]]),
  ...MEMORY_CATEGORIES.map((m): [string, (c: CellResult) => Value] => [`modeled_${m}_bytes`, (c) => c.memory?.modelBytes?.[m]]),
  ['flops_per_step', (c) => c.work?.flopsPerStep],
  ['bytes_per_step', (c) => c.work?.bytesPerStep],
  ['achieved_gflops', (c) => c.work?.achievedGflops],
  ['active_centres', (c) => c.activeCentres],
  ['loss', (c) => c.loss],
  ['gemm_ms_median', (c) => (c as CellResult & { reference?: { gemmMs?: { median?: number } } }).reference?.gemmMs?.median],
  ['step_over_gemm', (c) => (c as CellResult & { reference?: { stepOverGemm?: number } }).reference?.stepOverGemm],
  ['capacity_max_classes', (c) => capacityOf(c)?.maxClasses],
  ['published_source', (c) => c.spec.published?.source],
  ['published_memory_mb', (c) => c.spec.published?.memoryMB],
  ['published_images_per_second', (c) => c.spec.published?.imagesPerSecond],
  ['started_at', (c) => c.startedAt],
  ['wall_seconds', (c) => c.wallSeconds],
  // The case's one name, as tables, charts, progress and compare write it ("5M@8", or its label).
  ['case', (c) => caseName(c.spec)],
];

export const CSV_COLUMNS: readonly string[] = COLUMNS.map(([name]) => name);

export function cellsCsv(files: readonly LoadedResults[]): string {
  const records = files.flatMap((file) =>
    file.file.cells.map((cell) =>
      COLUMNS.map(([, get]) => {
        const v = get(cell, file);
        return v === undefined || v === null ? '' : v;
      }),
    ),
  );
  return stringify([CSV_COLUMNS as string[], ...records], { cast: { boolean: (b) => (b ? 'true' : 'false') } });
}
