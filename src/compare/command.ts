/**
 * `pfc-bench compare BASELINE.json CURRENT.json [--threshold 1.15] [--memory-tolerance 0]
 * [--min-phase-effect 0.075] [--min-trials 3] [--reference-bound 3] [--figures-only] [--json] [--all]`: exit 0
 * when nothing regressed, 1 when something did (or a baseline cell is missing or failed in the
 * current run), 3 when a slowdown is inconclusive (too few trials, or the GEMM reference moved
 * beyond the bound, or the files were timed on different CPUs: their CPU signatures differ),
 * 2 on bad input. --figures-only compares the deterministic figures alone.
 */
import { simulatedCell } from '../bench/results.js';
import { UsageError } from '../core/errors.js';
import { parseOptions, type OptionSpec } from '../options.js';
import { DEFAULT_COMPARE_OPTIONS, compareResults, readResults, type CompareOptions } from './compare.js';
import { formatComparison } from './format.js';

export const COMPARE_USAGE =
  'pfc-bench compare BASELINE.json CURRENT.json [--threshold 1.15] [--memory-tolerance 0] [--min-phase-effect 0.075] [--min-trials 3] [--reference-bound 3] [--figures-only] [--json] [--all]';

export const COMPARE_EXIT_STATUS = 'exit status: 0 ok, 1 regressed, 3 inconclusive (a slowdown the trials or the GEMM reference cannot carry), 2 bad input (an unreadable file, or no cell with the same configuration on both sides)';

/** Exit codes: ok, regressed, inconclusive (2 is a usage error). */
export const COMPARE_EXIT_CODES = { ok: 0, regressed: 1, inconclusive: 3 } as const;

const NUMBERS = ['threshold', 'memory-tolerance', 'min-phase-effect', 'min-trials', 'reference-bound'] as const;
export const COMPARE_OPTIONS: Record<string, OptionSpec> = {
  threshold: { kind: 'string', help: 'a ratio above 1, e.g. 1.15' },
  'memory-tolerance': { kind: 'string', help: 'a relative tolerance in [0, 1]' },
  'min-phase-effect': { kind: 'string', help: 'a share of the step in [0, 1]' },
  'min-trials': { kind: 'string', help: 'trials per side below which a slowdown is inconclusive (3)' },
  'reference-bound': { kind: 'string', help: 'GEMM reference ratio beyond which a slowdown is inconclusive (3)' },
  'figures-only': { kind: 'boolean', help: 'compare the deterministic figures only (memory, FLOPs, bytes, collectives), not timings' },
  json: { kind: 'boolean', help: 'JSON output' },
  all: { kind: 'boolean', help: 'every metric, not only findings' },
};

export interface CompareArgs {
  baseline: string;
  current: string;
  options: CompareOptions;
  json: boolean;
  all: boolean;
}

export function parseCompareArgs(argv: readonly string[]): CompareArgs {
  const { options: values, positionals: paths } = parseOptions(argv, COMPARE_OPTIONS, 'compare', `usage: ${COMPARE_USAGE}`);
  if (paths.length !== 2) throw new UsageError('compare', `expected two results files (baseline, current), got ${paths.length}; usage: ${COMPARE_USAGE}`);
  const options: CompareOptions = { ...DEFAULT_COMPARE_OPTIONS };
  const number = (name: (typeof NUMBERS)[number], min: number, max: number, fallback: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (String(raw).trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}`, `expected a number in [${min}, ${max}], got '${String(raw)}'`);
    return n;
  };
  options.threshold = number('threshold', 1, 100, options.threshold);
  if (options.threshold === 1) throw new UsageError('--threshold', 'must be above 1 (a ratio of normalized times, e.g. 1.15)');
  options.memoryTolerance = number('memory-tolerance', 0, 1, options.memoryTolerance);
  options.minPhaseEffect = number('min-phase-effect', 0, 1, options.minPhaseEffect);
  options.minTrials = number('min-trials', 1, 1000, options.minTrials);
  if (!Number.isInteger(options.minTrials)) throw new UsageError('--min-trials', `expected a whole number, got ${options.minTrials}`);
  options.referenceBound = number('reference-bound', 1, 1000, options.referenceBound);
  options.figuresOnly = values['figures-only'] === true;
  return { baseline: paths[0], current: paths[1], options, json: values.json === true, all: values.all === true };
}

export function compareCommand(argv: readonly string[], write: (text: string) => void = (t) => process.stdout.write(t)): number {
  const args = parseCompareArgs(argv);
  const read = (path: string, role: string) => {
    try {
      return readResults(path);
    } catch (error) {
      throw new UsageError(role, (error as Error).message);
    }
  };
  const baseline = read(args.baseline, 'BASELINE');
  const current = read(args.current, 'CURRENT');
  // A prediction is no measurement: there is nothing to judge a regression by.
  for (const [role, path, file] of [['BASELINE', args.baseline, baseline], ['CURRENT', args.current, current]] as const) {
    const predicted = file.cells.filter((c) => c.spec.mode === 'predict').length;
    if (predicted) throw new UsageError(role, `${path} holds ${predicted} predicted cell(s) (--mode predict: no kernel ran); compare judges measurements only, and refuses to judge predictions`);
    const simulated = file.cells.filter(simulatedCell).length;
    if (simulated) throw new UsageError(role, `${path} holds ${simulated} cell(s) run on the simulated device (--backend cuda-sim), whose times mean nothing for a GPU; compare judges measured times only`);
  }
  const comparison = compareResults(baseline, current, args.options, { baseline: args.baseline, current: args.current });
  if (comparison.common === 0) {
    // Nothing was compared: two files of different configurations are a mistake to name, not a regression.
    const missing = comparison.cells.find((c) => c.verdict === 'missing');
    throw new UsageError(
      'compare',
      `${args.baseline} and ${args.current} have no cell with the same configuration, so nothing was compared` +
        (missing ? ` (e.g. baseline ${missing.label} ${missing.strategy}: ${missing.detail!.replace(/^cell is in the baseline but not in the current results: /, '')})` : baseline.cells.length === 0 ? ' (the baseline has no cells)' : '') +
        '; compare needs two runs of the same cells (same classes, GPUs, batch, method, interconnect, ...)',
    );
  }
  write(args.json ? `${JSON.stringify(comparison, null, 1)}\n` : `${formatComparison(comparison, args.all)}\n`);
  return COMPARE_EXIT_CODES[comparison.verdict];
}
