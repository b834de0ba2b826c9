/**
 * The run and capacity command lines: their options (the cell fields come from the field
 * table, bench/fields.ts), the generated help, and planRun, which turns argv into validated
 * cells without running anything (the CLI and the property test use it).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadStrategyModules, strategyModuleTried } from './strategies/modules.js';
import { UsageError, suggest } from './core/errors.js';
import { optionHelp, parseOptions, type OptionSpec, type ParsedOptions } from './options.js';
import { packageRoot } from './core/binding.js';
import { builtinScenarioNames, expandScenario, loadScenario, scenarioFile, type CellFields, type Scenario, type Sweeps } from './bench/scenario.js';
import { CELL_FIELDS, bytesInBothUnits, gpuMemoryUnitWarning } from './bench/fields.js';
import { strategyDescriptors } from './strategies/registry.js';
import { aliasNote, interconnectHelp } from './model/comm.js';
import { CELL_STATUSES, type CellSpec, type CellStatus, type ResultsFile } from './bench/results.js';

/** The cell fields as options, generated from the field table (bench/fields.ts). */
export const CELL_OPTIONS: Record<string, OptionSpec> = Object.fromEntries(
  CELL_FIELDS.filter((f) => f.flag !== null).map((f) => [
    f.flag!,
    {
      field: f.key,
      kind: 'string',
      list: f.sweep,
      help: `${f.help}${f.default !== undefined && f.default !== '' ? ` [${typeof f.default === 'object' ? JSON.stringify(f.default) : String(f.default)}]` : ''}`,
      parse: (value: string, option: string) => f.parse(value, option),
    } satisfies OptionSpec,
  ]),
);

const STATUSES_KEPT = CELL_STATUSES.filter((s) => s !== 'completed');

function parseStatuses(value: string, option: string): CellStatus {
  if (!(STATUSES_KEPT as readonly string[]).includes(value)) throw new UsageError(option, `unknown status '${value}'${suggest(value, STATUSES_KEPT)}; expected a comma list of ${STATUSES_KEPT.join(', ')}`);
  return value as CellStatus;
}

function nonNegative(value: string, option: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(option, `expected a number of seconds >= 0, got '${value}'`);
  return n;
}

export const RUN_OPTIONS: Record<string, OptionSpec> = {
  scenario: { kind: 'string', help: `a built-in scenario (${builtinScenarioNames().join(', ')}) or a JSON file; flags override its fields` },
  out: { kind: 'string', help: 'results JSON path (reports/<scenario>-<time>.json)' },
  resume: { kind: 'boolean', help: 'keep the completed cells of --out and run every other one again' },
  keep: { kind: 'string', list: true, parse: parseStatuses, help: `with --resume, also keep cells of these statuses (${STATUSES_KEPT.join(', ')})` },
  'cell-timeout': { kind: 'number', parse: nonNegative, help: 'seconds before a cell is killed (status timeout; 0 = never)' },
  quiet: { kind: 'boolean', help: 'no progress output' },
  'no-report': { kind: 'boolean', help: 'write results only, no report' },
  'strategy-module': { kind: 'string', repeat: true, help: 'an ES module (a file, a package folder or an installed package name) whose strategies join this run; repeatable (scenario key strategyModules; docs/strategy-modules.md)' },
  help: { kind: 'boolean', help: 'this help' },
  ...CELL_OPTIONS,
};

