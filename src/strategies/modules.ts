/**
 * Strategy modules: ES modules from outside the repository that export strategy descriptors
 * (--strategy-module PATH|PACKAGE, a scenario's strategyModules; docs/strategy-modules.md). A
 * module's strategies join the registry for the run. Loading one checks, in this order, each
 * failure an error naming the module:
 *   1. it resolves and imports (a file, a package folder, or a package name under node_modules);
 *   2. it exports `apiVersion` equal to STRATEGY_API_VERSION and at least one descriptor (the
 *      default export, a `strategies` array, or any named export that is one);
 *   3. each descriptor has every field of StrategyDescriptor, of the right type;
 *   4. no descriptor reuses a registered name (built-in or another module's);
 *   5. every capability it declares holds on its first example (harness.ts capabilityFailures):
 *      each declared update and logits mode matches the float64 reference for two steps, its
 *      memory model byte for byte and its declared collectives on the CPU. A lazy-dense that runs sparse, or a fused mode
 *      that allocates the materialized logits, fails here, before any cell runs.
 * A module that fails is recorded (moduleFailures); a run goes on with the rest, its cells
 * that name an unavailable strategy becoming error cells that carry the module's message.
 * Each loaded module is recorded with its path, package name and version, and the SHA-256 of
 * its file (results files keep them: compare notes a changed module as a changed revision).
 * Child processes (one per cell) load the same modules from PFC_STRATEGY_MODULES.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../core/errors.js';
import { packageRoot } from '../core/binding.js';
import { LOGITS_KINDS, UPDATE_KINDS } from './config.js';
import type { StrategyDescriptor } from './descriptor.js';
import { capabilityFailures } from './harness.js';
import { findStrategy, registerStrategy, strategyDescriptors, unregisterStrategy } from './registry.js';

/** The strategy API's version a module must export as `apiVersion` (pfc-bench/strategy). */
export const STRATEGY_API_VERSION = 1;

/** The environment variable that hands the loaded modules' paths to child processes (JSON array). */
export const STRATEGY_MODULES_ENV = 'PFC_STRATEGY_MODULES';

const OPTION = '--strategy-module';

/** A loaded module, as results files record it. */
export interface StrategyModuleRecord {
  /** As given (a path or a package name). */
  specifier: string;
  /** The module file imported (absolute). */
  path: string;
  /** The same file relative to pfc-bench's folder, when it lies inside it (an example module): found again in another checkout. */
  inPackage?: string;
  /** The nearest package.json's name and version ('' when none). */
  package: string;
  version: string;
  /** SHA-256 of the module file, hex. */
  sha256: string;
  /** The strategies it registered. */
  strategies: string[];
}

export interface StrategyModuleFailure {
  specifier: string;
  message: string;
}

const loaded = new Map<string, StrategyModuleRecord>();
const failures: StrategyModuleFailure[] = [];
/** Specifiers already tried, by (base folder, specifier): a module loads once per process. */
const tried = new Map<string, StrategyModuleRecord | StrategyModuleFailure>();

export function loadedStrategyModules(): StrategyModuleRecord[] {
  return [...loaded.values()];
}

export function moduleFailures(): readonly StrategyModuleFailure[] {
  return failures;
}

/** Whether a specifier was loaded, or tried and failed, from `base` in this process. */
export function strategyModuleTried(specifier: string, base = process.cwd()): boolean {
  return tried.has(`${base}\u0000${specifier}`);
}

/** The module a strategy came from, or undefined for a built-in one. */
export function moduleOfStrategy(name: string): StrategyModuleRecord | undefined {
  return loadedStrategyModules().find((m) => m.strategies.includes(name));
}

/** Why a strategy name no module provides may be missing: the modules that failed, in one line (null when none did). */
export function unavailableStrategyReason(name: string): string | null {
  if (!failures.length) return null;
  return `strategy '${name}' is not registered; ${failures.map((f) => `${OPTION} ${f.specifier} failed: ${f.message}`).join('; ')}`;
}

