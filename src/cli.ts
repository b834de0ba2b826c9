#!/usr/bin/env node
/**
 * The pfc-bench command. Subcommands: run (a scenario or a custom case), scenarios, info.
 * Every option is validated before anything runs; a misspelled one is named with a suggestion.
 */
import { join } from 'node:path';
import { UsageError, suggest } from './core/errors.js';
import { optionHelp, parseOptions, type OptionSpec, type ParsedOptions } from './options.js';
import { core, packageRoot } from './core/binding.js';
import { selectBackend } from './core/index.js';
import { builtinScenarioNames, expandScenario, loadScenario, type CellFields, type Scenario, type Sweeps } from './bench/scenario.js';
import { CELL_FIELDS } from './bench/fields.js';
import { runSweep, type CellExecutor } from './bench/sweep.js';
import { childProcessExecutor } from './bench/runner.js';
import { capacityExecutor } from './bench/capacity.js';
import { CELL_STATUSES, type CellSpec, type CellStatus, type ResultsFile } from './bench/results.js';
import { checkBackendSupports } from './bench/cell.js';
import { Progress } from './bench/progress.js';
import { runContext } from './bench/context.js';
import { capacityTable, resultsTable } from './bench/table.js';
import { INTERCONNECTS } from './model/comm.js';
import { registerOptionalModules } from './bench/modules.js';
import { abortJob, rankPrefix, startRealSession } from './bench/real.js';

