/**
 * Capacity: the largest identity count whose FC layer fits a per-GPU memory budget, per
 * strategy and GPU count (the seed's chart). The analytic memory model brackets the answer by
 * bisection; two child processes then confirm it by allocating every buffer of rank 0 for
 * real under the budget (emulated rank, memory not touched): the answer must fit, and the
 * next count must run out of memory.
 */
import { modelPeakBytes } from '../model/memory.js';
import { runCellInChild } from './runner.js';
import type { CapacityAnswer, CellResult, CellSpec } from './results.js';
import { cellId } from './cell.js';

const MAX_CLASSES = 2 ** 31 - 1;

/** Largest C in [ranks, 2^31 - 1] with modelPeakBytes <= budget, or 0 when none fits. */
export function modelLargestClasses(spec: CellSpec, budget: number): number {
  const fits = (classes: number) => modelPeakBytes({ ...spec, classes }) <= budget;
  let lo = spec.ranks;
  if (!fits(lo)) return 0;
  let hi = MAX_CLASSES;
  if (fits(hi)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export async function searchCapacity(spec: CellSpec, cellTimeoutSeconds = 0): Promise<CellResult> {
  const budget = spec.memoryBudget;
  const id = `capacity|${cellId(spec)}`;
  if (!(budget > 0)) return { id, status: 'error', spec, error: '--gpu-memory: a capacity search needs a per-GPU memory budget, e.g. 11GiB' };
  const largest = modelLargestClasses(spec, budget);
  if (largest === 0) return { id, status: 'oom', spec, error: `even ${spec.ranks} classes do not fit ${budget} bytes` };
  // The next count that changes rank 0's shard: C + N adds one centre to every shard.
  const next = Math.min(largest + spec.ranks, MAX_CLASSES);
  const probe = (classes: number) => runCellInChild({ ...spec, classes, allocateOnly: true }, { cellTimeoutSeconds }, () => undefined);
  const atLargest = await probe(largest);
  const above = next > largest ? await probe(next) : undefined;
  const capacity: CapacityAnswer = {
    budgetBytes: budget,
    largestClasses: largest,
    modelBytes: modelPeakBytes({ ...spec, classes: largest }),
    allocatedBytes: atLargest.memory?.peakBytes ?? 0,
    confirmedFit: atLargest.status === 'completed',
    confirmedOomAbove: above?.status === 'oom',
    nextClassesTried: next,
  };
  const confirmed = capacity.confirmedFit && (capacity.confirmedOomAbove || next === largest);
  return {
    id,
    status: confirmed ? 'completed' : 'error',
    spec: { ...spec, classes: largest },
    capacity,
    ...(confirmed ? {} : { error: `the allocation did not confirm the model: at ${largest} ${atLargest.status}${atLargest.error ? ` (${atLargest.error})` : ''}, at ${next} ${above?.status}` }),
    ...(atLargest.memory ? { memory: atLargest.memory } : {}),
  };
}
