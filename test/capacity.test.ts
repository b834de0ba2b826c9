/** The capacity search: the model's answer is confirmed by real allocations under the budget. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandScenario, parseScenario } from '../src/bench/scenario.js';
import { describeUnconfirmed, modelLargestClasses, probeOutcome, searchCapacity } from '../src/bench/capacity.js';
import { capacityCheck, capacityTable } from '../src/report/table.js';
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
    assert.equal(cap.checkedBy, 'allocation');
    assert.deepEqual(cap.probes, { atLargest: 'fits', above: 'out of budget' });
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

test('a budget past what this machine holds is model only: nothing allocated, never read as fits, and it says why', async () => {
  const s = { ...spec('partial-fc', '64MiB'), memoryBudget: 80 * 2 ** 30 };
  const cell = await searchCapacity(s, 120, { backend: 'cpu', memoryBytes: 23.5 * 2 ** 30 });
  assert.equal(cell.status, 'completed', 'the model answers; only the check is skipped');
  const cap = cell.capacity!;
  assert.equal(cap.checkedBy, 'model only');
  assert.match(cap.modelOnly!, /budget \(80\.0 GiB\) is more than this host's memory \(23\.5 GiB\)/);
  assert.equal(cap.largestClasses, modelLargestClasses(s, s.memoryBudget));
  assert.ok(!cap.confirmedFit && !cap.confirmedOomAbove, 'nothing confirmed');
  assert.equal(cap.allocatedBytes, 0);
  assert.equal(cell.memory, undefined, 'no allocation ran');
  const table = capacityTable([cell]);
  assert.match(table, /model only \(not allocated\)/);
  assert.match(table, /model only: the answer is the analytic memory model's, not checked by allocation: the budget/);
  assert.doesNotMatch(table, /fits/);
});

test('bf16 on the CPU backend is model only, not "does not fit; N+8: fits!"', async () => {
  const s = { ...spec('partial-fc', '48MiB'), dtype: 'bf16' as const };
  const cell = await searchCapacity(s, 120, { backend: 'cpu', memoryBytes: 2 ** 40 });
  assert.equal(cell.status, 'completed');
  assert.equal(cell.capacity!.checkedBy, 'model only');
  assert.match(cell.capacity!.modelOnly!, /bf16 storage needs the CUDA backend/);
  assert.doesNotMatch(capacityTable([cell]), /fits|does not fit/);
});

test('an allocation that failed for another reason than the budget is neither fits nor does-not-fit', () => {
  const failed = { id: 'a', status: 'oom' as const, spec: spec('partial-fc', '48MiB'), error: 'out of memory: the system refused 34716145664 bytes of centres' };
  assert.equal(probeOutcome(failed), 'failed', 'the host refusing is not the budget refusing');
  assert.equal(probeOutcome({ ...failed, status: 'error', error: 'bf16 storage needs the cuda backend' }), 'failed');
  assert.equal(probeOutcome({ ...failed, status: 'killed' }), 'failed');
  assert.equal(probeOutcome({ ...failed, error: 'out of memory: allocating 8 bytes of centres on cpu would pass the budget of 4 bytes (0 in use)' }), 'out of budget');
  assert.equal(probeOutcome({ ...failed, status: 'completed', error: undefined }), 'fits');
  const answer = { budgetBytes: 1, largestClasses: 1000, modelBytes: 1, allocatedBytes: 0, confirmedFit: false, confirmedOomAbove: false, nextClassesTried: 1008, checkedBy: 'allocation' as const, probes: { atLargest: 'failed' as const, above: 'failed' as const } };
  const message = describeUnconfirmed(answer, failed, { ...failed, id: 'b' });
  assert.match(message, /not checked: the allocation of 1000 classes failed for another reason than the budget/);
  assert.match(message, /not checked: the allocation of 1008 classes failed/);
  assert.doesNotMatch(message, /should fit but|fits/);
  assert.equal(capacityCheck(answer), 'failed; 1,008: failed');
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
