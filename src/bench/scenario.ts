/**
 * Scenarios as data: a JSON file under bench/scenarios with defaults, explicit cells and/or a
 * matrix (the cross product of listed values). Every key is checked, misspellings are named,
 * and command-line overrides apply to every cell.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packageRoot } from '../core/binding.js';
import { UsageError, suggest } from '../core/errors.js';
import { BACKEND_CHOICES } from '../core/backend.js';
import { MARGINS, STRATEGY_NAMES, UPDATE_KINDS, STORAGE_DTYPES, DEFAULT_SGD, LOGITS_KINDS, requireChoice, validateFcConfig } from '../strategies/config.js';
import { INTERCONNECTS } from '../model/comm.js';
import type { CellSpec, PublishedFigure, RunMode } from './results.js';

export const RUN_MODES: readonly RunMode[] = ['single', 'emulate', 'real'];

/** The user-facing fields of a cell (scenario keys; CLI flags are their kebab-case). */
export interface CellFields {
  strategy?: string;
  classes?: number | string;
  gpus?: number;
  batch?: number;
  dim?: number;
  sampleRate?: number;
  update?: string;
  /** issue 14: materialized (default) | fused, and fused's tile (0: from the scratch budget). */
  logits?: string;
  tile?: number;
  margin?: string | { s: number; m1: number; m2: number; m3: number };
  dtype?: string;
  mode?: string;
  rank?: number;
  backend?: string;
  steps?: number;
  warmup?: number;
  trials?: number;
  interconnect?: string;
  gpusPerNode?: number;
  gpuMemory?: string | number;
  seed?: number;
  threads?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  label?: string;
  published?: PublishedFigure;
}

export const FIELD_NAMES = [
  'strategy', 'classes', 'gpus', 'batch', 'dim', 'sampleRate', 'update', 'margin', 'dtype', 'mode', 'rank', 'backend',
  'steps', 'warmup', 'trials', 'interconnect', 'gpusPerNode', 'gpuMemory', 'seed', 'threads', 'lr', 'momentum',
  'weightDecay', 'label', 'published', 'logits', 'tile',
] as const;

export const BUILTIN_DEFAULTS: Required<Omit<CellFields, 'published' | 'label'>> & { label: string } = {
  strategy: 'partial-fc',
  classes: 1_000_000,
  gpus: 8,
  batch: 1024,
  dim: 512,
  sampleRate: 0.1,
  update: 'sparse',
  logits: 'materialized',
  tile: 0,
  margin: 'cosface',
  dtype: 'fp32',
  mode: 'emulate',
  rank: 0,
  backend: 'auto',
  steps: 3,
  warmup: 1,
  trials: 1,
  interconnect: 'pcie-gen3',
  gpusPerNode: 0,
  gpuMemory: 0,
  seed: 1,
  threads: 0,
  lr: DEFAULT_SGD.lr,
  momentum: DEFAULT_SGD.momentum,
  weightDecay: DEFAULT_SGD.weightDecay,
  label: '',
};

export interface Scenario {
  name: string;
  description: string;
  file?: string;
  defaults: CellFields;
  cells: CellFields[];
  matrix?: Record<string, unknown[]>;
}

const SCENARIO_KEYS = ['name', 'description', 'defaults', 'cells', 'matrix'];

export function scenarioDir(): string {
  return join(packageRoot(), 'bench', 'scenarios');
}

export function builtinScenarioNames(): string[] {
  const dir = scenarioDir();
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort() : [];
}

/** Parses "11GiB", "32 GB", "512MiB" or a byte count. */
export function parseBytes(option: string, value: string | number): number {
  if (typeof value === 'number') {
    if (value >= 0 && Number.isFinite(value)) return Math.floor(value);
    throw new UsageError(option, `expected a size such as 11GiB, got ${value}`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$/i.exec(value);
  if (!match) throw new UsageError(option, `expected a size such as 11GiB or 32GB, got '${value}'`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.floor(Number(match[1]) * units[(match[2] ?? 'B').toLowerCase()]);
}

/** Parses 1000000, "1M", "10M", "125k". */
export function parseCount(option: string, value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$/.exec(value);
  if (!match) throw new UsageError(option, `expected a count such as 1000000 or 1M, got '${value}'`);
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * scale);
}

function checkKeys(where: string, object: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new UsageError(where, `unknown key '${key}'${suggest(key, allowed)}; allowed keys: ${allowed.join(', ')}`);
    }
  }
}

export function parseScenario(data: unknown, file?: string): Scenario {
  const where = file ?? 'scenario';
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(where, 'expected a JSON object');
  const raw = data as Record<string, unknown>;
  checkKeys(where, raw, SCENARIO_KEYS);
  if (typeof raw.name !== 'string' || !raw.name) throw new UsageError(`${where}: name`, 'expected a non-empty string');
  const defaults = (raw.defaults ?? {}) as CellFields;
  checkKeys(`${where}: defaults`, defaults as Record<string, unknown>, FIELD_NAMES);
  const cells = (raw.cells ?? []) as CellFields[];
  if (!Array.isArray(cells)) throw new UsageError(`${where}: cells`, 'expected an array of cell objects');
  cells.forEach((c, i) => checkKeys(`${where}: cells[${i}]`, c as Record<string, unknown>, FIELD_NAMES));
  const matrix = raw.matrix as Record<string, unknown[]> | undefined;
  if (matrix !== undefined) {
    checkKeys(`${where}: matrix`, matrix, FIELD_NAMES);
    for (const [k, v] of Object.entries(matrix)) {
      if (!Array.isArray(v) || v.length === 0) throw new UsageError(`${where}: matrix.${k}`, 'expected a non-empty array of values');
    }
  }
  if (cells.length === 0 && !matrix) throw new UsageError(where, 'a scenario needs cells, a matrix, or both');
  return { name: raw.name, description: String(raw.description ?? ''), file, defaults, cells, matrix };
}