function looksLikePath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier) || /\.(m?js|cjs)$/.test(specifier);
}

/** The file a package folder's package.json names for import (exports '.', then main, then index.js). */
function packageEntry(dir: string, specifier: string): string {
  const pkgPath = join(dir, 'package.json');
  if (!existsSync(pkgPath)) {
    const index = join(dir, 'index.js');
    if (existsSync(index)) return index;
    throw new Error(`${dir} is a folder without package.json or index.js`);
  }
  let pkg: { exports?: unknown; main?: string };
  try {
    pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  } catch (error) {
    throw new Error(`${pkgPath} is not readable JSON (${(error as Error).message})`);
  }
  const pick = (e: unknown): string | undefined => {
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object') {
      const o = e as Record<string, unknown>;
      return pick(o['.'] ?? o.import ?? o.default ?? o.node);
    }
    return undefined;
  };
  const entry = pick(pkg.exports) ?? pkg.main ?? 'index.js';
  const file = resolve(dir, entry);
  if (!existsSync(file)) throw new Error(`package ${specifier}: its entry ${entry} (${file}) does not exist (is it built?)`);
  return file;
}

/** The module file a specifier names, relative to `base` (a path) or under base's node_modules (a package). */
export function resolveStrategyModule(specifier: string, base = process.cwd()): string {
  if (looksLikePath(specifier) || existsSync(resolve(base, specifier))) {
    const path = resolve(base, specifier);
    if (!existsSync(path)) throw new Error(`no file or folder ${path}`);
    return statSync(path).isDirectory() ? packageEntry(path, specifier) : path;
  }
  for (let dir = resolve(base); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', specifier);
    if (existsSync(candidate)) return packageEntry(candidate, specifier);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`no file ${resolve(base, specifier)} and no package '${specifier}' under node_modules from ${resolve(base)} up`);
}

