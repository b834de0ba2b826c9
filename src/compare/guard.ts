#!/usr/bin/env node
/**
 * `npm run guard`: the performance regression guard. It judges the change, not the machine:
 * a baseline recorded on another CPU cannot judge timings (another OpenBLAS core or SIMD
 * target makes the same code look 5x slower), so the guard measures the baseline revision and
 * the candidate (this checkout) on this machine, in this job, interleaved, as asv's
 * `continuous` and Bencher's relative benchmarking do:
 *
 *   1. baseline revision: the one bench/baselines/ci.json was recorded at
 *      (context.tool.gitRevision); when that was dirty or is not in the repository, the merge
 *      base of HEAD and the upstream branch (or origin/main, upstream/main, main);
 *      --baseline-rev REV overrides. The guard says which it used.
 *   2. build it in a git worktree (.guard/REV, kept as a cache, so a rerun skips the build;
 *      --no-cache: a temporary one, removed afterwards): node_modules linked from this
 *      checkout, the native addon without CUDA (or, where that revision cannot build without
 *      it, in its default configuration), then its TypeScript. A failed build removes the
 *      worktree. The candidate's native build is brought up to date (incremental).
 *   3. measure A B / B A / A B ... (--rounds, default 3 each; the side that goes first
 *      alternates), each a separate `pfc-bench run` of the ci preset (the candidate's scenario
 *      file on both sides, so both run the same cells), then merge each side's runs and write
 *      OUT-DIR/guard-baseline.json and OUT-DIR/guard-current.json (re-comparable with
 *      `pfc-bench compare`: they share a context.pairedRun id, so they count as one machine).
 *   4. compare the two (the normal timing rule) and, figures only, the candidate against the
 *      committed bench/baselines/ci.json (memory per category, FLOPs, bytes, collectives must
 *      still match exactly; its timings are not judged).
 *
 * Exit codes as compare's: 0 ok, 1 regressed, 3 inconclusive, 2 bad usage (or a failed build).
 * --inject-slowdown PHASE:FACTOR sets PFC_SLOW_PHASE for the candidate's runs only (a test
 * hook of the CPU backend, see cpu-backend.ts): the guard must then say regressed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../core/binding.js';
import { UsageError } from '../core/errors.js';
import { parseSlowdown, SLOW_PHASE_ENV } from '../core/cpu-backend.js';
import { parseOptions, type OptionSpec } from '../options.js';
import type { ResultsFile } from '../bench/results.js';
import { writeResultsAtomically } from '../bench/sweep.js';
import { DEFAULT_COMPARE_OPTIONS, compareResults, readResults, type Comparison, type ComparisonVerdict } from './compare.js';
import { COMPARE_EXIT_CODES } from './command.js';
import { formatComparison } from './format.js';
import { mergeRuns, PRESETS } from './record.js';

export const GUARD_USAGE = 'npm run guard -- [--baseline-rev REV] [--rounds 3] [--inject-slowdown PHASE:FACTOR] [--no-cache] [--out-dir reports] [--all]';

const OPTIONS: Record<string, OptionSpec> = {
  'baseline-rev': { kind: 'string', help: 'the revision to measure against (default: the one bench/baselines/ci.json was recorded at, or the merge base)' },
  rounds: { kind: 'string', help: 'rounds of A B (alternating), one run of each side per round (3)' },
  'inject-slowdown': { kind: 'string', help: 'test hook: PHASE:FACTOR slows that phase of the candidate only (PFC_SLOW_PHASE)' },
  'no-cache': { kind: 'boolean', help: 'build the baseline in a temporary worktree and remove it afterwards' },
  'out-dir': { kind: 'string', help: 'where guard-baseline.json and guard-current.json go (reports)' },
  all: { kind: 'boolean', help: 'every metric, not only findings' },
};

export interface GuardArgs {
  baselineRev?: string;
  rounds: number;
  /** PFC_SLOW_PHASE value for the candidate's runs. */
  inject?: string;
  cache: boolean;
  outDir: string;
  all: boolean;
}