/** The cell fields as options, generated from the field table (bench/fields.ts). */
const CELL_OPTIONS: Record<string, OptionSpec> = Object.fromEntries(
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

const RUN_OPTIONS: Record<string, OptionSpec> = {
  scenario: { kind: 'string', help: `a built-in scenario (${builtinScenarioNames().join(', ')}) or a JSON file; flags override its fields` },
  out: { kind: 'string', help: 'results JSON path (reports/<scenario>-<time>.json)' },
  resume: { kind: 'boolean', help: 'keep the completed cells of --out and run every other one again' },
  keep: { kind: 'string', list: true, parse: parseStatuses, help: `with --resume, also keep cells of these statuses (${STATUSES_KEPT.join(', ')})` },
  'cell-timeout': { kind: 'number', parse: nonNegative, help: 'seconds before a cell is killed (status timeout; 0 = never)' },
  quiet: { kind: 'boolean', help: 'no progress output' },
  'no-report': { kind: 'boolean', help: 'write results only, no report' },
  help: { kind: 'boolean', help: 'this help' },
  ...CELL_OPTIONS,
};

const SUMMARY = `pfc-bench: what the classification layer of face recognition costs, model parallel vs Partial FC

Usage:
  pfc-bench run [--scenario NAME|FILE] [options]   measure, print a table, write results JSON (+ report)
  pfc-bench report RESULTS.json [...more] [--out DIR] [--format html,md,csv,svg,png]
                                                   re-render the report (HTML, Markdown, CSV, charts) of results files
  pfc-bench capacity [--scenario capacity] [opts] largest identity count per strategy for a --gpu-memory budget
  pfc-bench compare BASELINE.json CURRENT.json [--threshold 1.15] [--memory-tolerance 0] [--json] [--all]
                                                   regression check: exit 0 ok, 1 regressed, 3 inconclusive, 2 bad input
  pfc-bench scenarios                              list built-in scenarios
  pfc-bench info                                   backends, build and devices
  pfc-bench COMMAND --help                         a command's options
`;

const USAGE = `${SUMMARY}
run and capacity options (a comma list, e.g. --classes 1M,2M --strategy model-parallel,partial-fc,
sweeps every combination, as a scenario's matrix does):
${optionHelp(RUN_OPTIONS)}
`;

/** The overrides (one value) and sweeps (comma lists) of the cell flags given. */
export function cellOverrides(options: ParsedOptions): { overrides: CellFields; sweeps: Sweeps } {
  const overrides: Record<string, unknown> = {};
  const sweeps: Sweeps = {};
  for (const [name, spec] of Object.entries(CELL_OPTIONS)) {
    const value = options[name];
    if (value === undefined || !spec.field) continue;
    if (Array.isArray(value)) sweeps[spec.field] = value;
    else overrides[spec.field] = value;
  }
  return { overrides: overrides as CellFields, sweeps };
}

function customScenario(): Scenario {
  return { name: 'custom', description: 'A case given by command-line flags.', defaults: {}, cells: [{}] };
}

function noArguments(command: string, argv: readonly string[]): void {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return;
  if (argv.length) throw new UsageError(command, `takes no arguments, got '${argv[0]}'; usage: pfc-bench ${command}`);
}

interface Plan {
  scenario: Scenario;
  specs: CellSpec[];
  options: ParsedOptions;
  outPath: string;
  info: ResultsFile['scenario'];
}

function plan(command: 'run' | 'capacity', argv: string[], defaultScenario?: string): Plan | undefined {
  const { options, positionals } = parseOptions(argv, RUN_OPTIONS, command);
  if (options.help === true) {
    process.stdout.write(USAGE);
    return undefined;
  }
  if (positionals.length) throw new UsageError(command, `unexpected argument '${positionals[0]}' (options start with --)`);
  if (options.keep !== undefined && options.resume !== true) throw new UsageError('--keep', 'only means something with --resume');
  const name = options.scenario ?? defaultScenario;
  const scenario = name !== undefined ? loadScenario(String(name)) : customScenario();
  const { overrides, sweeps } = cellOverrides(options);
  const specs = expandScenario(scenario, overrides, sweeps);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outPath = String(options.out ?? join(packageRoot(), 'reports', `${scenario.name}-${stamp}.json`));
  const info = { name: scenario.name, description: scenario.description, file: scenario.file, overrides: { ...overrides, ...sweeps } as Record<string, unknown> };
  return { scenario, specs, options, outPath, info };
}

async function renderReport(outPath: string, options: ParsedOptions): Promise<void> {
  if (options['no-report'] === true) return;
  const { renderReportFor } = await import('./report/hook.js');
  for (const path of await renderReportFor([outPath])) process.stdout.write(`report: ${path}\n`);
}

async function capacityCommand(argv: string[]): Promise<number> {
  const p = plan('capacity', argv, 'capacity');
  if (!p) return 0;
  const { backend } = selectBackend(p.specs[0].backend);
  const quiet = p.options.quiet === true;
  const executor = capacityExecutor(Number(p.options['cell-timeout'] ?? 0));
  const results = await runSweep(p.specs, executor, {
    outPath: p.outPath,
    scenario: p.info,
    context: runContext(backend.context()),
    resume: p.options.resume === true,
    keep: (p.options.keep as CellStatus[] | CellStatus | undefined) === undefined ? [] : ([] as CellStatus[]).concat(p.options.keep as CellStatus),
    progress: new Progress(process.stderr, quiet),
  });
  process.stdout.write(`${capacityTable(results.cells)}\nresults: ${p.outPath}\n`);
  await renderReport(p.outPath, p.options);
  return results.cells.every((c) => c.status === 'completed') ? 0 : 1;
}

async function runCommand(argv: string[]): Promise<number> {
  const p = plan('run', argv);
  if (!p) return 0;
  const { specs, options } = p;
  // Resolve the backend now, so a bad --backend fails before any cell runs, and say what auto chose.
  const notes = [...new Set(specs.map((s) => s.backend))].map((b) => selectBackend(b).note);
  for (const spec of specs) checkBackendSupports(spec, selectBackend(spec.backend).backend);
  const quiet = options.quiet === true;
  const keep = options.keep === undefined ? [] : ([] as CellStatus[]).concat(options.keep as CellStatus);
  let executor: CellExecutor;
  let context;
  let finish = () => {};
  if (specs.some((s) => s.mode === 'real')) {
    // Real mode: this process is one rank of an mpirun/srun job; every rank runs the cells in-process.
    const session = startRealSession(specs, quiet, p.scenario.name);
    ({ executor, context } = session);
    finish = session.finish;
  } else {
    if (!quiet) process.stderr.write(`pfc-bench: scenario ${p.scenario.name}, ${specs.length} cell(s); ${notes.join('; ')}\n`);
    executor = childProcessExecutor({ cellTimeoutSeconds: Number(options['cell-timeout'] ?? 0) });
    context = runContext(selectBackend(specs[0].backend).backend.context());
  }
  const results = await runSweep(specs, executor, {
    outPath: p.outPath,
    scenario: p.info,
    context,
    resume: options.resume === true,
    keep,
    progress: new Progress(process.stderr, quiet || !executor.reports),
  });
  if (executor.reports) {
    process.stdout.write(`${resultsTable(results.cells)}\n`);
    process.stdout.write(`results: ${p.outPath}\n`);
    await renderReport(p.outPath, options);
  }
  finish();
  return executor.reports && !results.cells.every((c) => c.status === 'completed') ? 1 : 0;
}

function infoCommand(): number {
  const build = core().buildInfo();
  const cuda = core().cudaProbe();
  process.stdout.write(
    `${JSON.stringify({ build, threads: core().threads(), cuda, scenarios: builtinScenarioNames(), interconnects: Object.keys(INTERCONNECTS) }, null, 2)}\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  await registerOptionalModules();
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'report': {
      const { reportCommand } = await import('./report/command.js');
      return reportCommand(rest);
    }
    case 'capacity':
      return capacityCommand(rest);
    case 'compare': {
      const { compareCommand } = await import('./compare/command.js');
      return compareCommand(rest);
    }
    case 'scenarios':
      noArguments('scenarios', rest);
      for (const name of builtinScenarioNames()) process.stdout.write(`${name.padEnd(10)} ${loadScenario(name).description}\n`);
      return 0;
    case 'info':
      noArguments('info', rest);
      return infoCommand();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default: {
      const commands = ['run', 'report', 'capacity', 'compare', 'scenarios', 'info', 'help'];
      throw new UsageError('command', `unknown command '${command}'${suggest(command, commands)}; expected one of ${commands.join(', ')}`);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Under mpirun/srun the message names the rank, and a rank with MPI running ends the job.
    if (error instanceof UsageError) {
      process.stderr.write(`pfc-bench: ${rankPrefix()}${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`pfc-bench: ${rankPrefix()}${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
    abortJob(process.exitCode);
  },
);
