/**
 * `pfc-bench report RESULTS.json [...more] [--out DIR] [--format html,md,csv,svg,png]`:
 * re-renders the report of any results files (old runs included).
 */
import { UsageError, suggest } from '../core/errors.js';
import { parseOptions, type OptionSpec } from '../options.js';
import { REPORT_FORMATS, renderReport, type ReportFormat } from './hook.js';
import { loadRecordedStrategyModules, loadStrategyModules } from '../strategies/modules.js';

export const REPORT_USAGE = 'pfc-bench report RESULTS.json|PROFILE.json [...more] [--out DIR] [--format html,md,csv,svg,png]';

export const REPORT_OPTIONS: Record<string, OptionSpec> = {
  out: { kind: 'string', help: 'the output folder' },
  format: { kind: 'string', help: `a comma-separated list of ${REPORT_FORMATS.join(', ')}` },
  'strategy-module': { kind: 'string', repeat: true, help: "a strategy module whose strategies the files hold (the modules a results file records are loaded from their paths anyway); repeatable" },
};

export interface ReportArgs {
  paths: string[];
  strategyModules: string[];
  outDir?: string;
  formats: ReportFormat[];
}

export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const { options, positionals: paths } = parseOptions(argv, REPORT_OPTIONS, 'report', `usage: ${REPORT_USAGE}`);
  const values = options as { out?: string; format?: string };
  if (!paths.length) throw new UsageError('report', `expected at least one results file; usage: ${REPORT_USAGE}`);
  let formats: ReportFormat[] = [...REPORT_FORMATS];
  if (values.format !== undefined) {
    formats = [];
    for (const raw of values.format.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean)) {
      const f = raw === 'markdown' ? 'md' : raw;
      if (!(REPORT_FORMATS as readonly string[]).includes(f)) {
        throw new UsageError('--format', `unknown format '${raw}'${suggest(raw, REPORT_FORMATS)}; expected a comma-separated list of ${REPORT_FORMATS.join(', ')}`);
      }
      if (!formats.includes(f as ReportFormat)) formats.push(f as ReportFormat);
    }
    if (!formats.length) throw new UsageError('--format', `expected a comma-separated list of ${REPORT_FORMATS.join(', ')}`);
  }
  return { paths, outDir: values.out, formats, strategyModules: (options['strategy-module'] as string[] | undefined) ?? [] };
}

export async function reportCommand(argv: readonly string[]): Promise<number> {
  const args = parseReportArgs(argv);
  // Interconnect profiles (pfc-bench calibrate) are drawn as their busbw chart.
  const { isProfileFile, renderProfileChart } = await import('./charts/busbw.js');
  const profiles = args.paths.filter(isProfileFile);
  for (const profile of profiles) {
    for (const path of await renderProfileChart(profile, { outDir: args.outDir, png: args.formats.includes('png') })) process.stdout.write(`report: ${path}\n`);
  }
  args.paths = args.paths.filter((p) => !profiles.includes(p));
  if (!args.paths.length) return 0;
  // Strategy modules: the ones named (an error names a bad one), then the ones each file recorded.
  await loadStrategyModules(args.strategyModules);
  await loadRecordedStrategyModules(args.paths, (message) => process.stderr.write(`pfc-bench report: ${message}\n`));
  let output;
  try {
    output = await renderReport(args.paths, {
      outDir: args.outDir,
      formats: args.formats,
      warn: (message) => process.stderr.write(`pfc-bench report: ${message}\n`),
    });
  } catch (error) {
    throw new Error(`report: ${(error as Error).message}`);
  }
  for (const path of output.written) process.stdout.write(`report: ${path}\n`);
  return 0;
}