export function parseGuardArgs(argv: readonly string[]): GuardArgs {
  const { options, positionals } = parseOptions(argv, OPTIONS, 'guard', `usage: ${GUARD_USAGE}`);
  if (positionals.length) throw new UsageError('guard', `unexpected argument '${positionals[0]}'; usage: ${GUARD_USAGE}`);
  const rounds = options.rounds === undefined ? 3 : Number(options.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new UsageError('--rounds', `expected a whole number in [1, 50], got '${String(options.rounds)}'`);
  const inject = options['inject-slowdown'] as string | undefined;
  if (inject !== undefined) parseSlowdown(inject, '--inject-slowdown');
  return {
    baselineRev: options['baseline-rev'] as string | undefined,
    rounds,
    inject,
    cache: options['no-cache'] !== true,
    outDir: (options['out-dir'] as string | undefined) ?? 'reports',
    all: options.all === true,
  };
}

/** What the guard needs from the outside world; tests inject fakes. */
export interface GuardDeps {
  /** git in the candidate's checkout; returns stdout trimmed, throws on a non-zero exit. */
  git(args: string[]): string;
  /** A build step (cmake-js, tsc) in `cwd`; throws with its output's tail on failure. */
  exec(command: string, args: string[], cwd: string): void;
  /** One `pfc-bench run` of a side, writing `out`; returns the results it wrote. */
  runChild(side: Side, args: string[], out: string): ResultsFile;
  log(line: string): void;
  now(): number;
}

export interface Side {
  name: 'baseline' | 'candidate';
  /** The checkout whose dist/src/cli.js runs. */
  root: string;
  revision: string;
  env: NodeJS.ProcessEnv;
}

const commitOf = (git: GuardDeps['git'], ref: string): string | undefined => {
  try {
    return git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]) || undefined;
  } catch {
    return undefined;
  }
};

/** Branches a merge base may be taken with, in order of preference. */
export const UPSTREAMS = ['@{upstream}', 'upstream/main', 'origin/main', 'main', 'origin/master', 'master'];

/**
 * The baseline revision: --baseline-rev, else the one the committed baseline was recorded at
 * (when clean and present), else the merge base of HEAD with the upstream. `how` says which.
 */
export function resolveBaselineRev(recorded: string | undefined, override: string | undefined, git: GuardDeps['git']): { rev: string; how: string } {
  if (override !== undefined) {
    const rev = commitOf(git, override);
    if (!rev) throw new UsageError('--baseline-rev', `'${override}' is not a commit in this repository`);
    return { rev, how: `--baseline-rev ${override}` };
  }
  const dirty = recorded?.endsWith('-dirty') ?? false;
  const clean = recorded?.replace(/-dirty$/, '');
  const known = clean && clean !== 'unknown' ? commitOf(git, clean) : undefined;
  if (known && !dirty) return { rev: known, how: `the revision bench/baselines/ci.json was recorded at (${recorded})` };
  const why = !clean || clean === 'unknown'
    ? 'bench/baselines/ci.json records no revision'
    : dirty
      ? `bench/baselines/ci.json was recorded at ${recorded} (uncommitted changes on top of ${clean})`
      : `bench/baselines/ci.json was recorded at ${recorded}, which is not in this repository`;
  for (const upstream of UPSTREAMS) {
    if (!commitOf(git, upstream)) continue;
    let base: string;
    try {
      base = git(['merge-base', 'HEAD', upstream]);
    } catch {
      continue;
    }
    if (base) return { rev: base, how: `${why}; using the merge base of HEAD and ${upstream}` };
  }
  throw new UsageError('--baseline-rev', `${why}, and there is no upstream branch (${UPSTREAMS.join(', ')}) to take a merge base with; name a revision with --baseline-rev`);
}

export interface Tree {
  dir: string;
  cached: boolean;
  seconds: { native: number; tsc: number };
  /** Removes the worktree unless it is the cache. */
  cleanup(): void;
}

