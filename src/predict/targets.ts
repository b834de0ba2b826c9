/**
 * GPU targets for `--mode predict` and `pfc-bench plan`: a GPU's memory in bytes, its dense peak
 * throughput per dtype, its memory bandwidth and SM count, and where those figures come from.
 * The built-in targets are the JSON files of bench/targets/ (vendor datasheets); `--target FILE`
 * reads a file of the same shape, checked field by field with errors that name the field.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, suggest } from '../core/errors.js';
import { packageRoot } from '../core/binding.js';

/** The dtypes a target gives a peak for; null where the GPU has no such path (TF32 before Ampere). */
export const TARGET_DTYPES = ['fp32', 'tf32', 'bf16', 'fp16'] as const;
export type TargetDType = (typeof TARGET_DTYPES)[number];

export interface GpuTarget {
  name: string;
  description: string;
  /** Memory per GPU in bytes, exact. */
  memoryBytes: number;
  /** The memory as the datasheet says it ("80 GiB HBM2e"). */
  memory: string;
  /** Dense peak TFLOP/s per dtype (no sparsity); null: not supported by the GPU. */
  peakTflops: Record<TargetDType, number | null>;
  bandwidthBytesPerSecond: number;
  sms: number;
  sources: string[];
  note?: string;
  /** The file a target was read from (a user's --target FILE). */
  file?: string;
}

export function targetDir(): string {
  return join(packageRoot(), 'bench', 'targets');
}

export function builtinTargetNames(): string[] {
  return readdirSync(targetDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** A target name or a path: a path has a slash or ends in .json. */
function isTargetPath(value: string): boolean {
  return value.includes('/') || value.includes('\\') || value.toLowerCase().endsWith('.json');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks every field of a target; `where` names the file in each error. */
export function parseTarget(data: unknown, where: string, option = '--target'): GpuTarget {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new UsageError(option, `${where}: field '${field}': expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
  };
  if (!isObject(data)) fail('(the file)', 'a JSON object describing a GPU', data);
  const d = data as Record<string, unknown>;
  const allowed = ['name', 'description', 'memoryBytes', 'memory', 'peakTflops', 'bandwidthBytesPerSecond', 'sms', 'sources', 'note'];
  for (const key of Object.keys(d)) {
    if (!allowed.includes(key)) throw new UsageError(option, `${where}: unknown field '${key}'${suggest(key, allowed)}; allowed: ${allowed.join(', ')}`);
  }
  const text = (field: string): string => (typeof d[field] === 'string' && (d[field] as string).trim() !== '' ? (d[field] as string) : fail(field, 'a non-empty string', d[field]));
  const positive = (field: string, value: unknown, integer = false): number =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)) ? value : fail(field, integer ? 'a whole number > 0' : 'a number > 0', value);
  if (!isObject(d.peakTflops)) fail('peakTflops', `an object with ${TARGET_DTYPES.join(', ')} (TFLOP/s, dense; null where unsupported)`, d.peakTflops);
  const peaks = d.peakTflops as Record<string, unknown>;
  for (const key of Object.keys(peaks)) {
    if (!(TARGET_DTYPES as readonly string[]).includes(key)) throw new UsageError(option, `${where}: unknown field 'peakTflops.${key}'${suggest(key, TARGET_DTYPES)}; allowed: ${TARGET_DTYPES.join(', ')}`);
  }
  const peakTflops = Object.fromEntries(
    TARGET_DTYPES.map((k) => [k, peaks[k] === null || peaks[k] === undefined ? null : positive(`peakTflops.${k}`, peaks[k])]),
  ) as Record<TargetDType, number | null>;
  if (peakTflops.fp32 === null) fail('peakTflops.fp32', 'a number > 0 (every GPU has an fp32 peak)', peaks.fp32);
  if (peakTflops.fp16 === null && peakTflops.bf16 === null) fail('peakTflops.fp16', 'a number > 0 in fp16 or bf16 (the mixed-precision peak)', peaks.fp16);
  if (!Array.isArray(d.sources) || d.sources.length === 0 || !d.sources.every((s) => typeof s === 'string' && s.trim() !== '')) {
    fail('sources', 'a non-empty list of strings naming where the figures come from', d.sources);
  }
  if (d.note !== undefined && typeof d.note !== 'string') fail('note', 'a string', d.note);
  return {
    name: text('name'),
    description: text('description'),
    memoryBytes: positive('memoryBytes', d.memoryBytes, true),
    memory: text('memory'),
    peakTflops,
    bandwidthBytesPerSecond: positive('bandwidthBytesPerSecond', d.bandwidthBytesPerSecond),
    sms: positive('sms', d.sms, true),
    sources: d.sources as string[],
    ...(typeof d.note === 'string' ? { note: d.note } : {}),
  };
}

function readTargetFile(path: string, option: string): GpuTarget {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(option, `cannot read the target file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(option, `${path} is not JSON (${(error as Error).message})`);
  }
  return parseTarget(data, path, option);
}

/** A built-in target by name (a100-80gb, ...) or a target file. */
export function loadTarget(nameOrPath: string, option = '--target'): GpuTarget {
  const names = builtinTargetNames();
  if (names.includes(nameOrPath)) return readTargetFile(join(targetDir(), `${nameOrPath}.json`), option);
  if (isTargetPath(nameOrPath)) {
    const path = resolve(nameOrPath);
    if (!existsSync(path)) throw new UsageError(option, `no target file ${path}; expected one of ${names.join(', ')} or a JSON file of the same shape`);
    return { ...readTargetFile(path, option), file: path };
  }
  throw new UsageError(option, `unknown target '${nameOrPath}'; expected one of ${names.join(', ')} or a JSON file of the same shape (bench/targets/*.json)${suggest(nameOrPath, names)}`);
}

/**
 * The peak a GEMM of this storage dtype runs at: fp32 storage on fp32 cores (our GEMMs and
 * PyTorch's default leave TF32 off); bf16/fp16 on the tensor cores, falling back to the other
 * 16-bit figure where the GPU has one only (Volta and Turing: no bf16).
 */
export function peakFlops(target: GpuTarget, dtype: 'fp32' | 'tf32' | 'bf16' | 'fp16'): number {
  const p = target.peakTflops;
  const tflops = dtype === 'fp32' ? p.fp32 : dtype === 'tf32' ? p.tf32 ?? p.fp32 : dtype === 'bf16' ? p.bf16 ?? p.fp16 : p.fp16 ?? p.bf16;
  return (tflops ?? p.fp32!) * 1e12;
}
