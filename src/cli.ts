#!/usr/bin/env node
/**
 * The pfc-bench command. Subcommands: run (a scenario or a custom case), scenarios, info.
 * Every option is validated before anything runs; a misspelled one is named with a suggestion.
 */
import { join } from 'node:path';
import { UsageError, suggest } from './core/errors.js';
import { parseOptions, type OptionSpec, type ParsedOptions } from './options.js';
import { core, packageRoot } from './core/binding.js';
import { selectBackend } from './core/index.js';
import { builtinScenarioNames, expandScenario, loadScenario, type CellFields, type Scenario } from './bench/scenario.js';
import { runSweep, writeResultsAtomically } from './bench/runner.js';
import { searchCapacity } from './bench/capacity.js';
import { RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION, type ResultsFile } from './bench/results.js';
import { checkBackendSupports } from './bench/cell.js';
import { Progress, describeCell } from './bench/progress.js';
import { runContext } from './bench/context.js';
import { capacityTable, resultsTable } from './bench/table.js';
import { INTERCONNECTS } from './model/comm.js';
import { registerOptionalModules } from './bench/modules.js';
import { abortJob, rankPrefix, runRealSweep } from './bench/real.js';

const CELL_OPTIONS: Record<string, OptionSpec> = {
  strategy: { field: 'strategy', kind: 'string', help: 'data-parallel | model-parallel | partial-fc' },
  classes: { field: 'classes', kind: 'string', help: 'identities C over all GPUs (1000000, 1M, 125k)' },
  gpus: { field: 'gpus', kind: 'number', help: 'GPUs (ranks) N' },
  batch: { field: 'batch', kind: 'number', help: 'global batch B (divisible by --gpus)' },
  dim: { field: 'dim', kind: 'number', help: 'embedding dimension D (512)' },
  'sample-rate': { field: 'sampleRate', kind: 'number', help: 'Partial FC sample rate rho in (0, 1] (0.1); other strategies use every centre' },
  update: { field: 'update', kind: 'string', help: 'sparse (seed, v1) | dense (arcface_torch, v2) | lazy-dense (ours: dense at sparse cost)' },
  logits: { field: 'logits', kind: 'string', help: 'materialized (B x C logits stored) | fused (ours: tiles of --tile centres, logits recomputed)' },
  tile: { field: 'tile', kind: 'number', help: 'fused: active centres per tile (0: as few equal tiles as a 64 MiB scratch allows)' },
  margin: { field: 'margin', kind: 'string', help: 'cosface | arcface | combined | sphereface | softmax | "s,m1,m2,m3"' },
  dtype: { field: 'dtype', kind: 'string', help: 'fp32 | bf16 | fp16 storage (bf16/fp16 need the CUDA backend)' },
  mode: { field: 'mode', kind: 'string', help: 'emulate (one rank of N) | single | real (under mpirun)' },
  rank: { field: 'rank', kind: 'number', help: 'the rank to emulate (0)' },
  backend: { field: 'backend', kind: 'string', help: 'auto | cpu | cuda' },
  steps: { field: 'steps', kind: 'number', help: 'measured steps per trial (3)' },
  warmup: { field: 'warmup', kind: 'number', help: 'discarded warm-up steps (1)' },
  trials: { field: 'trials', kind: 'number', help: 'trials (1)' },
  interconnect: { field: 'interconnect', kind: 'string', help: `communication model profile: ${Object.keys(INTERCONNECTS).join(' | ')}` },
  'gpus-per-node': { field: 'gpusPerNode', kind: 'number', help: 'GPUs per node for the communication model (profile default 8)' },
  'gpu-memory': { field: 'gpuMemory', kind: 'string', help: 'per-GPU memory budget, e.g. 11GiB (allocations past it are out of memory)' },
  seed: { field: 'seed', kind: 'number', help: 'random seed (1); same seed, same samples' },
  threads: { field: 'threads', kind: 'number', help: 'CPU threads (default: all cores)' },
  lr: { field: 'lr', kind: 'number', help: 'SGD learning rate (0.1)' },
  momentum: { field: 'momentum', kind: 'number', help: 'SGD momentum (0.9)' },
  'weight-decay': { field: 'weightDecay', kind: 'number', help: 'SGD weight decay (5e-4)' },
  label: { field: 'label', kind: 'string', help: 'a tag shown in reports' },
};

const RUN_OPTIONS: Record<string, OptionSpec> = {
  scenario: { kind: 'string', help: `a built-in scenario (${builtinScenarioNames().join(', ')}) or a JSON file; flags override its fields` },
  out: { kind: 'string', help: 'results JSON path (reports/<scenario>-<time>.json)' },
  resume: { kind: 'boolean', help: 'keep the finished cells of --out and run the rest' },
  'cell-timeout': { kind: 'number', help: 'seconds before a cell is killed (0 = never)' },
  quiet: { kind: 'boolean', help: 'no progress output' },
  'no-report': { kind: 'boolean', help: 'write results only, no report' },
  ...CELL_OPTIONS,
};