/** A built-in scenario by name, or a JSON file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const builtin = join(scenarioDir(), `${nameOrPath}.json`);
  const path = existsSync(builtin) ? builtin : nameOrPath;
  if (!existsSync(path)) {
    const names = builtinScenarioNames();
    throw new UsageError('--scenario', `no built-in scenario or file '${nameOrPath}'; built-in: ${names.join(', ')}${suggest(nameOrPath, names)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError('--scenario', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseScenario(data, path);
}

function crossProduct(matrix: Record<string, unknown[]>): CellFields[] {
  let rows: CellFields[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    rows = rows.flatMap((row) => values.map((v) => ({ ...row, [key]: v })));
  }
  return rows;
}

/** The scenario's cells: defaults < cell < overrides, each resolved and validated. */
export function expandScenario(scenario: Scenario, overrides: CellFields = {}): CellSpec[] {
  const base = scenario.cells.length ? scenario.cells : [{}];
  const rows = scenario.matrix ? base.flatMap((cell) => crossProduct(scenario.matrix!).map((m) => ({ ...cell, ...m }))) : base;
  return rows.map((row) => resolveCell({ ...BUILTIN_DEFAULTS, ...scenario.defaults, ...row, ...overrides }));
}

function requireNumber(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new UsageError(option, `expected a number, got ${JSON.stringify(value)}`);
  return value;
}

function requireInt(option: string, value: unknown, min: number): number {
  const n = requireNumber(option, value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(option, `expected an integer >= ${min}, got ${n}`);
  return n;
}

export function resolveMargin(value: CellFields['margin']): CellSpec['margin'] {
  if (typeof value === 'string') {
    const named = MARGINS[value];
    if (named) return { ...named };
    const parts = value.split(',').map(Number);
    if (parts.length === 4 && parts.every(Number.isFinite)) return { s: parts[0], m1: parts[1], m2: parts[2], m3: parts[3] };
    const names = Object.keys(MARGINS);
    throw new UsageError('--margin', `expected one of ${names.join(', ')} or "s,m1,m2,m3", got '${value}'${suggest(value, names)}`);
  }
  if (value && typeof value === 'object') return { s: value.s, m1: value.m1, m2: value.m2, m3: value.m3 };
  throw new UsageError('--margin', 'expected a margin name or {s, m1, m2, m3}');
}

/** issue 14: --logits and --tile; a materialized spec carries neither (its results are unchanged). */
function fusedLogitsFields(f: CellFields): { logits?: 'fused'; tile?: number } {
  const logits = requireChoice('--logits', String(f.logits ?? 'materialized'), LOGITS_KINDS);
  const tile = requireInt('--tile', f.tile ?? 0, 0);
  if (logits === 'materialized') {
    if (tile > 0) throw new UsageError('--tile', 'a tile applies only with --logits fused');
    return {};
  }
  return { logits, tile };
}

/** Turns user fields into a validated CellSpec; every error names the option. */
export function resolveCell(f: CellFields): CellSpec {
  const strategy = requireChoice('--strategy', String(f.strategy), STRATEGY_NAMES);
  const mode = requireChoice('--mode', String(f.mode), RUN_MODES);
  const ranks = requireInt('--gpus', f.gpus, 1);
  // A scenario's default sample rate applies to Partial FC; the other strategies use every centre.
  const sampleRate = strategy === 'partial-fc' ? requireNumber('--sample-rate', f.sampleRate) : 1;
  const interconnectName = String(f.interconnect);
  if (!INTERCONNECTS[interconnectName]) {
    const names = Object.keys(INTERCONNECTS);
    throw new UsageError('--interconnect', `unknown profile '${interconnectName}'; expected one of ${names.join(', ')}${suggest(interconnectName, names)}`);
  }
  const config = validateFcConfig({
    strategy,
    classes: parseCount('--classes', f.classes as number | string),
    ranks,
    batch: requireInt('--batch', f.batch, 1),
    dim: requireInt('--dim', f.dim, 1),
    sampleRate,
    update: requireChoice('--update', String(f.update), UPDATE_KINDS),
    margin: resolveMargin(f.margin),
    sgd: { lr: requireNumber('--lr', f.lr), momentum: requireNumber('--momentum', f.momentum), weightDecay: requireNumber('--weight-decay', f.weightDecay) },
    seed: requireInt('--seed', f.seed, 0),
    dtype: requireChoice('--dtype', String(f.dtype), STORAGE_DTYPES),
    ...fusedLogitsFields(f),
  });
  const rank = requireInt('--rank', f.rank, 0);
  if (rank >= ranks) throw new UsageError('--rank', `rank ${rank} is outside 0..${ranks - 1} for ${ranks} GPUs`);
  if (mode === 'single' && ranks !== 1) throw new UsageError('--mode', `single mode runs one rank; use --gpus 1 or --mode emulate (got --gpus ${ranks})`);
  return {
    ...config,
    mode,
    rank,
    backend: requireChoice('--backend', String(f.backend), BACKEND_CHOICES),
    steps: requireInt('--steps', f.steps, 1),
    warmup: requireInt('--warmup', f.warmup, 0),
    trials: requireInt('--trials', f.trials, 1),
    interconnect: interconnectName,
    gpusPerNode: requireInt('--gpus-per-node', f.gpusPerNode, 0),
    memoryBudget: parseBytes('--gpu-memory', f.gpuMemory ?? 0),
    threads: requireInt('--threads', f.threads, 0),
    label: String(f.label ?? ''),
    ...(f.published ? { published: f.published } : {}),
  };
}
