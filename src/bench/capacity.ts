/**
 * Capacity: the largest identity count whose FC layer fits a per-GPU memory budget, per
 * strategy and GPU count (the seed's chart). The analytic memory model brackets the answer by
 * bisection; two child processes then confirm it by allocating every buffer of rank 0 for
 * real under the budget (emulated rank, memory not touched): the answer must fit, and the
 * next count must run out of memory.
 */
import { totalmem } from 'node:os';
import { selectBackend } from '../core/index.js';
import { modelPeakBytes } from '../strategies/memory-model.js';
import { runCellInChild } from './runner.js';
import type { CapacityAnswer, CellResult, CellSpec } from './results.js';
import { cellId } from './cell.js';
import type { CellExecutor } from './sweep.js';
import { methodLabel } from './method.js';

/** The id of a capacity answer (not a measurement of the cell it starts from). */
export function capacityId(spec: CellSpec): string {
  return `capacity|${cellId(spec)}`;
}

/** The capacity probe as a way to run a cell of a sweep. */
export function capacityExecutor(cellTimeoutSeconds: number): CellExecutor {
  return {
    reports: true,
    idOf: capacityId,
    describe: (spec) => `${spec.label ? `${spec.label} ` : ''}${methodLabel(spec)} on ${spec.ranks} GPUs, batch ${spec.batch}, ${gib(spec.memoryBudget)} each`,
    run: (spec) => searchCapacity(spec, cellTimeoutSeconds),
  };
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

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
  const id = capacityId(spec);
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
    ...(confirmed ? {} : { error: describeUnconfirmed(spec, capacity, atLargest, above) }),
    ...(atLargest.memory ? { memory: atLargest.memory } : {}),
  };
}

/** What the allocation confirmed of the model's answer and what it did not, in words. */
export function describeUnconfirmed(spec: CellSpec, c: CapacityAnswer, atLargest: CellResult, above: CellResult | undefined): string {
  const parts: string[] = [];
  if (c.confirmedFit) parts.push(`confirmed: ${c.largestClasses} classes fit (allocated ${c.allocatedBytes} bytes)`);
  else parts.push(`not confirmed: ${c.largestClasses} classes should fit but the allocation ended ${atLargest.status}${atLargest.error ? ` (${atLargest.error.split('\n')[0]})` : ''}`);
  if (above && !c.confirmedOomAbove) {
    parts.push(`not confirmed: ${c.nextClassesTried} classes should not fit but the allocation ended ${above.status}${above.error ? ` (${above.error.split('\n')[0]})` : ''}`);
  }
  const host = totalmem();
  if (spec.memoryBudget > host && selectBackend(spec.backend).backend.name === 'cpu') {
    parts.push(`the budget (${gib(spec.memoryBudget)}) is more than this host's memory (${gib(host)}): on the CPU the model's answer cannot be checked by allocation`);
  }
  return parts.join('; ');
}
