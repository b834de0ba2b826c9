/**
 * The one table of a cell's fields: scenario key, command-line flag, default, parser and help.
 * The CLI options, the scenario key checks, the built-in defaults, `--help` and the results'
 * config schema are all generated from it, and every value (a CLI string or a scenario's JSON
 * value) is parsed by the same function, so a value is valid in one place exactly when it is
 * valid in the other. Checks that involve several fields (batch divisible by GPUs, ...) are in
 * resolveCell (scenario.ts) and validateFcConfig.
 */
import { UsageError, suggest } from '../core/errors.js';
import { BACKEND_CHOICES } from '../core/backend.js';
import type { Margin } from '../core/binding.js';
import { DEFAULT_SGD, LOGITS_KINDS, MARGINS, STORAGE_DTYPES, UPDATE_KINDS } from '../strategies/config.js';
import { STRATEGY_NAMES } from '../strategies/registry.js';
import { unavailableStrategyReason } from '../strategies/modules.js';
import { INTERCONNECTS, INTERCONNECT_ALIASES } from '../model/comm.js';
import type { PublishedFigure } from './results.js';
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { isProfilePath, loadProfileFile } from '../model/profile-file.js';
import { builtinTargetNames, loadTarget } from '../predict/targets.js';
import { BACKBONE_CHOICES, parseBackbone } from '../predict/backbone.js';

/** A built-in target name, or a target file (checked now; kept as its absolute path); '' = none. */
function parseTargetField(value: unknown, option: string): string {
  if (typeof value !== 'string') throw new UsageError(option, `expected a GPU target name or file, got ${describe(value)}`);
  if (value === '') return '';
  const target = loadTarget(value, option);
  return target.file ?? target.name;
}

export const RUN_MODES = ['single', 'emulate', 'real', 'predict'] as const;

export interface Field {
  /** The scenario key (camelCase). */
  key: string;
  /** The command-line flag (without --), or null for scenario-only keys. */
  flag: string | null;
  /** What an unset field is; undefined means "no default" (optional). */
  default: unknown;
  /** A comma list on the command line sweeps the field (a matrix dimension). */
  sweep: boolean;
  /** JSON-schema-like type, for the results' config schema. */
  type: 'string' | 'integer' | 'number' | 'object';
  help: string;
  /** Parses a CLI string or a scenario JSON value; throws a UsageError naming `option`. */
  parse(value: unknown, option: string): unknown;
}

const NUMBER_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/i;

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
}

function toNumber(value: unknown, option: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMBER_TEXT.test(value)) return Number(value);
  throw new UsageError(option, `expected a number, got ${describe(value)}`);
}