export const SUMMARY = `pfc-bench: what the classification layer of face recognition costs, model parallel vs Partial FC

Usage:
  pfc-bench run [--scenario NAME|FILE] [options]   measure, print a table, write results JSON (+ report)
  pfc-bench report RESULTS.json [...more] [--out DIR] [--format html,md,csv,svg,png]
                                                   re-render the report (HTML, Markdown, CSV, charts) of results files
  pfc-bench capacity [--scenario capacity] [opts] largest identity count per strategy for a --gpu-memory budget
  pfc-bench plan --target a100-80gb --gpus 8 --classes 5M [--backbone r100]
                                                   predicted on a named GPU (no kernel runs): memory, headroom, step
                                                   time, images/s and capacity per strategy and sample rate, and a chart
  pfc-bench compare BASELINE.json CURRENT.json [--threshold 1.15] [--memory-tolerance 0] [--json] [--all]
                                                   regression check: exit 0 ok, 1 regressed, 3 inconclusive, 2 bad input
  pfc-bench calibrate [--max-bytes 256MiB] [--out PROFILE.json]
                                                   under mpirun/srun: measure the collectives, write an interconnect
                                                   profile for --interconnect PROFILE.json
  pfc-bench fidelity REAL.json EMULATED.json [--out FIDELITY.json]
                                                   modeled vs measured communication, per collective of the step
  pfc-bench scenarios                              list built-in scenarios
  pfc-bench strategies [--strategy-module M] [--json]
                                                   every strategy, built in or loaded from a module, with its capabilities
  pfc-bench info [--json]                          build, CUDA device, each run-time library (found, file, version)
  pfc-bench COMMAND --help                         a command's options
  pfc-bench help --markdown [--out FILE]           every command's options in Markdown (docs/options.md)
`;

export const USAGE = `${SUMMARY}
run and capacity options (* a comma list sweeps the field: --classes 1M,2M --strategy
model-parallel,partial-fc runs every combination, as a scenario's matrix does; [default]):
${optionHelp(RUN_OPTIONS)}

interconnect profiles (--interconnect: the modeled topology of emulated runs; a ring inside a
node runs at the node's bus bandwidth, one across nodes at the smaller of that and the node's NICs):
${interconnectHelp()}

strategies:
${strategyDescriptors().map((d) => `  ${d.name.padEnd(16)} ${d.summary}`).join('\n')}
  (more from a strategy module: --strategy-module; pfc-bench strategies lists them)
`;

/**
 * The overrides (one value) and sweeps (comma lists) of the cell flags given. Sweeps nest in
 * the order of the command line, the first outermost, as a scenario's matrix keys do.
 */
export function cellOverrides(options: ParsedOptions): { overrides: CellFields; sweeps: Sweeps } {
  const overrides: Record<string, unknown> = {};
  const sweeps: Sweeps = {};
  for (const [name, value] of Object.entries(options)) {
    const spec = Object.hasOwn(CELL_OPTIONS, name) ? CELL_OPTIONS[name] : undefined;
    if (value === undefined || !spec?.field) continue;
    if (Array.isArray(value)) sweeps[spec.field] = value;
    else overrides[spec.field] = value;
  }
  return { overrides: overrides as CellFields, sweeps };
}

function customScenario(): Scenario {
  return { name: 'custom', description: 'A case given by command-line flags.', defaults: {}, cells: [{}] };
}

/**
 * What the run header says of the per-GPU budgets (each in GB and GiB, so 80GB read as SI is
 * visible before anything runs), and the warnings for budgets that look like a card's GiB
 * given in GB.
 */
export function budgetHeader(specs: readonly CellSpec[]): { header: string; warnings: string[] } {
  const budgets = [...new Set(specs.map((s) => s.memoryBudget).filter((b) => b > 0))].sort((a, b) => a - b);
  if (!budgets.length) return { header: '', warnings: [] };
  return {
    header: `per-GPU memory budget ${budgets.map(bytesInBothUnits).join('; ')}`,
    warnings: budgets.map(gpuMemoryUnitWarning).filter((w): w is string => w !== undefined),
  };
}

/** A note per old interconnect name the cells use (they still read as the profile they were). */
export function interconnectNotes(specs: readonly CellSpec[]): string[] {
  return [...new Set(specs.map((s) => s.interconnect))].map(aliasNote).filter((n): n is string => n !== undefined);
}

