/**
 * Scenarios as data: a JSON file under bench/scenarios with defaults, explicit cells and/or a
 * matrix (the cross product of listed values). Every key is checked, misspellings are named,
 * and command-line overrides apply to every cell.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packageRoot } from '../core/binding.js';
import { UsageError, suggest } from '../core/errors.js';
import { UPDATE_KINDS, STORAGE_DTYPES, requireChoice, validateFcShapes, type LogitsKind, type StorageDType, type UpdateKind } from '../strategies/config.js';
import { findStrategy, strategyOf, validateFcConfig } from '../strategies/registry.js';
import { unavailableStrategyReason } from '../strategies/modules.js';
import type { Margin } from '../core/binding.js';
import { FIELD_NAMES, RUN_MODES, builtinDefaults, parseField, parseBytes, parseCount } from './fields.js';
import type { CellSpec, PublishedFigure, RunMode } from './results.js';
import { builtinTargetNames } from '../predict/targets.js';

export { RUN_MODES, FIELD_NAMES, parseBytes, parseCount };

/** The user-facing fields of a cell (scenario keys; CLI flags are their kebab-case; see fields.ts). */
export interface CellFields {
  strategy?: string;
  classes?: number | string;
  gpus?: number;
  batch?: number;
  dim?: number;
  sampleRate?: number;
  update?: string;
  /** materialized (default) | fused (the logit-free step), and fused's tile (0: from the scratch budget). */
  logits?: string;
  tile?: number;
  margin?: string | Margin;
  dtype?: string;
  mode?: string;
  target?: string;
  backbone?: string;
  reserve?: string | number;
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
  baseline?: string;
  published?: PublishedFigure;
}

/** A field swept from the command line: every cell runs once per value. */
export type Sweeps = Record<string, unknown[]>;

export interface Scenario {
  name: string;
  description: string;
  file?: string;
  defaults: CellFields;
  cells: CellFields[];
  matrix?: Record<string, unknown[]>;
  /** Strategy modules the scenario's cells use, relative to the scenario file's folder (loaded before it is parsed: run-args.ts loadRunModules). */
  strategyModules?: string[];
}

const SCENARIO_KEYS = ['name', 'description', 'defaults', 'cells', 'matrix', 'strategyModules'];
/** A scenario's name names its results file under reports/: no folders, no hidden files. */
const SCENARIO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function scenarioDir(): string {
  return join(packageRoot(), 'bench', 'scenarios');
}

export function builtinScenarioNames(): string[] {
  const dir = scenarioDir();
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort() : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(where: string, object: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new UsageError(where, `unknown key '${key}'${suggest(key, allowed)}; allowed keys: ${allowed.join(', ')}`);
    }
  }
}

/** Checks a cell object's keys and parses each value with the field table (errors name the flag). */
function checkCell(where: string, value: unknown): CellFields {
  if (!isObject(value)) throw new UsageError(where, `expected an object of cell fields, got ${JSON.stringify(value)}`);
  checkKeys(where, value, FIELD_NAMES);
  for (const [k, v] of Object.entries(value)) parseField(k, v);
  return value as CellFields;
}

export function parseScenario(data: unknown, file?: string): Scenario {
  const where = file ?? 'scenario';
  if (!isObject(data)) throw new UsageError(where, 'expected a JSON object');
  checkKeys(where, data, SCENARIO_KEYS);
  if (typeof data.name !== 'string' || !SCENARIO_NAME.test(data.name)) {
    throw new UsageError(`${where}: name`, `expected a name of letters, digits, '.', '_' or '-' (it names the results file), got ${JSON.stringify(data.name)}`);
  }
  if (data.description !== undefined && typeof data.description !== 'string') throw new UsageError(`${where}: description`, 'expected a string');
  const defaults = checkCell(`${where}: defaults`, data.defaults ?? {});
  if (data.cells !== undefined && !Array.isArray(data.cells)) throw new UsageError(`${where}: cells`, 'expected an array of cell objects');
  const cells = ((data.cells ?? []) as unknown[]).map((c, i) => checkCell(`${where}: cells[${i}]`, c));
  let matrix: Record<string, unknown[]> | undefined;
  if (data.matrix !== undefined) {
    if (!isObject(data.matrix)) throw new UsageError(`${where}: matrix`, `expected an object of field: [values], got ${JSON.stringify(data.matrix)}`);
    checkKeys(`${where}: matrix`, data.matrix, FIELD_NAMES);
    matrix = {};
    for (const [k, v] of Object.entries(data.matrix)) {
      if (!Array.isArray(v) || v.length === 0) throw new UsageError(`${where}: matrix.${k}`, 'expected a non-empty array of values');
      for (const item of v) parseField(k, item);
      matrix[k] = v;
    }
  }
  if (cells.length === 0 && !matrix) throw new UsageError(where, 'a scenario needs cells, a matrix, or both');
  const modules = data.strategyModules;
  if (modules !== undefined && !(Array.isArray(modules) && modules.every((m) => typeof m === 'string' && m !== ''))) {
    throw new UsageError(`${where}: strategyModules`, `expected an array of module paths or package names, got ${JSON.stringify(modules)}`);
  }
  return { name: data.name, description: String(data.description ?? ''), file, defaults, cells, matrix, ...(modules ? { strategyModules: modules as string[] } : {}) };
}

