/**
 * Strategy modules from outside the repository (issue 19): the example module
 * (examples/fixed-negatives) copied to a folder outside the repository, pointed at this checkout
 * as its pfc-bench dependency (node_modules/pfc-bench, a link), compiled with the repository's tsc
 * and tested with its own tests; then loaded by the CLI in run (sweeps, child processes, results
 * recording path, version and SHA-256), report (its ratio rows over model parallel), compare (a
 * changed module is a changed revision), strategies, a scenario's strategyModules, and real mode
 * on every MPI rank. Each way a module can be wrong is an error naming it, and the rest of the
 * sweep runs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultsFile } from '../src/bench/results.js';
import { compareResults } from '../src/compare/compare.js';
import { mpiSkip, mpirun, describeJob, runProcess } from './distributed/launch.js';
import { fixtureCases, type FcCase, type RankOutput } from './distributed/fixture.js';
import { checkAgainstEmulation, checkAgainstReference } from './distributed/checks.js';
import { loadStrategyModule } from '../src/strategies/modules.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const cli = join(repo, 'dist', 'src', 'cli.js');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

let dir: string;
let plugin: string;

function pfc(args: string[], cwd = dir) {
  const env = { ...process.env };
  delete env.PFC_STRATEGY_MODULES;
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 240_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const SMALL = ['--classes', '8192', '--gpus', '4', '--batch', '64', '--dim', '32', '--steps', '2', '--warmup', '1', '--backend', 'cpu', '--threads', '1', '--quiet'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pfc-strategy-module-'));
  plugin = join(dir, 'fixed-negatives');
  cpSync(join(repo, 'examples', 'fixed-negatives'), plugin, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
  // The module's dependencies: this checkout as pfc-bench (as npm link or a file: dependency would), and @types/node for its tests.
  mkdirSync(join(plugin, 'node_modules', '@types'), { recursive: true });
  symlinkSync(repo, join(plugin, 'node_modules', 'pfc-bench'), 'dir');
  symlinkSync(join(repo, 'node_modules', '@types', 'node'), join(plugin, 'node_modules', '@types', 'node'), 'dir');
  const built = spawnSync(process.execPath, [tsc, '-p', join(plugin, 'tsconfig.json')], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(built.status, 0, `the example module compiles outside the repository: ${built.stdout}${built.stderr}`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the example module, built outside the repository, passes its own tests (pfc-bench/strategy harness: float64 reference, memory model, K negatives)', () => {
  // Its own test run, not a subtest of this one (NODE_TEST_CONTEXT would make it report to this runner).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--test', join(plugin, 'dist', 'test')], { cwd: plugin, encoding: 'utf8', timeout: 240_000, env });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# pass [1-9]\d*/);
  assert.match(r.stdout, /# fail 0/);
});