export function noArguments(command: string, argv: readonly string[]): void {
  if (argv.length) throw new UsageError(command, `takes no arguments, got '${argv[0]}'; usage: pfc-bench ${command}`);
}

/**
 * The strategy modules a run or capacity command line names (--strategy-module, and its
 * scenario file's strategyModules, relative to the file's folder), loaded before the options are
 * parsed: --strategy values are checked against the registry they join. A module that fails is
 * printed by `warn` and recorded; the run goes on without it (its cells become errors).
 */
export async function loadRunModules(argv: readonly string[], warn: (message: string) => void): Promise<void> {
  const given: string[] = [];
  let scenario: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    const value = inline ?? argv[i + 1];
    if (name === '--strategy-module' && value !== undefined) given.push(value);
    if (name === '--scenario' && value !== undefined) scenario = value;
  }
  await loadStrategyModules(given, { keepGoing: true, warn });
  const file = scenario === undefined ? undefined : scenarioFile(scenario);
  if (file) {
    let modules: unknown;
    try {
      modules = (JSON.parse(readFileSync(file, 'utf8')) as { strategyModules?: unknown }).strategyModules;
    } catch {
      return; // loadScenario reports an unreadable file
    }
    if (Array.isArray(modules) && modules.every((m) => typeof m === 'string')) await loadStrategyModules(modules, { base: dirname(file), keepGoing: true, warn });
  }
}

export interface Plan {
  scenario: Scenario;
  specs: CellSpec[];
  options: ParsedOptions;
  outPath: string;
  info: ResultsFile['scenario'];
  /** Statuses --resume keeps besides completed (--keep). */
  keep: CellStatus[];
}

/**
 * Parses and validates a run or capacity command line into the cells it would run (nothing
 * runs); undefined for --help. Every bad input is a UsageError naming the option.
 */
export function planRun(command: 'run' | 'capacity', argv: readonly string[], defaultScenario?: string): Plan | undefined {
  const { options, positionals } = parseOptions(argv, RUN_OPTIONS, command);
  if (options.help === true) return undefined;
  if (positionals.length) throw new UsageError(command, `unexpected argument '${positionals[0]}' (options start with --)`);
  if (options.keep !== undefined && options.resume !== true) throw new UsageError('--keep', 'only means something with --resume');
  for (const m of (options['strategy-module'] as string[] | undefined) ?? []) {
    if (!strategyModuleTried(m)) throw new UsageError('--strategy-module', `${m} was not loaded: call loadRunModules(argv) before planRun`);
  }
  const name = options.scenario ?? defaultScenario;
  const scenario = name !== undefined ? loadScenario(String(name)) : customScenario();
  const { overrides, sweeps } = cellOverrides(options);
  const specs = expandScenario(scenario, overrides, sweeps);
  if (command === 'capacity' && specs.some((s) => s.mode === 'predict')) {
    throw new UsageError('--mode', 'capacity confirms its answer by allocating for real; for a predicted capacity on a named GPU use pfc-bench plan --target NAME');
  }
  if (command === 'capacity') {
    // The answer is the largest count that fits the budget: without one there is no question.
    const index = specs.findIndex((s) => !(s.memoryBudget > 0));
    if (index >= 0) {
      const which = specs.length > 1 ? ` (cell ${index + 1} of ${specs.length}${specs[index].label ? `, ${specs[index].label}` : ''})` : '';
      throw new UsageError('--gpu-memory', `capacity needs a positive per-GPU memory budget such as 11GiB; got ${specs[index].memoryBudget}${which}`);
    }
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outPath = String(options.out ?? join(packageRoot(), 'reports', `${scenario.name}-${stamp}.json`));
  const info = { name: scenario.name, description: scenario.description, file: scenario.file, overrides: { ...overrides, ...sweeps } as Record<string, unknown> };
  const keep = options.keep === undefined ? [] : ([] as CellStatus[]).concat(options.keep as CellStatus | CellStatus[]);
  return { scenario, specs, options, outPath, info, keep };
}

