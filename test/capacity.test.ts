/** The capacity search: the model's answer is confirmed by real allocations under the budget. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandScenario, parseScenario } from '../src/bench/scenario.js';
import { modelLargestClasses, searchCapacity } from '../src/bench/capacity.js';
import { modelPeakBytes } from '../src/strategies/memory-model.js';

function spec(strategy: string, gpuMemory: string, fused?: { tile: number }) {
  const logits = fused ? { logits: 'fused', tile: fused.tile } : {};
  return expandScenario(parseScenario({ name: 'cap', cells: [{ strategy, gpus: 8, batch: 64, dim: 32, gpuMemory, backend: 'cpu', sampleRate: 0.1, ...logits }] }))[0];
}

test('the model bracket: largest C fits, C + N does not', () => {
  for (const strategy of ['data-parallel', 'model-parallel', 'partial-fc']) {
    const s = spec(strategy, '64MiB');
    const c = modelLargestClasses(s, s.memoryBudget);
    assert.ok(c > 0);
    assert.ok(modelPeakBytes({ ...s, classes: c }) <= s.memoryBudget);
    assert.ok(modelPeakBytes({ ...s, classes: c + s.ranks }) > s.memoryBudget);
  }
  // Partial FC holds fewer bytes per identity than model parallel, which holds fewer than data parallel.
  const dp = modelLargestClasses(spec('data-parallel', '64MiB'), 64 * 2 ** 20);
  const mp = modelLargestClasses(spec('model-parallel', '64MiB'), 64 * 2 ** 20);
  const pfc = modelLargestClasses(spec('partial-fc', '64MiB'), 64 * 2 ** 20);
  assert.ok(dp < mp && mp < pfc, `${dp} < ${mp} < ${pfc}`);
});

test('capacity is confirmed by allocating rank 0 for real: the answer fits, the next count is out of memory', async () => {
  for (const strategy of ['model-parallel', 'partial-fc']) {
    const s = spec(strategy, '48MiB');
    const cell = await searchCapacity(s, 120);
    assert.equal(cell.status, 'completed', cell.error);
    const cap = cell.capacity!;
    assert.equal(cap.largestClasses, modelLargestClasses(s, s.memoryBudget));
    assert.ok(cap.confirmedFit && cap.confirmedOomAbove);
    assert.equal(cap.allocatedBytes, cap.modelBytes, 'tagged allocation equals the model');
    assert.ok(cap.allocatedBytes <= s.memoryBudget);
  }
});

test('a budget without room for any class is out of memory; no budget is an error naming the option', async () => {
  const tiny = await searchCapacity(spec('model-parallel', '1KiB'));
  assert.equal(tiny.status, 'oom');
  const none = await searchCapacity(spec('model-parallel', '0'));
  assert.equal(none.status, 'error');
  assert.match(none.error!, /--gpu-memory/);
});

test('an answer the allocation cannot confirm says what was and was not confirmed, and why (a budget past the host memory)', async () => {
  const { totalmem } = await import('node:os');
  const { describeUnconfirmed } = await import('../src/bench/capacity.js');
  const s = { ...spec('partial-fc', '64MiB'), memoryBudget: totalmem() * 4 };
  const answer = { budgetBytes: s.memoryBudget, largestClasses: 1000, modelBytes: 1, allocatedBytes: 123, confirmedFit: true, confirmedOomAbove: false, nextClassesTried: 1008 };
  const fits = { id: 'a', status: 'completed' as const, spec: s };
  const message = describeUnconfirmed(s, answer, fits, { ...fits, id: 'b' });
  assert.match(message, /confirmed: 1000 classes fit \(allocated 123 bytes\)/);
  assert.match(message, /not confirmed: 1008 classes should not fit but the allocation ended completed/);
  assert.match(message, /is more than this host's memory/);
  assert.doesNotMatch(message, /did not confirm the model/);
  const failed = describeUnconfirmed({ ...s, memoryBudget: 2 ** 20 }, { ...answer, confirmedFit: false, confirmedOomAbove: true }, { ...fits, status: 'killed', error: 'the cell\'s process was killed by SIGKILL' }, undefined);
  assert.match(failed, /not confirmed: 1000 classes should fit but the allocation ended killed \(the cell's process was killed by SIGKILL\)/);
  assert.doesNotMatch(failed, /host's memory/);
});

test('a capacity search is named by its budget in the progress lines, not by the classes it starts from', async () => {
  const { capacityExecutor } = await import('../src/bench/capacity.js');
  const s = spec('partial-fc', '48MiB');
  const name = capacityExecutor(0).describe!(s);
  assert.equal(name, 'partial-fc 0.1 sparse on 8 GPUs, batch 64, 48 MiB each');
});

test('fused logits: the search covers them, allocation confirms them, and they fit more identities', async () => {
  for (const strategy of ['model-parallel', 'partial-fc']) {
    // A 256-column tile: the default 64 MiB scratch would hold a whole shard of this small budget.
    const s = spec(strategy, '48MiB', { tile: 256 });
    const cell = await searchCapacity(s, 120);
    assert.equal(cell.status, 'completed', cell.error);
    const cap = cell.capacity!;
    assert.ok(cap.confirmedFit && cap.confirmedOomAbove);
    assert.equal(cap.allocatedBytes, cap.modelBytes, 'tagged allocation equals the model');
    const materialized = modelLargestClasses(spec(strategy, '48MiB'), 48 * 2 ** 20);
    assert.ok(cap.largestClasses > materialized, `${strategy}: fused ${cap.largestClasses} > materialized ${materialized}`);
  }
});