/** Removes a worktree (and its directory), tolerating one git no longer knows. */
function removeWorktree(dir: string, deps: GuardDeps): void {
  try {
    deps.git(['worktree', 'remove', '--force', dir]);
  } catch {
    // not a registered worktree (any more): the directory goes below
  }
  rmSync(dir, { recursive: true, force: true });
  try {
    deps.git(['worktree', 'prune']);
  } catch {
    // nothing to prune
  }
}

/**
 * The baseline revision built in a git worktree: .guard/REV under the candidate (a cache; a
 * marker file says the build completed) or a temporary one. A failed build removes it.
 */
export function prepareTree(rev: string, root: string, cache: boolean, deps: GuardDeps): Tree {
  const short = rev.slice(0, 12);
  const parent = cache ? join(root, '.guard') : mkdtempSync(join(tmpdir(), 'pfc-guard-'));
  const dir = join(parent, cache ? short : 'baseline');
  const marker = join(parent, `${short}.built`);
  const cleanup = () => {
    if (cache) return;
    removeWorktree(dir, deps);
    rmSync(parent, { recursive: true, force: true });
  };
  if (cache && existsSync(marker) && existsSync(join(dir, 'dist', 'src', 'cli.js'))) {
    deps.log(`guard: baseline ${short}: reusing the build in ${dir}`);
    return { dir, cached: true, seconds: { native: 0, tsc: 0 }, cleanup };
  }
  mkdirSync(parent, { recursive: true });
  rmSync(marker, { force: true });
  if (existsSync(dir)) removeWorktree(dir, deps);
  const stage = (name: string, run: () => void): number => {
    const started = deps.now();
    deps.log(`guard: baseline ${short}: ${name} ...`);
    run();
    const seconds = (deps.now() - started) / 1000;
    deps.log(`guard: baseline ${short}: ${name} done in ${seconds.toFixed(1)}s`);
    return seconds;
  };
  try {
    stage('git worktree add', () => deps.git(['worktree', 'add', '--detach', dir, rev]));
    const modules = join(root, 'node_modules');
    if (!existsSync(join(dir, 'node_modules'))) symlinkSync(modules, join(dir, 'node_modules'), 'dir');
    let native: number;
    try {
      native = stage('native build (no CUDA)', () => deps.exec('npx', ['cmake-js', 'compile', '--out', 'build', '--CDPFC_WITH_CUDA=OFF'], dir));
    } catch (error) {
      // Revisions whose CMakeLists compiles the CUDA bindings even with PFC_WITH_CUDA=OFF
      // (they need the CUDA headers) build only in their default configuration, which is
      // also how the candidate was built (npm ci).
      const first = (error as Error).message.split('\n').find((l) => /error/i.test(l)) ?? (error as Error).message.split('\n')[0];
      deps.log(`guard: baseline ${short}: it does not build with PFC_WITH_CUDA=OFF (${first.trim()}); building it in its default configuration`);
      rmSync(join(dir, 'build'), { recursive: true, force: true });
      native = stage('native build (default configuration)', () => deps.exec('npx', ['cmake-js', 'compile', '--out', 'build'], dir));
    }
    const tsc = stage('tsc', () => deps.exec('npx', ['tsc', '-p', 'tsconfig.json'], dir));
    if (cache) writeFileSync(marker, `${rev}\n`);
    return { dir, cached: false, seconds: { native, tsc }, cleanup };
  } catch (error) {
    deps.log(`guard: baseline ${short}: build failed; removing ${dir}`);
    removeWorktree(dir, deps);
    if (!cache) rmSync(parent, { recursive: true, force: true });
    throw error;
  }
}

/** Which side runs first in each round: A B, B A, A B, ... */
export function roundOrder(rounds: number): ('baseline' | 'candidate')[][] {
  return Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline']));
}