test('pfc-bench strategies lists the loaded strategy with its capabilities and module (path, version, SHA-256)', () => {
  const r = pfc(['strategies', '--strategy-module', './fixed-negatives', '--json']);
  assert.equal(r.code, 0, r.err);
  const listed = JSON.parse(r.out) as { apiVersion: number; strategies: { name: string; origin: string; updates: string[]; logits: string[]; samples: boolean; lazyDenseClock: string; baseline: string; module?: { path: string; version: string; sha256: string } }[] };
  assert.equal(listed.apiVersion, 1);
  assert.deepEqual(listed.strategies.map((s) => s.name), ['data-parallel', 'model-parallel', 'partial-fc', 'fixed-negatives']);
  const s = listed.strategies[3];
  assert.deepEqual([s.samples, s.updates, s.logits, s.lazyDenseClock, s.baseline], [true, ['sparse', 'dense', 'lazy-dense'], ['materialized', 'fused'], 'per-shard-row', 'model-parallel']);
  const file = join(plugin, 'dist', 'src', 'index.js');
  assert.equal(s.module?.path, file);
  assert.equal(s.module?.version, '1.0.0');
  assert.equal(s.module?.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
  assert.equal(listed.strategies[0].origin, 'built-in');
});

test('run sweeps a module strategy beside the built-in ones (each cell in its own process), records the module, and the report gives it ratio rows over model parallel', () => {
  const out = join(dir, 'run.json');
  const scenario = join(dir, 'sweep.json');
  // One labelled setting, one cell per method: the report's seed table and its ratio rows.
  writeFileSync(scenario, JSON.stringify({ name: 'run', defaults: { label: '8k@4' }, cells: [{ strategy: 'model-parallel' }, ...['partial-fc', 'fixed-negatives'].flatMap((strategy) => ['sparse', 'lazy-dense'].map((update) => ({ strategy, update })))] }));
  const r = pfc(['run', '--strategy-module', plugin, '--scenario', scenario, ...SMALL, '--out', out, '--no-report']);
  assert.equal(r.code, 0, r.err);
  const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.deepEqual(results.cells.map((c) => `${c.spec.strategy} ${c.spec.update} ${c.status}`), [
    'model-parallel sparse completed',
    'partial-fc sparse completed',
    'partial-fc lazy-dense completed',
    'fixed-negatives sparse completed',
    'fixed-negatives lazy-dense completed',
  ]);
  const m = results.strategyModules?.[0];
  assert.deepEqual([m?.path, m?.package, m?.version, m?.strategies], [join(plugin, 'dist', 'src', 'index.js'), 'pfc-fixed-negatives', '1.0.0', ['fixed-negatives']]);
  assert.match(String(m?.sha256), /^[0-9a-f]{64}$/);
  // Its lazy-dense keeps the per-row clock: one int32 more per centre of the shard (2048 here) than its sparse.
  const optimizer = (update: string) => results.cells.find((c) => c.spec.strategy === 'fixed-negatives' && c.spec.update === update)!.memory!.atPeak.optimizer;
  assert.equal(optimizer('lazy-dense') - optimizer('sparse'), 2048 * 4);
  // K = floor(0.1 x 2048) = 204 negatives besides the positives of the batch (64 labels at most).
  const active = results.cells.find((c) => c.spec.strategy === 'fixed-negatives')!.activeCentres!;
  assert.ok(active > 204 && active <= 204 + 64, `active ${active}`);

  // The report, in a fresh process: the module is loaded from the path the file records.
  const rep = pfc(['report', out, '--out', join(dir, 'report'), '--format', 'md']);
  assert.equal(rep.code, 0, rep.err);
  const md = readFileSync(join(dir, 'report', 'run.md'), 'utf8');
  assert.match(md, /Fixed negatives 0\.1 \(sparse\) \/ Model Parallel/, 'a ratio row over its baseline');
  assert.match(md, /Fixed negatives 0\.1 \(lazy-dense\) \/ Model Parallel/);
  assert.match(md, /Partial FC 0\.1 \(sparse\) \/ Model Parallel/);

  // compare: the same module is no note; a changed one is a changed revision.
  const same = compareResults(results, results, undefined, { baseline: 'a', current: 'b' });
  assert.equal(same.notes.filter((n) => /strategy module/.test(n)).length, 0);
  assert.match(same.current.strategyModules[0], /^pfc-fixed-negatives@1\.0\.0 sha256:[0-9a-f]{12} \(fixed-negatives\)$/);
  const changed = structuredClone(results);
  changed.strategyModules![0] = { ...changed.strategyModules![0], version: '1.0.1', sha256: 'f'.repeat(64) };
  const diff = compareResults(results, changed, undefined, { baseline: 'a', current: 'b' });
  assert.ok(diff.notes.some((n) => /strategy module of fixed-negatives changed: pfc-fixed-negatives@1\.0\.0 .* -> pfc-fixed-negatives@1\.0\.1 sha256:ffffffffffff/.test(n)), diff.notes.join('\n'));
});

test("a scenario's strategyModules (relative to the scenario file) load the module for its cells, and capacity runs it", () => {
  const scenario = join(plugin, 'scenario.json');
  writeFileSync(scenario, JSON.stringify({ name: 'fixed-negatives-test', strategyModules: ['.'], defaults: { classes: 8192, gpus: 4, batch: 64, dim: 32, steps: 2, warmup: 1, backend: 'cpu', threads: 1 }, cells: [{ strategy: 'fixed-negatives' }, { strategy: 'partial-fc' }] }));
  const out = join(dir, 'scenario.json');
  const r = pfc(['run', '--scenario', scenario, '--out', out, '--no-report', '--quiet'], repo);
  assert.equal(r.code, 0, r.err);
  const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.deepEqual(results.cells.map((c) => `${c.spec.strategy} ${c.status}`), ['fixed-negatives completed', 'partial-fc completed']);
  const cap = join(dir, 'capacity.json');
  const c = pfc(['capacity', '--strategy-module', plugin, '--strategy', 'fixed-negatives', '--gpus', '8', '--batch', '64', '--dim', '32', '--gpu-memory', '64MiB', '--backend', 'cpu', '--quiet', '--no-report', '--out', cap]);
  assert.equal(c.code, 0, c.err);
  const answer = (JSON.parse(readFileSync(cap, 'utf8')) as ResultsFile).cells[0].capacity!;
  assert.ok(answer.largestClasses > 0 && answer.confirmedFit && answer.confirmedOomAbove, JSON.stringify(answer));
});

/** A module in the test folder, importing pfc-bench's API through the example's link. */
function badModule(name: string, body: string): string {
  const path = join(plugin, `${name}.mjs`);
  writeFileSync(path, `import * as api from 'pfc-bench/strategy';\n${body}\n`);
  return path;
}

/** Partial FC rebuilt from the public API, declaring lazy-dense but built without its clock: lazy-dense runs sparse (the fourth strategy). */
const LAZY_WITHOUT_CLOCK = `
export const apiVersion = 1;
const d = {
  name: 'lazy-without-clock', summary: 'declares lazy-dense, keeps no clock', samples: true,
  updates: api.UPDATE_KINDS, logits: ['materialized'], lazyDenseClock: 'none', layout: 'sharded', collectives: api.shardedCollectives,
  kernelShapes: (config, rank) => api.shardedKernelShapes(config, rank, (n) => api.sampledCapacity(config.batch, n, config.sampleRate), true),
  examples: [{ config: { sampleRate: 0.3 } }], colours: ['#000'], order: 9,
  create: (ctx) => new api.ShardedSoftmaxFc(d, ctx, (shard, owner) => {
    const capacity = api.sampledCapacity(ctx.config.batch, shard.size, ctx.config.sampleRate);
    const keys = owner.own(api.allocate(ctx.backend, 'workspace', 'int32', shard.size, 2));
    const indices = owner.own(api.allocate(ctx.backend, 'workspace', 'int32', capacity));
    const spec = { shardOffset: shard.offset, shardSize: shard.size, numSampled: api.numSampled(ctx.config.sampleRate, shard.size), seed: ctx.config.seed, stream: 0 };
    return { capacity, select(labels, remapped, step) { spec.stream = api.streamId('sampling', step); const count = api.core().sampleCentres(labels, spec, keys, indices, remapped); return { count, indices: indices.view(0, count) }; } };
  }),
  memory: (config, rank) => api.shardedMemory(config, rank, { capacity: (n) => api.sampledCapacity(config.batch, n, config.sampleRate), selectionBytes: (n, c) => n * 8 + c * 4, lazyDenseClock: d.lazyDenseClock }),
  work: (config, active, shardSize) => api.shardedWork(config, active, { updatedRows: active, capacity: shardSize }),
  gemmRows: (config) => config.batch, title: () => 'lazy without clock', label: () => 'lazy-without-clock', sortKey: () => 0,
};
export default d;`;

test('each way a module can be wrong is a usage error naming the module (exit 2), before anything runs', () => {
  const cases: [string, string, RegExp][] = [
    ['missing', join(dir, 'no-such-module.js'), /--strategy-module: .*no-such-module\.js: no file or folder/],
    ['throws on import', badModule('throws', "throw new Error('broken at import');"), /throws\.mjs: cannot import .*broken at import/],
    ['no apiVersion', badModule('no-version', 'export default {};'), /no-version\.mjs: exports apiVersion undefined; this pfc-bench implements strategy API version 1/],
    ['nothing valid', badModule('nothing', 'export const apiVersion = 1; export const x = 3;'), /nothing\.mjs: .*exports no strategy descriptor/],
    ['an incomplete descriptor', badModule('incomplete', "export const apiVersion = 1; export default { name: 'half', create() {} };"), /incomplete\.mjs: strategy "half" is not a valid descriptor: summary must be a non-empty string; .*updates must be/],
    ['a built-in name', badModule('reuse', "import { fixedNegatives } from './dist/src/index.js'; export const apiVersion = 1; export default { ...fixedNegatives, name: 'partial-fc' };"), /reuse\.mjs: .*strategy 'partial-fc' is already a built-in strategy/],
    ['a capability it lacks', badModule('lazy-without-clock', LAZY_WITHOUT_CLOCK), /lazy-without-clock\.mjs: strategy 'lazy-without-clock' declares capabilities it does not implement: --update lazy-dense --logits materialized: not the float64 reference step for it \(step \d: centres: relative error/],
  ];
  for (const [what, module, message] of cases) {
    const r = pfc(['strategies', '--strategy-module', module]);
    assert.equal(r.code, 2, `${what}: ${r.err}`);
      assert.match(r.err, message, what);
  }
});

test('a module that fails to load costs only its own cells: they are errors carrying its message, the rest of the sweep runs (exit 1)', () => {
  const module = badModule('lazy-without-clock-2', LAZY_WITHOUT_CLOCK.replace("name: 'lazy-without-clock'", "name: 'lazy-lies'"));
  const out = join(dir, 'partial.json');
  const r = pfc(['run', '--strategy-module', module, '--strategy', 'model-parallel,lazy-lies,partial-fc', ...SMALL, '--out', out, '--no-report']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /--strategy-module .*lazy-without-clock-2\.mjs: strategy 'lazy-lies' declares capabilities it does not implement/);
  const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.deepEqual(results.cells.map((c) => `${c.spec.strategy} ${c.status}`), ['model-parallel completed', 'lazy-lies error', 'partial-fc completed']);
  assert.match(String(results.cells[1].error), /strategy 'lazy-lies' is not registered; --strategy-module .*lazy-without-clock-2\.mjs failed: .*lazy-dense/);
  assert.equal(results.strategyModuleFailures?.length, 1);
  // Without a failed module, an unknown strategy is still a usage error before anything runs.
  const unknown = pfc(['run', '--strategy', 'lazy-lies', ...SMALL, '--out', join(dir, 'x.json')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--strategy: unknown value 'lazy-lies'/);
});

test('the MPI equality test on the module: 2 and 3 real ranks equal the float64 reference and the emulated ranks, for each declared update and logits mode', { skip: mpiSkip, timeout: 240_000 }, async () => {
  const record = await loadStrategyModule(plugin, { check: false });
  assert.ok(!('message' in record), JSON.stringify(record));
  const worker = join(repo, 'dist', 'test', 'distributed', 'fc-worker.js');
  const theirs = (c: FcCase) => c.overrides.strategy === 'fixed-negatives';
  assert.equal(fixtureCases().filter(theirs).length, 6, 'three updates x two logits modes');
  for (const size of [2, 3]) {
    const out = mkdtempSync(join(dir, 'mpi-'));
    const job = await runProcess('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(size), process.execPath, worker, out], 150, { ...process.env, PFC_STRATEGY_MODULES: JSON.stringify([record.path]) });
    assert.ok(!job.timedOut && job.code === 0, describeJob(job));
    const outputs = Array.from({ length: size }, (_, r) => JSON.parse(readFileSync(join(out, `rank-${r}.json`), 'utf8')) as RankOutput);
    checkAgainstReference(size, outputs, theirs);
    checkAgainstEmulation(size, outputs, theirs);
  }
});

test('real mode: every MPI rank loads the module; 2 ranks run its cell and rank 0 records the module', { skip: mpiSkip, timeout: 180_000 }, async () => {
  const out = join(dir, 'real.json');
  const job = await mpirun([{ np: 2, args: [cli, 'run', '--strategy-module', plugin, '--strategy', 'fixed-negatives', '--mode', 'real', '--gpus', '2', '--classes', '41', '--batch', '8', '--dim', '9', '--sample-rate', '0.3', '--steps', '2', '--warmup', '1', '--backend', 'cpu', '--threads', '1', '--out', out, '--no-report', '--quiet'] }], 150);
  assert.ok(!job.timedOut && job.code === 0, describeJob(job));
  const results = JSON.parse(readFileSync(out, 'utf8')) as ResultsFile;
  assert.equal(results.cells[0].status, 'completed', results.cells[0].error);
  assert.equal(results.cells[0].memory?.perRankPeakBytes?.length, 2);
  assert.ok(Number.isFinite(results.cells[0].loss));
  assert.equal(results.strategyModules?.[0].strategies[0], 'fixed-negatives');
  appendFileSync(join(dir, 'done'), 'real\n');
});

test("docs/strategy-modules.md's table is the committed report's, rendered from the committed results file", () => {
  const doc = readFileSync(join(repo, 'docs', 'strategy-modules.md'), 'utf8');
  const block = /<!-- table: (\S+) -->\n([\s\S]*?)<!-- end table -->/.exec(doc);
  assert.ok(block, 'a table between <!-- table: FILE --> and <!-- end table -->');
  const report = readFileSync(join(repo, block[1]), 'utf8');
  assert.ok(report.includes(block[2]), `the table is in ${block[1]}`);
  assert.match(block[2], /Fixed negatives 0\.1 \(sparse\) \/ Model Parallel/);
  const results = JSON.parse(readFileSync(join(repo, block[1].replace(/\.md$/, '.json')), 'utf8')) as ResultsFile;
  assert.equal(results.strategyModules?.[0].package, 'pfc-fixed-negatives');
  assert.ok(results.cells.every((c) => c.status === 'completed'));
});