/** A number in [min, max]; `range` says so in words when the bounds are not plain (e.g. "(0, 1]"). */
export function parseNumber(min: number, max = Infinity, range?: string): Field['parse'] {
  const words = range ?? (max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`);
  return (value, option) => {
    const n = toNumber(value, option);
    if (n < min || n > max) throw new UsageError(option, `expected a number ${words}, got ${n}`);
    return n;
  };
}

export function parseInteger(min: number): Field['parse'] {
  return (value, option) => {
    const n = toNumber(value, option);
    if (!Number.isInteger(n) || n < min) throw new UsageError(option, `expected an integer >= ${min}, got ${n}`);
    return n;
  };
}

export function parseChoice(allowed: () => readonly string[]): Field['parse'] {
  return (value, option) => {
    const names = allowed();
    if (typeof value !== 'string' || !names.includes(value)) {
      const hint = typeof value === 'string' ? suggest(value, names) : '';
      throw new UsageError(option, `unknown value ${describe(value)}; expected one of ${names.join(', ')}${hint}`);
    }
    return value;
  };
}

/** 1000000, "1M", "10M", "125k", "1.5M"; the count must come out a whole number. */
export function parseCount(option: string, value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 1) return value;
    throw new UsageError(option, `expected a whole count such as 1000000 or 1M, got ${value}`);
  }
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$/.exec(value) : null;
  if (!match) throw new UsageError(option, `expected a count such as 1000000 or 1M, got ${describe(value)}`);
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const count = Number(match[1]) * scale;
  // 1.5M is a count; 1.5 is not (it used to be rounded silently).
  const whole = Math.round(count);
  if (Math.abs(count - whole) > 1e-6 * Math.max(1, count) || whole < 1) {
    throw new UsageError(option, `expected a whole count >= 1 such as 1000000 or 1M, got '${value}'`);
  }
  return whole;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** "11GiB", "32 GB", "512MiB" or a byte count (0 = no budget). */
export function parseBytes(option: string, value: unknown): number {
  if (typeof value === 'number') {
    if (value >= 0 && Number.isFinite(value)) return Math.floor(value);
    throw new UsageError(option, `expected a size such as 11GiB, got ${value}`);
  }
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i.exec(value) : null;
  if (!match) throw new UsageError(option, `expected a size such as 11GiB or 32GB, got ${describe(value)}`);
  return Math.floor(Number(match[1]) * BYTE_UNITS[(match[2] ?? 'B').toLowerCase()]);
}

/**
 * GPU memory as sold: a card marketed as "80GB" has 80 GiB (80 x 2^30 bytes), not 80 x 10^9.
 * --gpu-memory reads GB as SI (10^9, as documented, and as 32GB means in any other option), so
 * these sizes given in GB are probably meant as the card's GiB: warned about, never rewritten.
 */
export const GPU_MEMORY_AS_SOLD: Record<number, string> = {
  8: 'RTX 2080, RTX 3070',
  11: 'RTX 2080 Ti, GTX 1080 Ti',
  12: 'Titan V, RTX 3080 Ti',
  16: 'V100 16GB, T4',
  24: 'RTX 3090, RTX 4090, A10',
  32: 'V100 32GB',
  40: 'A100 40GB',
  48: 'RTX A6000, L40S',
  80: 'A100 80GB, H100 80GB',
  96: 'H100 NVL, GH200',
};

/** A byte count in both units: "80 GB (80,000,000,000 bytes, 74.51 GiB)". */
export function bytesInBothUnits(bytes: number): string {
  const gb = bytes / 1e9;
  const gib = bytes / 2 ** 30;
  const short = (v: number) => String(Number(v.toFixed(2)));
  return `${short(gb)} GB = ${short(gib)} GiB (${bytes.toLocaleString('en-US')} bytes; GB = 10^9, GiB = 2^30)`;
}

/** A warning when a budget is a GPU's marketed size in SI GB, which is probably meant as GiB. */
export function gpuMemoryUnitWarning(bytes: number): string | undefined {
  if (!(bytes > 0) || bytes % 1e9 !== 0) return undefined;
  const gb = bytes / 1e9;
  const cards = GPU_MEMORY_AS_SOLD[gb];
  if (!cards) return undefined;
  return `--gpu-memory ${gb}GB is ${gb} x 10^9 bytes (${(bytes / 2 ** 30).toFixed(2)} GiB): GB is SI here; a GPU sold as "${gb}GB" (${cards}) has ${gb} GiB = ${(gb * 2 ** 30).toLocaleString('en-US')} bytes, ${(((gb * 2 ** 30) / bytes - 1) * 100).toFixed(1)}% more: give --gpu-memory ${gb}GiB to model that card`;
}

/** A margin name, "s,m1,m2,m3", or {s, m1, m2, m3}. */
export function parseMargin(value: unknown, option = '--margin'): Margin {
  const names = Object.keys(MARGINS);
  if (typeof value === 'string') {
    const named = MARGINS[value];
    if (named) return { ...named };
    const parts = value.split(',');
    if (parts.length === 4 && parts.every((p) => NUMBER_TEXT.test(p))) {
      const [s, m1, m2, m3] = parts.map(Number);
      return { s, m1, m2, m3 };
    }
    throw new UsageError(option, `expected one of ${names.join(', ')} or "s,m1,m2,m3", got '${value}'${suggest(value, names)}`);
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const m = value as Record<string, unknown>;
    const keys = Object.keys(m);
    const extra = keys.find((k) => !['s', 'm1', 'm2', 'm3'].includes(k));
    if (extra !== undefined || keys.length !== 4 || !keys.every((k) => typeof m[k] === 'number' && Number.isFinite(m[k]))) {
      throw new UsageError(option, `expected {s, m1, m2, m3} with four finite numbers, got ${describe(value)}`);
    }
    return { s: m.s as number, m1: m.m1 as number, m2: m.m2 as number, m3: m.m3 as number };
  }
  throw new UsageError(option, `expected a margin name (${names.join(', ')}), "s,m1,m2,m3" or {s, m1, m2, m3}, got ${describe(value)}`);
}

function parseLabel(value: unknown, option: string): string {
  if (typeof value !== 'string') throw new UsageError(option, `expected a string, got ${describe(value)}`);
  return value;
}

function parsePublished(value: unknown, option: string): PublishedFigure {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(option, `expected {source, memoryMB?, imagesPerSecond?, largestClasses?}, got ${describe(value)}`);
  const p = value as Record<string, unknown>;
  if (typeof p.source !== 'string') throw new UsageError(`${option}.source`, 'expected a string naming the source');
  for (const k of Object.keys(p)) {
    if (k === 'source') continue;
    if (!['memoryMB', 'imagesPerSecond', 'largestClasses'].includes(k)) throw new UsageError(option, `unknown key '${k}'; allowed: source, memoryMB, imagesPerSecond, largestClasses`);
    if (typeof p[k] !== 'number' || !Number.isFinite(p[k])) throw new UsageError(`${option}.${k}`, `expected a number, got ${describe(p[k])}`);
  }
  return p as unknown as PublishedFigure;
}

/**
 * A built-in profile name, an old name of one (kept as given: it reads as the profile it
 * always was, and the run header notes the new name), or a profile file (checked now; kept as
 * its absolute path so every process finds it).
 */
function parseInterconnect(value: unknown, option: string): string {
  if (typeof value === 'string' && Object.hasOwn(INTERCONNECT_ALIASES, value)) return value;
  if (typeof value === 'string' && !(value in INTERCONNECTS) && isProfilePath(value)) {
    loadProfileFile(value);
    return resolve(value);
  }
  const names = Object.keys(INTERCONNECTS);
  if (typeof value === 'string' && names.includes(value)) return value;
  // A misspelled old name is suggested as itself (it still reads), and the list names the new ones.
  const hint = typeof value === 'string' ? suggest(value, [...names, ...Object.keys(INTERCONNECT_ALIASES)]) : '';
  throw new UsageError(option, `unknown value ${describe(value)}; expected one of ${names.join(', ')} (what each models: pfc-bench run --help), or a profile FILE from pfc-bench calibrate${hint}`);
}

/** Threads past this many per CPU core only slow a cell down (10000 threads ran 100x slower). */
export const MAX_THREADS_PER_CORE = 4;

/** 0 (all cores) or a thread count up to MAX_THREADS_PER_CORE x this machine's cores. */
function parseThreads(value: unknown, option: string): number {
  const n = parseInteger(0)(value, option) as number;
  const cores = availableParallelism();
  const max = MAX_THREADS_PER_CORE * cores;
  if (n > max) throw new UsageError(option, `expected at most ${max} threads (${MAX_THREADS_PER_CORE}x this machine's ${cores} CPU cores; 0: all cores), got ${n}`);
  return n;
}

/** A registered strategy; or, when a strategy module failed to load, any name (its cells become errors carrying the module's message). */
function parseStrategy(value: unknown, option: string): string {
  if (typeof value === 'string' && !STRATEGY_NAMES.includes(value) && unavailableStrategyReason(value) !== null && /^[a-z0-9][a-z0-9._-]{0,63}$/.test(value)) return value;
  return parseChoice(() => STRATEGY_NAMES)(value, option) as string;
}

/** '' (the descriptor's baseline) or a strategy name, as --strategy takes it. */
function parseBaseline(value: unknown, option: string): string {
  if (value === '') return '';
  return parseStrategy(value, option);
}

function field(key: string, flag: string | null, type: Field['type'], def: unknown, sweep: boolean, help: string, parse: Field['parse']): Field {
  return { key, flag, type, default: def, sweep, help, parse };
}

/** Every field of a cell, in help order. */
export const CELL_FIELDS: readonly Field[] = [
  field('strategy', 'strategy', 'string', 'partial-fc', true, `${STRATEGY_NAMES.join(' | ')} | one a --strategy-module adds`, parseStrategy),
  field('classes', 'classes', 'integer', 1_000_000, true, 'identities C over all GPUs (1000000, 1M, 125k)', (v, o) => parseCount(o, v)),
  field('gpus', 'gpus', 'integer', 8, true, 'GPUs (ranks) N (1 in single mode)', parseInteger(1)),
  field('batch', 'batch', 'integer', 1024, true, 'global batch B (divisible by --gpus)', parseInteger(1)),
  field('dim', 'dim', 'integer', 512, true, 'embedding dimension D', parseInteger(1)),
  field('sampleRate', 'sample-rate', 'number', 0.1, true, 'Partial FC sample rate rho in (0, 1]; other strategies use every centre', parseNumber(Number.MIN_VALUE, 1, 'in (0, 1]')),
  field('update', 'update', 'string', 'sparse', true, `${UPDATE_KINDS.join(' | ')} (sparse: seed, v1; dense: arcface_torch, v2; lazy-dense: ours, dense's result at sparse cost)`, parseChoice(() => UPDATE_KINDS)),
  field('logits', 'logits', 'string', 'materialized', true, `${LOGITS_KINDS.join(' | ')} (materialized: the B x C logits stored; fused: ours, tiles of --tile centres, logits recomputed)`, parseChoice(() => LOGITS_KINDS)),
  field('tile', 'tile', 'integer', 0, true, 'fused: active centres per tile (0: as few equal tiles as a 64 MiB scratch allows)', parseInteger(0)),
  field('margin', 'margin', 'object', 'cosface', false, `${Object.keys(MARGINS).join(' | ')} | "s,m1,m2,m3"`, (v, o) => parseMargin(v, o)),
  field('dtype', 'dtype', 'string', 'fp32', true, `${STORAGE_DTYPES.filter((d) => d !== 'fp16').join(' | ')} storage of normalized features, active centres and logits, fp32 math, on either backend (fp16 is refused: its gradient underflows, docs/design.md)`, parseChoice(() => STORAGE_DTYPES)),
  field('mode', 'mode', 'string', 'emulate', true, 'emulate (one rank of N) | single (one rank) | real (under mpirun) | predict (no kernel: predicted on --target)', parseChoice(() => RUN_MODES)),
  field('target', 'target', 'string', '', true, `predict: the GPU, ${builtinTargetNames().join(' | ')} | a target FILE (bench/targets/*.json's shape)`, parseTargetField),
  field('backbone', 'backbone', 'string', 'none', true, `predict: ${BACKBONE_CHOICES.join(' | ')} (iresnet50/100 at 112x112, fp16 autocast, with the FC: whole training; none: the FC alone)`, (v, o) => parseBackbone(typeof v === 'string' ? v : describe(v), o)),
  field('reserve', 'reserve', 'integer', 0, false, 'predict: per-GPU bytes for anything else (CUDA context, data loader, ...), e.g. 1GiB', (v, o) => parseBytes(o, v)),
  field('rank', 'rank', 'integer', 0, true, 'the rank to emulate', parseInteger(0)),
  field('backend', 'backend', 'string', 'auto', false, `${BACKEND_CHOICES.join(' | ')} (cuda-sim: the CUDA kernels simulated on the CPU, to test them; its times mean nothing; never chosen by auto)`, parseChoice(() => BACKEND_CHOICES)),
  field('steps', 'steps', 'integer', 3, false, 'measured steps per trial', parseInteger(1)),
  field('warmup', 'warmup', 'integer', 1, false, 'discarded warm-up steps', parseInteger(0)),
  field('trials', 'trials', 'integer', 1, false, 'trials (compare needs at least 3)', parseInteger(1)),
  field('interconnect', 'interconnect', 'string', 'pcie3-8gpu-1xedr', true, `communication model profile, named link-GPUs per node-NICs per node (what each models: pfc-bench run --help): ${Object.keys(INTERCONNECTS).join(' | ')} | a profile FILE from pfc-bench calibrate (old names ${Object.keys(INTERCONNECT_ALIASES).join(', ')} still read)`, parseInterconnect),
  field('gpusPerNode', 'gpus-per-node', 'integer', 0, false, 'GPUs per node for the communication model; divides --gpus when --gpus is larger (0: the profile default, 8)', parseInteger(0)),
  field('gpuMemory', 'gpu-memory', 'integer', 0, true, 'per-GPU memory budget: 80GiB = 80 x 2^30 bytes, what a GPU sold as "80GB" has; GB, MB, TB are SI (80GB = 80 x 10^9 bytes, 7% less), KiB, MiB, GiB, TiB binary (0: none; allocations past it are out of memory)', (v, o) => parseBytes(o, v)),
  field('seed', 'seed', 'integer', 1, true, 'random seed; same seed, same samples', parseInteger(0)),
  field('threads', 'threads', 'integer', 0, true, `CPU threads (0: all cores; at most ${MAX_THREADS_PER_CORE}x the cores)`, parseThreads),
  field('lr', 'lr', 'number', DEFAULT_SGD.lr, false, 'SGD learning rate', parseNumber(0)),
  field('momentum', 'momentum', 'number', DEFAULT_SGD.momentum, false, 'SGD momentum in [0, 1)', parseNumber(0, 1 - Number.EPSILON, 'in [0, 1)')),
  field('weightDecay', 'weight-decay', 'number', DEFAULT_SGD.weightDecay, false, 'SGD weight decay', parseNumber(0)),
  field('label', 'label', 'string', '', false, 'a tag shown in reports', parseLabel),
  field('baseline', 'baseline', 'string', '', false, "the strategy this cell's report ratio rows divide by ('': its descriptor's, model-parallel unless it names another)", parseBaseline),
  field('published', null, 'object', undefined, false, 'the published figure this cell reproduces (scenario files only)', parsePublished),
];

export const FIELD_NAMES: readonly string[] = CELL_FIELDS.map((f) => f.key);

const BY_KEY = new Map(CELL_FIELDS.map((f) => [f.key, f]));

/** The option a field's errors name: its flag, or its scenario key when it has none. */
export function optionName(f: Field): string {
  return f.flag ? `--${f.flag}` : f.key;
}

/** Built-in defaults, from the table. */
export function builtinDefaults(): Record<string, unknown> {
  return Object.fromEntries(CELL_FIELDS.filter((f) => f.default !== undefined).map((f) => [f.key, f.default]));
}

/** Parses one field's value (CLI string or scenario JSON value); errors name the flag. */
export function parseField(key: string, value: unknown): unknown {
  const f = BY_KEY.get(key);
  if (!f) throw new UsageError(key, `unknown field${suggest(key, FIELD_NAMES)}`);
  return f.parse(value, optionName(f));
}

/** The results' config schema (JSON-schema style), generated from the table. */
export function cellConfigSchema(): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(CELL_FIELDS.map((f) => [f.key, { type: f.type, description: f.help, ...(f.default !== undefined ? { default: f.default } : {}) }])),
  };
}