/** Runs both sides interleaved, the same args each; returns each side's runs in order. */
export function measureInterleaved(sides: Record<'baseline' | 'candidate', Side>, args: string[], rounds: number, dir: string, deps: GuardDeps): Record<'baseline' | 'candidate', ResultsFile[]> {
  const runs: Record<'baseline' | 'candidate', ResultsFile[]> = { baseline: [], candidate: [] };
  roundOrder(rounds).forEach((order, round) => {
    for (const name of order) {
      const started = deps.now();
      const results = deps.runChild(sides[name], [...args], join(dir, `${name}-${round}.json`));
      runs[name].push(results);
      const failed = results.cells.filter((c) => c.status !== 'completed').length;
      deps.log(`guard: round ${round + 1}/${rounds}: ${name} ${sides[name].revision.slice(0, 12)}: ${results.cells.length} cell(s)${failed ? `, ${failed} not completed` : ''} in ${((deps.now() - started) / 1000).toFixed(1)}s`);
    }
  });
  return runs;
}

/** The run arguments of the ci preset, with the candidate's scenario file on both sides. */
export function guardRunArgs(root: string): string[] {
  const args = [...PRESETS.ci.args];
  const i = args.indexOf('--scenario');
  args[i + 1] = join(root, 'bench', 'scenarios', `${args[i + 1]}.json`);
  return args;
}

export interface GuardOutcome {
  verdict: ComparisonVerdict;
  exitCode: number;
  timing: Comparison;
  figures: Comparison;
  baseline: { rev: string; how: string };
  cost: { buildSeconds: number; measureSeconds: number; cached: boolean };
  files: { baseline: string; current: string };
}

const worst = (a: ComparisonVerdict, b: ComparisonVerdict): ComparisonVerdict => (a === 'regressed' || b === 'regressed' ? 'regressed' : a === 'inconclusive' || b === 'inconclusive' ? 'inconclusive' : 'ok');

export function runGuard(args: GuardArgs, deps: GuardDeps, root = packageRoot()): GuardOutcome {
  const committedPath = join(root, 'bench', 'baselines', 'ci.json');
  const committed = readResults(committedPath);
  const head = deps.git(['rev-parse', 'HEAD']);
  const baseline = resolveBaselineRev(committed.context?.tool?.gitRevision, args.baselineRev, deps.git);
  deps.log(`guard: baseline ${baseline.rev.slice(0, 12)}: ${baseline.how}`);
  if (baseline.rev === head) deps.log('guard: note: the baseline is the candidate\'s own commit (HEAD): uncommitted changes aside, the same code is measured twice');
  deps.log(`guard: candidate: this checkout (${root}, HEAD ${head.slice(0, 12)})${args.inject ? `, with ${SLOW_PHASE_ENV}=${args.inject} injected` : ''}`);

  const buildStarted = deps.now();
  const candidateNative = (() => {
    const started = deps.now();
    deps.log('guard: candidate: native build (incremental) ...');
    deps.exec('npx', ['cmake-js', 'compile', '--out', 'build'], root);
    return (deps.now() - started) / 1000;
  })();
  const tree = prepareTree(baseline.rev, root, args.cache, deps);
  const buildSeconds = (deps.now() - buildStarted) / 1000;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env[SLOW_PHASE_ENV];
    const sides: Record<'baseline' | 'candidate', Side> = {
      baseline: { name: 'baseline', root: tree.dir, revision: baseline.rev, env },
      candidate: { name: 'candidate', root, revision: head, env: args.inject ? { ...env, [SLOW_PHASE_ENV]: args.inject } : env },
    };
    const runArgs = guardRunArgs(root);
    deps.log(`guard: measuring ${args.rounds} round(s), interleaved: pfc-bench run ${runArgs.join(' ')}`);
    const scratch = mkdtempSync(join(tmpdir(), 'pfc-guard-runs-'));
    const measureStarted = deps.now();
    let runs: Record<'baseline' | 'candidate', ResultsFile[]>;
    try {
      runs = measureInterleaved(sides, runArgs, args.rounds, scratch, deps);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const measureSeconds = (deps.now() - measureStarted) / 1000;
    const id = `${baseline.rev.slice(0, 12)}..${head.slice(0, 12)}@${new Date().toISOString()}`;
    const stamp = (r: ResultsFile, side: 'baseline' | 'candidate'): ResultsFile => ({
      ...r,
      context: { ...r.context, pairedRun: { id, side, revision: sides[side].revision, against: sides[side === 'baseline' ? 'candidate' : 'baseline'].revision } },
    });
    const base = stamp(mergeRuns(runs.baseline), 'baseline');
    const cur = stamp(mergeRuns(runs.candidate), 'candidate');
    mkdirSync(resolve(root, args.outDir), { recursive: true });
    const files = { baseline: resolve(root, args.outDir, 'guard-baseline.json'), current: resolve(root, args.outDir, 'guard-current.json') };
    writeResultsAtomically(files.baseline, base);
    writeResultsAtomically(files.current, cur);
    const timing = compareResults(base, cur, DEFAULT_COMPARE_OPTIONS, files);
    const figures = compareResults(committed, cur, { ...DEFAULT_COMPARE_OPTIONS, figuresOnly: true }, { baseline: committedPath, current: files.current });
    const verdict = worst(timing.verdict, figures.verdict);
    const cost = { buildSeconds, measureSeconds, cached: tree.cached };
    deps.log(
      `guard: cost: build ${buildSeconds.toFixed(1)}s (candidate native ${candidateNative.toFixed(1)}s; baseline ${tree.cached ? 'cached' : `native ${tree.seconds.native.toFixed(1)}s, tsc ${tree.seconds.tsc.toFixed(1)}s`}), measure ${measureSeconds.toFixed(1)}s (${2 * args.rounds} runs)`,
    );
    return { verdict, exitCode: COMPARE_EXIT_CODES[verdict], timing, figures, baseline, cost, files };
  } finally {
    tree.cleanup();
  }
}