const USAGE = `pfc-bench: what the classification layer of face recognition costs, model parallel vs Partial FC

Usage:
  pfc-bench run [--scenario NAME|FILE] [options]   measure, print a table, write results JSON (+ report)
  pfc-bench report RESULTS.json [...more] [--out DIR] [--format html,md,csv,svg,png]
                                                   re-render the report (HTML, Markdown, CSV, charts) of results files
  pfc-bench capacity [--scenario capacity] [opts] largest identity count per strategy for a --gpu-memory budget
  pfc-bench compare BASELINE.json CURRENT.json [--threshold 1.15] [--memory-tolerance 0] [--json] [--all]
                                                   regression check: memory/FLOPs/collectives exact, times / GEMM reference
  pfc-bench scenarios                              list built-in scenarios
  pfc-bench info                                   backends, build and devices
  pfc-bench help

run options:
${Object.entries(RUN_OPTIONS).map(([k, o]) => `  --${k.padEnd(15)} ${o.help}`).join('\n')}
`;

export function cellOverrides(options: ParsedOptions): CellFields {
  const fields: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CELL_OPTIONS)) {
    if (options[name] !== undefined && spec.field) fields[spec.field] = options[name];
  }
  return fields as CellFields;
}

function customScenario(): Scenario {
  return { name: 'custom', description: 'A case given by command-line flags.', defaults: {}, cells: [{}] };
}

async function capacityCommand(argv: string[]): Promise<number> {
  const { options, positionals } = parseOptions(argv, RUN_OPTIONS, 'capacity');
  if (positionals.length) throw new UsageError('capacity', `unexpected argument '${positionals[0]}'`);
  const scenario = loadScenario(String(options.scenario ?? 'capacity'));
  const overrides = cellOverrides(options);
  const specs = expandScenario(scenario, overrides);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outPath = String(options.out ?? join(packageRoot(), 'reports', `${scenario.name}-${stamp}.json`));
  const { backend } = selectBackend(specs[0].backend);
  const results: ResultsFile = {
    schema: RESULTS_SCHEMA,
    schemaVersion: RESULTS_SCHEMA_VERSION,
    scenario: { name: scenario.name, description: scenario.description, file: scenario.file, overrides: overrides as Record<string, unknown> },
    context: runContext(backend.context()),
    cells: [],
  };
  for (const [i, spec] of specs.entries()) {
    const cell = await searchCapacity(spec, Number(options['cell-timeout'] ?? 0));
    results.cells.push(cell);
    writeResultsAtomically(outPath, results);
    if (options.quiet !== true) process.stderr.write(`[cell ${i + 1}/${specs.length}] ${describeCell(spec)} in ${spec.memoryBudget} bytes: ${cell.capacity ? cell.capacity.largestClasses : cell.status}\n`);
  }
  process.stdout.write(`${capacityTable(results.cells)}\nresults: ${outPath}\n`);
  if (options['no-report'] !== true) {
    const { renderReportFor } = await import('./report/hook.js');
    for (const path of await renderReportFor([outPath])) process.stdout.write(`report: ${path}\n`);
  }
  return results.cells.every((c) => c.status === 'completed') ? 0 : 1;
}

async function runCommand(argv: string[]): Promise<number> {
  const { options, positionals } = parseOptions(argv, RUN_OPTIONS, 'run');
  if (positionals.length) throw new UsageError('run', `unexpected argument '${positionals[0]}' (options start with --)`);
  const scenario = options.scenario ? loadScenario(String(options.scenario)) : customScenario();
  const overrides = cellOverrides(options);
  const specs = expandScenario(scenario, overrides);
  // Resolve the backend now, so a bad --backend fails before any cell runs, and say what auto chose.
  const backends = new Set(specs.map((s) => s.backend));
  const notes = [...backends].map((b) => selectBackend(b).note);
  for (const spec of specs) checkBackendSupports(spec, selectBackend(spec.backend).backend);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outPath = String(options.out ?? join(packageRoot(), 'reports', `${scenario.name}-${stamp}.json`));
  const quiet = options.quiet === true;
  if (specs.some((s) => s.mode === 'real')) {
    // Real mode: this process is one rank of an mpirun/srun job; the matrix runs in-process.
    const scenarioInfo = { name: scenario.name, description: scenario.description, file: scenario.file, overrides: overrides as Record<string, unknown> };
    return runRealSweep(specs, { outPath, scenario: scenarioInfo, resume: options.resume === true, quiet, report: options['no-report'] !== true });
  }
  if (!quiet) process.stderr.write(`pfc-bench: scenario ${scenario.name}, ${specs.length} cell(s); ${notes.join('; ')}\n`);
  const { backend } = selectBackend(specs[0].backend);
  const results = await runSweep(specs, {
    outPath,
    scenario: { name: scenario.name, description: scenario.description, file: scenario.file, overrides: overrides as Record<string, unknown> },
    context: runContext(backend.context()),
    resume: options.resume === true,
    cellTimeoutSeconds: Number(options['cell-timeout'] ?? 0),
    progress: new Progress(process.stderr, quiet),
  });
  process.stdout.write(`${resultsTable(results.cells)}\n`);
  process.stdout.write(`results: ${outPath}\n`);
  if (options['no-report'] !== true) {
    const { renderReportFor } = await import('./report/hook.js');
    const written = await renderReportFor([outPath]);
    for (const path of written) process.stdout.write(`report: ${path}\n`);
  }
  return results.cells.every((c) => c.status === 'completed') ? 0 : 1;
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
      for (const name of builtinScenarioNames()) process.stdout.write(`${name.padEnd(10)} ${loadScenario(name).description}\n`);
      return 0;
    case 'info':
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
