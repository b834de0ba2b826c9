#!/usr/bin/env node
/**
 * The pfc-bench command. Subcommands: run (a scenario or a custom case), capacity, plan, report,
 * compare, calibrate, fidelity, scenarios, info, help (help --markdown: the options reference,
 * docs/options.md). Every option is validated before anything runs (run-args.ts and
 * the field table); a misspelled one is named with a suggestion. The commands render; the
 * sweep executor (bench/sweep.ts) and its runners return results.
 */
import { UsageError, suggest } from './core/errors.js';
import type { ParsedOptions } from './options.js';
import { selectBackend } from './core/index.js';
import { builtinScenarioNames, loadScenario } from './bench/scenario.js';
import { runSweep, type CellExecutor } from './bench/sweep.js';
import { childProcessExecutor } from './bench/runner.js';
import { capacityExecutor } from './bench/capacity.js';
import { USAGE, budgetHeader, interconnectNotes, loadRunModules, noArguments, planRun, type Plan } from './run-args.js';
import { Progress } from './bench/progress.js';
import { runContext } from './bench/context.js';
import type { RunContext } from './bench/results.js';
import { capacityTable, resultsTable } from './report/table.js';
import { registerOptionalModules } from './bench/modules.js';
import { abortJob, rankPrefix, startRealSession } from './bench/real.js';
import { predictExecutor } from './predict/executor.js';

/** --help (or -h, which main reads as --help) anywhere among a command's arguments. */
function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help');
}

function usageLine(text: string): number {
  process.stdout.write(`usage: ${text}\n`);
  return 0;
}

function help(): number {
  process.stdout.write(USAGE);
  return 0;
}

async function renderReport(outPath: string, options: ParsedOptions): Promise<void> {
  if (options['no-report'] === true) return;
  const { renderReportFor } = await import('./report/hook.js');
  for (const path of await renderReportFor([outPath])) process.stdout.write(`report: ${path}\n`);
}

function warnModule(message: string): void {
  process.stderr.write(`pfc-bench: ${message}; its strategies' cells are recorded as errors, the rest of the sweep runs\n`);
}

/** The run header: scenario, cells, backend and the budgets in both units; then any unit warning. */
function header(p: Plan, notes: string[]): void {
  if (p.options.quiet === true) return;
  const budget = budgetHeader(p.specs);
  process.stderr.write(`pfc-bench: scenario ${p.scenario.name}, ${p.specs.length} cell(s); ${[...notes, budget.header].filter(Boolean).join('; ')}\n`);
  for (const warning of budget.warnings) process.stderr.write(`pfc-bench: warning: ${warning}\n`);
  for (const note of interconnectNotes(p.specs)) process.stderr.write(`pfc-bench: note: ${note}\n`);
}

async function capacityCommand(argv: string[]): Promise<number> {
  await loadRunModules(argv, warnModule);
  const p = planRun('capacity', argv, 'capacity');
  if (!p) return help();
  const { backend, note } = selectBackend(p.specs[0].backend);
  const quiet = p.options.quiet === true;
  header(p, [note]);
  const executor = capacityExecutor(Number(p.options['cell-timeout'] ?? 0));
  const results = await runSweep(p.specs, executor, {
    outPath: p.outPath,
    scenario: p.info,
    context: runContext(backend.context()),
    resume: p.options.resume === true,
    keep: p.keep,
    progress: new Progress(process.stderr, quiet),
  });
  process.stdout.write(`${capacityTable(results.cells)}\nresults: ${p.outPath}\n`);
  await renderReport(p.outPath, p.options);
  return results.cells.every((c) => c.status === 'completed') ? 0 : 1;
}