export function formatGuard(o: GuardOutcome, all = false): string {
  const out = [
    `== timings: baseline ${o.baseline.rev.slice(0, 12)} vs candidate, measured interleaved on this machine ==`,
    formatComparison(o.timing, all),
    '',
    `== deterministic figures: candidate vs the committed bench/baselines/ci.json (timings not judged) ==`,
    formatComparison(o.figures, all),
    '',
    `guard: ${o.verdict.toUpperCase()} (timings ${o.timing.verdict}, figures ${o.figures.verdict}); cost: build ${o.cost.buildSeconds.toFixed(1)}s${o.cost.cached ? ' (baseline cached)' : ''}, measure ${o.cost.measureSeconds.toFixed(1)}s`,
    `guard: files: ${o.files.baseline} ${o.files.current} (re-compare with pfc-bench compare)`,
  ];
  return out.join('\n');
}

function realDeps(root: string): GuardDeps {
  return {
    git(args) {
      const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
      return r.stdout.trim();
    },
    exec(command, args, cwd) {
      const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
      if (r.error) throw r.error;
      if (r.status !== 0) {
        const tail = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-30).join('\n');
        throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with exit ${r.status}:\n${tail}`);
      }
    },
    runChild(side, args, out) {
      const r = spawnSync(process.execPath, [join(side.root, 'dist', 'src', 'cli.js'), 'run', ...args, '--out', out, '--no-report', '--quiet'], { cwd: side.root, env: side.env, stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.error) throw r.error;
      if (!existsSync(out)) throw new Error(`${side.name} ${side.revision.slice(0, 12)}: pfc-bench run exited with ${r.status ?? r.signal} and wrote no results`);
      return readResults(out);
    },
    log: (line) => process.stderr.write(`${line}\n`),
    now: () => Date.now(),
  };
}

function main(argv: string[]): number {
  const args = parseGuardArgs(argv);
  const root = packageRoot();
  const outcome = runGuard(args, realDeps(root), root);
  process.stdout.write(`${formatGuard(outcome, args.all)}\n`);
  return outcome.exitCode;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`guard: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
