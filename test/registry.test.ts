/**
 * The two registries: strategies (one descriptor each; validation and creation go through it)
 * and communicators (a factory of mode, ranks and backend, in src/comm).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRATEGY_NAMES, strategyDescriptors, strategyOf, validateFcConfig, findStrategy } from '../src/strategies/index.js';
import { openCommunicator, registerCommunicator } from '../src/comm/registry.js';
import { UsageError } from '../src/core/errors.js';
import { testBackend, smallConfig } from './helpers.js';
import { modelMemory } from '../src/strategies/memory-model.js';
import { stepWork } from '../src/strategies/work-model.js';
import { methodLabel, methodTitle } from '../src/bench/method.js';

test('every registered strategy has a complete descriptor, and the registry is the list of names', () => {
  assert.deepEqual([...STRATEGY_NAMES], strategyDescriptors().map((d) => d.name));
  for (const d of strategyDescriptors()) {
    const config = smallConfig({ strategy: d.name, classes: 1000, ranks: 4, batch: 16, dim: 8, sampleRate: d.samples ? 0.5 : 1 });
    const bytes = d.memory(config, 0);
    assert.ok(Object.values(bytes).every((b) => Number.isInteger(b) && b >= 0), d.name);
    assert.deepEqual(modelMemory(config, 0), bytes, 'memory-model asks the descriptor');
    const work = d.work(config, 100, 250);
    assert.deepEqual(stepWork(config, 100, 250), work, 'work-model asks the descriptor');
    assert.ok(work.flops >= work.gemmFlops && work.gemmFlops === 3 * 2 * d.gemmRows(config) * 100 * config.dim, `${d.name}: three GEMMs of gemmRows x active x D`);
    assert.ok(d.title(config).length > 0 && d.label(config).length > 0 && d.colours.length > 0);
    assert.equal(methodTitle(config), d.title(config));
  }
  assert.equal(findStrategy('gone-strategy'), undefined);
  assert.equal(methodLabel({ strategy: 'gone-strategy', sampleRate: 1, update: 'sparse' }), 'gone-strategy', 'an old file\'s unknown strategy is shown by its name');
});

test('the descriptor decides who samples: a rate below 1 is refused for the others; unknown names are named', () => {
  for (const d of strategyDescriptors()) {
    const attempt = () => smallConfig({ strategy: d.name, classes: 1000, ranks: 4, batch: 16, dim: 8, sampleRate: 0.5 });
    if (d.samples) assert.doesNotThrow(attempt);
    else assert.throws(attempt, (e: unknown) => e instanceof UsageError && e.option === '--sample-rate');
  }
  assert.throws(() => strategyOf('partial_fc'), /--strategy: unknown value 'partial_fc'.*did you mean 'partial-fc'/);
  assert.throws(() => validateFcConfig({ ...smallConfig(), strategy: 'nope' }), /--strategy/);
});

test('communicators come from one factory of (mode, ranks, backend); a missing one is a usage error naming --mode', () => {
  const backend = testBackend();
  const single = openCommunicator({ mode: 'single', ranks: 1, rank: 0 }, backend);
  assert.equal(single.kind, 'single');
  const emulated = openCommunicator({ mode: 'emulate', ranks: 8, rank: 3 }, backend);
  assert.deepEqual([emulated.kind, emulated.rank, emulated.size], ['emulated', 3, 8]);
  const fakeCuda = { ...backend, name: 'cuda' } as typeof backend;
  assert.throws(() => openCommunicator({ mode: 'real', ranks: 2, rank: 0 }, fakeCuda), (e: unknown) => e instanceof UsageError && e.option === '--mode' && /NCCL communicator/.test(e.message));
  // A registered factory is what a mode gets (as mpi.ts and nccl.ts register theirs).
  let asked: unknown;
  registerCommunicator('real', 'cuda', (request) => {
    asked = request;
    return openCommunicator({ mode: 'emulate', ranks: request.ranks, rank: request.rank }, backend);
  });
  assert.equal(openCommunicator({ mode: 'real', ranks: 2, rank: 1 }, fakeCuda).rank, 1);
  assert.deepEqual(asked, { mode: 'real', ranks: 2, rank: 1 });
});

test("ratio rows divide each cell by its baseline: --baseline on the cell, else the descriptor's (model parallel by default; none for model and data parallel)", async () => {
  const { settingRatios } = await import('../src/report/data.js');
  const { planRun } = await import('../src/run-args.js');
  const cell = (strategy: string, ips: number, peak: number, baseline?: string) =>
    ({ id: strategy, status: 'completed', spec: { ...smallConfig({ strategy, sampleRate: strategy === 'partial-fc' ? 0.5 : 1 }), label: 's', ...(baseline ? { baseline } : {}) }, timing: { imagesPerSecond: ips }, memory: { peakBytes: peak } }) as unknown as import('../src/bench/results.js').CellResult;
  const setting = (cells: ReturnType<typeof cell>[]) => ({ run: 'r', runIndex: 0, label: 's', cells });
  const byDefault = settingRatios(setting([cell('data-parallel', 100, 1000), cell('model-parallel', 200, 800), cell('partial-fc', 600, 400)]));
  assert.deepEqual(byDefault.map((r) => [r.method, r.base, r.throughput, r.memory]), [['Partial FC 0.5 (sparse)', 'Model Parallel', 3, 0.5]]);
  const overData = settingRatios(setting([cell('data-parallel', 100, 1000), cell('model-parallel', 200, 800), cell('partial-fc', 600, 400, 'data-parallel')]));
  assert.deepEqual(overData.map((r) => [r.method, r.base, r.throughput, r.memory]), [['Partial FC 0.5 (sparse)', 'Data Parallel', 6, 0.4]]);
  // The field: '' is the descriptor's; a strategy name is checked like --strategy; absent from the spec unless given.
  const spec = (argv: string[]) => planRun('run', ['--strategy', 'partial-fc', '--classes', '1000', '--gpus', '2', '--batch', '4', '--dim', '8', ...argv])!.specs[0];
  assert.equal('baseline' in spec([]), false);
  assert.equal(spec(['--baseline', 'data-parallel']).baseline, 'data-parallel');
  assert.throws(() => spec(['--baseline', 'modelparallel']), /--baseline: unknown value 'modelparallel'.*did you mean 'model-parallel'/);
});

test('a descriptor decides the --update and --logits values; every built-in strategy implements what it declares (the load check of a module)', async () => {
  const { registerStrategy, unregisterStrategy } = await import('../src/strategies/registry.js');
  const { capabilityFailures } = await import('../src/strategies/harness.js');
  for (const d of strategyDescriptors()) assert.deepEqual(capabilityFailures(d.name), [], d.name);
  const base = strategyOf('model-parallel');
  registerStrategy({ ...base, name: 'sparse-only', updates: ['sparse'], logits: ['materialized'] }, 'test');
  try {
    assert.doesNotThrow(() => smallConfig({ strategy: 'sparse-only' }));
    assert.throws(() => smallConfig({ strategy: 'sparse-only', update: 'dense' }), (e: unknown) => e instanceof UsageError && e.option === '--update' && /dense applies to .*not sparse-only \(it implements sparse\)/.test(e.message));
    assert.throws(() => smallConfig({ strategy: 'sparse-only', logits: 'fused', tile: 4 }), (e: unknown) => e instanceof UsageError && e.option === '--logits' && /not sparse-only/.test(e.message));
    assert.throws(() => registerStrategy({ ...base, name: 'sparse-only' }, 'again.js'), /again\.js: strategy 'sparse-only' is already a strategy another module loaded/);
    assert.throws(() => registerStrategy({ ...base }, 'mine.js'), /mine\.js: strategy 'model-parallel' is already a built-in strategy/);
    // Collectives it does not log (what predict and the communication model would use) fail the check too.
    registerStrategy({ ...base, name: 'silent', collectives: () => [] }, 'test');
    assert.match(capabilityFailures('silent').join('\n'), /--update sparse --logits materialized: its collectives are not what it declares \(logged \[allGather features/);
    unregisterStrategy('silent');
  } finally {
    unregisterStrategy('sparse-only');
  }
  assert.equal(findStrategy('sparse-only'), undefined);
});