async function runCommand(argv: string[]): Promise<number> {
  await loadRunModules(argv, warnModule);
  const p = planRun('run', argv);
  if (!p) return help();
  const { specs, options } = p;
  const predicted = specs.every((s) => s.mode === 'predict');
  // Resolve the backend now, so a bad --backend fails before any cell runs, and say what auto chose.
  const notes = predicted
    ? [`predicted on ${[...new Set(specs.map((s) => s.target))].join(', ')}: no kernel runs`]
    : [...new Set(specs.map((s) => s.backend))].map((b) => selectBackend(b).note);
  const quiet = options.quiet === true;
  let executor: CellExecutor;
  let context: RunContext;
  let finish = () => {};
  if (specs.some((s) => s.mode === 'real')) {
    // Real mode: this process is one rank of an mpirun/srun job; every rank runs the cells in-process.
    const session = startRealSession(specs, quiet, p.scenario.name);
    ({ executor, context } = session);
    finish = session.finish;
  } else {
    header(p, notes);
    // Predicted cells run no kernel: in this process, in milliseconds.
    executor = predicted ? predictExecutor() : childProcessExecutor({ cellTimeoutSeconds: Number(options['cell-timeout'] ?? 0) });
    context = runContext(selectBackend(specs[0].backend).backend.context());
  }
  const results = await runSweep(specs, executor, {
    outPath: p.outPath,
    scenario: p.info,
    context,
    resume: options.resume === true,
    keep: p.keep,
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

export async function main(argv: string[]): Promise<number> {
  // -h is --help for every command (run and capacity, calibrate and fidelity parse --help themselves).
  const [command, ...rest] = argv.map((a) => (a === '-h' ? '--help' : a));
  await registerOptionalModules();
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'report': {
      const { reportCommand, REPORT_USAGE } = await import('./report/command.js');
      if (wantsHelp(rest)) return usageLine(REPORT_USAGE);
      return reportCommand(rest);
    }
    case 'capacity':
      return capacityCommand(rest);
    case 'plan': {
      const { planCommand } = await import('./predict/plan.js');
      return planCommand(rest);
    }
    case 'compare': {
      const { compareCommand, COMPARE_USAGE, COMPARE_EXIT_STATUS } = await import('./compare/command.js');
      if (wantsHelp(rest)) return usageLine(`${COMPARE_USAGE}\n${COMPARE_EXIT_STATUS}`);
      return compareCommand(rest);
    }
    case 'calibrate': {
      const { calibrateCommand } = await import('./calibrate/command.js');
      return calibrateCommand(rest);
    }
    case 'fidelity': {
      const { fidelityCommand, FIDELITY_USAGE } = await import('./calibrate/fidelity.js');
      if (wantsHelp(rest)) return usageLine(FIDELITY_USAGE);
      return fidelityCommand(rest);
    }
    case 'scenarios':
      if (wantsHelp(rest)) return usageLine('pfc-bench scenarios (lists the built-in scenarios)');
      noArguments('scenarios', rest);
      for (const name of builtinScenarioNames()) process.stdout.write(`${name.padEnd(10)} ${loadScenario(name).description}\n`);
      return 0;
    case 'strategies': {
      const { strategiesCommand, STRATEGIES_USAGE } = await import('./strategies/command.js');
      if (wantsHelp(rest)) return usageLine(STRATEGIES_USAGE);
      return strategiesCommand(rest);
    }
    case 'info': {
      if (wantsHelp(rest)) return usageLine('pfc-bench info [--json] (build, CUDA device, and each run-time library: found or not, file, version)');
      const { infoCommand } = await import('./info.js');
      return infoCommand(rest);
    }
    case 'help': {
      if (wantsHelp(rest)) return help();
      const { helpCommand } = await import('./options-reference.js');
      return helpCommand(rest);
    }
    case undefined:
    case '--help':
      process.stdout.write(USAGE);
      return 0;
    default: {
      const commands = ['run', 'report', 'capacity', 'plan', 'compare', 'calibrate', 'fidelity', 'scenarios', 'strategies', 'info', 'help'];
      throw new UsageError('command', `unknown command '${command}'${suggest(command, commands)}; expected one of ${commands.join(', ')}`);
    }
  }
}

/**
 * A reader that goes away (pfc-bench run | head) ends the output, not the command: the rest of
 * what it prints is dropped, its results and report are still written, and its exit status is
 * its own, with no stack trace. Any other failure to write the output is an error (exit 1).
 */
function quietWhenClosed(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    if (stream !== process.stderr) process.stderr.write(`pfc-bench: cannot write the output: ${error.message}\n`);
    process.exitCode = 1;
  });
}
quietWhenClosed(process.stdout);
quietWhenClosed(process.stderr);

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