/** The file of a built-in scenario name or a scenario path; undefined when there is none. */
export function scenarioFile(nameOrPath: string): string | undefined {
  const builtin = join(scenarioDir(), `${nameOrPath}.json`);
  const path = SCENARIO_NAME.test(nameOrPath) && existsSync(builtin) ? builtin : nameOrPath;
  return existsSync(path) ? path : undefined;
}

/** A built-in scenario by name, or a JSON file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const path = scenarioFile(nameOrPath) ?? nameOrPath;
  if (!existsSync(path)) {
    const names = builtinScenarioNames();
    throw new UsageError('--scenario', `no built-in scenario or file '${nameOrPath}'; built-in: ${names.join(', ')}${suggest(nameOrPath, names)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError('--scenario', `${path} is not a readable JSON file: ${(error as Error).message}`);
  }
  return parseScenario(data, path);
}

function crossProduct(matrix: Record<string, unknown[]>): Record<string, unknown>[] {
  let rows: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    rows = rows.flatMap((row) => values.map((v) => ({ ...row, [key]: v })));
  }
  return rows;
}

/**
 * The scenario's cells: defaults < cell < overrides, each resolved and validated; `sweeps`
 * (comma lists on the command line) multiply every cell, as a matrix in a scenario file does.
 * A label belongs to the cell it was written for: when an override or sweep changes a field
 * the cell set itself, the label (and published figure) no longer describes it and is dropped;
 * cells that come out measuring the same thing are run once (the first, with its label).
 */
export function expandScenario(scenario: Scenario, overrides: CellFields = {}, sweeps: Sweeps = {}): CellSpec[] {
  const base: Record<string, unknown>[] = scenario.cells.length ? (scenario.cells as Record<string, unknown>[]) : [{}];
  const rows = scenario.matrix ? base.flatMap((cell) => crossProduct(scenario.matrix!).map((m) => ({ ...cell, ...m }))) : base;
  const changes = crossProduct(sweeps).map((sweep) => ({ ...(overrides as Record<string, unknown>), ...sweep }));
  const specs: CellSpec[] = [];
  const seen = new Set<string>();
  const seenMeasured = new Set<string>();
  for (const row of rows) {
    for (const change of changes) {
      const staleLabel = Object.keys(change).some((k) => k !== 'label' && k in row && JSON.stringify(row[k]) !== JSON.stringify(change[k]));
      const explicit: Record<string, unknown> = { ...scenario.defaults, ...row, ...change };
      if (staleLabel && !('label' in change)) delete explicit.label;
      if (staleLabel) delete explicit.published; // a published figure is of the cell as written
      // Single mode is one rank: an unset --gpus means 1, not the 8 of the built-in defaults.
      if (explicit.mode === 'single' && explicit.gpus === undefined) explicit.gpus = 1;
      const spec = resolveCell({ ...builtinDefaults(), ...explicit } as CellFields);
      const { label: _label, published: _published, ...measured } = spec;
      const full = JSON.stringify(spec);
      const same = JSON.stringify(measured);
      // Cells written apart stay apart; a cell an override made equal to another is run once.
      if (seen.has(full) || (staleLabel && seenMeasured.has(same))) continue;
      seen.add(full);
      seenMeasured.add(same);
      specs.push(spec);
    }
  }
  return specs;
}

/** --logits and --tile; a materialized spec carries neither, so its id and results are unchanged. */
function fusedLogitsFields(logits: LogitsKind, tile: number): { logits?: 'fused'; tile?: number } {
  if (logits === 'materialized') {
    if (tile > 0) throw new UsageError('--tile', 'a tile applies only with --logits fused');
    return {};
  }
  return { logits, tile };
}