function nearestPackage(file: string): { name: string; version: string } {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkgPath = join(dir, 'package.json');
    if (existsSync(pkgPath)) {
      try {
        const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { name?: string; version?: string };
        return { name: String(pkg.name ?? ''), version: String(pkg.version ?? '') };
      } catch {
        return { name: '', version: '' };
      }
    }
    if (dirname(dir) === dir) return { name: '', version: '' };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const looksLikeDescriptor = (v: unknown): boolean => isObject(v) && typeof v.name === 'string' && typeof v.create === 'function';

/** The descriptors a module exports: its default export (one or an array), `strategies`, and any named export that is one. */
function exportedDescriptors(namespace: Record<string, unknown>): unknown[] {
  const found: unknown[] = [];
  const add = (v: unknown) => {
    for (const item of Array.isArray(v) ? v : [v]) if (looksLikeDescriptor(item) && !found.includes(item)) found.push(item);
  };
  add(namespace.default);
  add(namespace.strategies);
  for (const [key, value] of Object.entries(namespace)) if (key !== 'default' && key !== 'strategies') add(value);
  return found;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const FUNCTIONS = ['create', 'memory', 'work', 'collectives', 'kernelShapes', 'gemmRows', 'title', 'label', 'sortKey'] as const;

/** What is wrong with a descriptor's fields (empty when nothing is). */
export function descriptorProblems(d: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const subset = (key: string, allowed: readonly string[]) => {
    const v = d[key];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => allowed.includes(x as string))) problems.push(`${key} must be a non-empty array of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  };
  if (typeof d.name !== 'string' || !NAME.test(d.name)) problems.push(`name must be lower-case letters, digits, '.', '_' or '-' (it is the --strategy value), got ${JSON.stringify(d.name)}`);
  if (typeof d.summary !== 'string' || d.summary === '') problems.push('summary must be a non-empty string');
  if (typeof d.samples !== 'boolean') problems.push('samples must be true or false');
  subset('updates', UPDATE_KINDS);
  subset('logits', LOGITS_KINDS);
  if (d.lazyDenseClock !== 'per-shard-row' && d.lazyDenseClock !== 'none') problems.push(`lazyDenseClock must be 'per-shard-row' or 'none', got ${JSON.stringify(d.lazyDenseClock)}`);
  if (d.layout !== 'sharded' && d.layout !== 'replicated') problems.push(`layout must be 'sharded' or 'replicated', got ${JSON.stringify(d.layout)}`);
  if (d.baseline !== undefined && d.baseline !== null && typeof d.baseline !== 'string') problems.push('baseline must be a strategy name, null or absent');
  if (!Array.isArray(d.examples) || d.examples.length === 0 || !d.examples.every((e) => isObject(e) && isObject(e.config))) problems.push('examples must be a non-empty array of { config: {...} }');
  if (!Array.isArray(d.colours) || d.colours.length === 0 || !d.colours.every((c) => typeof c === 'string')) problems.push('colours must be a non-empty array of CSS colours');
  if (typeof d.order !== 'number' || !Number.isFinite(d.order)) problems.push('order must be a number');
  for (const f of FUNCTIONS) if (typeof d[f] !== 'function') problems.push(`${f} must be a function`);
  if (Array.isArray(d.logits) && d.logits.includes('fused') && typeof d.recomputedColumns !== 'function') problems.push("recomputedColumns must be a function when logits includes 'fused'");
  return problems;
}

export interface LoadOptions {
  /** Folder relative paths and package names resolve from (the working directory, or a scenario file's folder). */
  base?: string;
  /** Run the capability check (default true; child processes of a checked run skip it). */
  check?: boolean;
  /** Record a failure and return it instead of throwing (a sweep goes on without the module). */
  keepGoing?: boolean;
}

/**
 * Loads one strategy module and registers its descriptors; a module already loaded from the same
 * file is not loaded again. Throws a UsageError naming --strategy-module and the module (or, with
 * keepGoing, records the failure and returns it).
 */
export async function loadStrategyModule(specifier: string, options: LoadOptions = {}): Promise<StrategyModuleRecord | StrategyModuleFailure> {
  const base = options.base ?? process.cwd();
  const key = `${base}\u0000${specifier}`;
  const before = tried.get(key);
  if (before) {
    if ('message' in before && !options.keepGoing) throw new UsageError(OPTION, `${specifier}: ${before.message}`);
    return before;
  }
  let result: StrategyModuleRecord | StrategyModuleFailure;
  try {
    result = await loadChecked(specifier, base, options.check !== false);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    result = { specifier, message };
    failures.push(result);
  }
  tried.set(key, result);
  if ('message' in result && !options.keepGoing) throw new UsageError(OPTION, `${specifier}: ${result.message}`);
  return result;
}

async function loadChecked(specifier: string, base: string, check: boolean): Promise<StrategyModuleRecord> {
  const path = resolveStrategyModule(specifier, base);
  const already = loaded.get(path);
  if (already) return already;
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot import ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (namespace.apiVersion !== STRATEGY_API_VERSION) {
    throw new Error(`exports apiVersion ${JSON.stringify(namespace.apiVersion)}; this pfc-bench implements strategy API version ${STRATEGY_API_VERSION} (export const apiVersion = ${STRATEGY_API_VERSION}, from 'pfc-bench/strategy' STRATEGY_API_VERSION)`);
  }
  const candidates = exportedDescriptors(namespace);
  if (!candidates.length) throw new Error(`${path} exports no strategy descriptor (expected a default export, a 'strategies' array, or named exports of objects with a name and create())`);
  const descriptors: StrategyDescriptor[] = [];
  for (const candidate of candidates) {
    const d = candidate as Record<string, unknown>;
    const problems = descriptorProblems(d);
    if (problems.length) throw new Error(`strategy ${JSON.stringify(d.name)} is not a valid descriptor: ${problems.join('; ')}`);
    descriptors.push(candidate as StrategyDescriptor);
  }
  const registered: string[] = [];
  try {
    for (const d of descriptors) {
      registerStrategy(d, path);
      registered.push(d.name);
    }
    for (const d of descriptors) {
      if (d.baseline && !findStrategy(d.baseline)) throw new Error(`strategy '${d.name}': baseline '${d.baseline}' is not a registered strategy (${strategyDescriptors().map((s) => s.name).join(', ')})`);
    }
    if (check) {
      for (const d of descriptors) {
        const failed = capabilityFailures(d.name);
        if (failed.length) throw new Error(`strategy '${d.name}' declares capabilities it does not implement: ${failed.join('; ')}`);
      }
    }
  } catch (error) {
    for (const name of registered) unregisterStrategy(name);
    throw error;
  }
  const pkg = nearestPackage(path);
  const inPackage = relative(packageRoot(), path);
  const record: StrategyModuleRecord = {
    specifier,
    path,
    ...(inPackage && !inPackage.startsWith('..') && !isAbsolute(inPackage) ? { inPackage } : {}),
    package: pkg.name,
    version: pkg.version,
    sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
    strategies: registered,
  };
  loaded.set(path, record);
  // Child processes (a cell each) load the same files, without checking them again.
  process.env[STRATEGY_MODULES_ENV] = JSON.stringify(loadedStrategyModules().map((m) => m.path));
  return record;
}

/** Loads several modules (keepGoing: failures are recorded, each printed by `warn`). */
export async function loadStrategyModules(specifiers: readonly string[], options: LoadOptions & { warn?: (message: string) => void } = {}): Promise<void> {
  for (const specifier of specifiers) {
    const result = await loadStrategyModule(specifier, options);
    if ('message' in result) options.warn?.(`${OPTION} ${specifier}: ${result.message}`);
  }
}

/** A child process: the modules its parent loaded (and checked), from PFC_STRATEGY_MODULES. */
export async function loadStrategyModulesFromEnv(): Promise<void> {
  const raw = process.env[STRATEGY_MODULES_ENV];
  if (!raw) return;
  let paths: unknown;
  try {
    paths = JSON.parse(raw);
  } catch {
    throw new Error(`${STRATEGY_MODULES_ENV} is not a JSON array of module paths: ${raw}`);
  }
  if (!Array.isArray(paths)) throw new Error(`${STRATEGY_MODULES_ENV} is not a JSON array of module paths: ${raw}`);
  for (const path of paths) await loadStrategyModule(String(path), { check: false });
}

/**
 * The modules results files recorded (report, so that a module's strategies get their titles,
 * colours and ratio rows): each loaded from its recorded path when it is still there (a changed
 * file is loaded as it is now, with a warning); a missing one is a warning, its strategies shown
 * by name. Unreadable files are left to the reader that reports them.
 */
export async function loadRecordedStrategyModules(resultPaths: readonly string[], warn: (message: string) => void): Promise<void> {
  for (const file of resultPaths) {
    let records: StrategyModuleRecord[] = [];
    try {
      records = (JSON.parse(readFileSync(file, 'utf8')) as { strategyModules?: StrategyModuleRecord[] }).strategyModules ?? [];
    } catch {
      continue;
    }
    for (const record of Array.isArray(records) ? records : []) {
      if (!record || typeof record.path !== 'string' || loaded.has(record.path)) continue;
      // Where it was; else, for a module inside pfc-bench's folder, where it is in this checkout.
      const path = existsSync(record.path) ? record.path : record.inPackage && existsSync(join(packageRoot(), record.inPackage)) ? join(packageRoot(), record.inPackage) : undefined;
      if (!path) {
        warn(`${file}: strategy module ${record.path} is gone (a module inside pfc-bench's folder must be built); ${(record.strategies ?? []).join(', ')} shown by name`);
        continue;
      }
      if (loaded.has(path)) continue;
      const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
      if (sha !== record.sha256) warn(`${file}: strategy module ${path} changed since the run (sha256 ${String(record.sha256).slice(0, 12)} then, ${sha.slice(0, 12)} now); loaded as it is now`);
      const result = await loadStrategyModule(path, { check: false, keepGoing: true });
      if ('message' in result) warn(`${file}: strategy module ${path}: ${result.message}`);
    }
  }
}