/**
 * --target, --backbone and --reserve: required (target) and kept in predict mode only; given in
 * another mode, a UsageError (nothing there is predicted).
 */
function predictionFields(mode: RunMode, f: CellFields, value: <T>(key: keyof CellFields) => T): Pick<CellSpec, 'target' | 'backbone' | 'reserveBytes'> {
  const target = value<string>('target');
  const backbone = value<string>('backbone');
  const reserveBytes = value<number>('reserve');
  if (mode !== 'predict') {
    const given = target !== '' ? '--target' : backbone !== 'none' ? '--backbone' : reserveBytes !== 0 ? '--reserve' : undefined;
    if (given) throw new UsageError(given, `applies to --mode predict (and pfc-bench plan) only; this cell's mode is ${mode}`);
    return {};
  }
  if (target === '') throw new UsageError('--target', `--mode predict needs a GPU target: one of ${builtinTargetNames().join(', ')} or a target FILE`);
  return { target, backbone, reserveBytes };
}

/** Turns user fields into a validated CellSpec; every error names the option. */
export function resolveCell(f: CellFields): CellSpec {
  const value = <T>(key: keyof CellFields): T => parseField(key, f[key]) as T;
  const name = String(f.strategy ?? builtinDefaults().strategy);
  // A strategy whose module failed to load: the cell is kept (the sweep records it as an error
  // carrying the module's message) and checked for what does not depend on the strategy.
  const unavailable = !findStrategy(name) && unavailableStrategyReason(name) !== null;
  const strategy = unavailable ? undefined : strategyOf(value<string>('strategy'));
  const mode = value<RunMode>('mode');
  const ranks = value<number>('gpus');
  // A scenario's default sample rate applies to the strategies that sample; the others use every centre.
  const sampleRate = !strategy || strategy.samples ? value<number>('sampleRate') : 1;
  const validate = unavailable ? validateFcShapes : validateFcConfig;
  const config = validate({
    strategy: strategy?.name ?? name,
    classes: value<number>('classes'),
    ranks,
    batch: value<number>('batch'),
    dim: value<number>('dim'),
    sampleRate,
    update: requireChoice('--update', value<string>('update'), UPDATE_KINDS) as UpdateKind,
    margin: value<Margin>('margin'),
    sgd: { lr: value<number>('lr'), momentum: value<number>('momentum'), weightDecay: value<number>('weightDecay') },
    seed: value<number>('seed'),
    dtype: requireChoice('--dtype', value<string>('dtype'), STORAGE_DTYPES) as StorageDType,
    ...fusedLogitsFields(value<LogitsKind>('logits'), value<number>('tile')),
  });
  const rank = value<number>('rank');
  if (rank >= ranks) throw new UsageError('--rank', `rank ${rank} is outside 0..${ranks - 1} for ${ranks} GPUs`);
  if (mode === 'single' && ranks !== 1) throw new UsageError('--mode', `single mode runs one rank; use --gpus 1 or --mode emulate (got --gpus ${ranks})`);
  // The communication model splits the ranks over whole nodes: N ranks past one node fill N / n nodes.
  const gpusPerNode = value<number>('gpusPerNode');
  if (gpusPerNode > 0 && ranks > gpusPerNode && ranks % gpusPerNode !== 0) {
    throw new UsageError('--gpus-per-node', `${gpusPerNode} GPUs per node does not divide --gpus ${ranks} (the GPUs fill whole nodes); expected a divisor of ${ranks}, a count >= ${ranks} (one node), or 0 for the profile's default`);
  }
  return {
    ...config,
    mode,
    ...predictionFields(mode, f, value),
    rank,
    backend: value<CellSpec['backend']>('backend'),
    steps: value<number>('steps'),
    warmup: value<number>('warmup'),
    trials: value<number>('trials'),
    interconnect: value<string>('interconnect'),
    gpusPerNode,
    memoryBudget: value<number>('gpuMemory'),
    threads: value<number>('threads'),
    label: f.label === undefined ? '' : value<string>('label'),
    // Set only when given: a spec without it (and its id) is what it was before the field.
    ...(f.baseline ? { baseline: value<string>('baseline') } : {}),
    ...(f.published ? { published: value<PublishedFigure>('published') } : {}),
  };
}
