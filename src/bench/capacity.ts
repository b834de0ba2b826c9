/**
 * Capacity: the largest identity count whose FC layer fits a per-GPU memory budget, per
 * strategy and GPU count (the seed's chart). The analytic memory model brackets the answer by
 * bisection; two child processes then check it by allocating every buffer of rank 0 for real
 * under the budget (emulated rank, memory not touched): the answer must fit, and the next count
 * must run past the budget.
 *
 * Only an allocation the budget itself refused reads as "does not fit". Anything else (the
 * host refusing memory, a crash, bf16 on the CPU backend) judges nothing and is said as a
 * failure. A machine that cannot hold the budget at all (a 80 GiB budget on a 23.5 GiB host)
 * does not try: its answer is the model's alone, and says so (checkedBy 'model only').
 */
import { totalmem } from 'node:os';
import { selectBackend } from '../core/index.js';
import { modelPeakBytes } from '../strategies/memory-model.js';
import { runCellInChild } from './runner.js';
import type { CapacityAnswer, CellResult, CellSpec, ProbeOutcome } from './results.js';
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

/** The machine this process runs on, as far as allocating a budget goes. */
export interface AllocationHost {
  backend: 'cpu' | 'cuda';
  /** Bytes one rank could ever allocate: the host's memory (cpu), the device's (cuda). */
  memoryBytes: number;
}

function thisHost(spec: CellSpec): AllocationHost {
  const { backend } = selectBackend(spec.backend);
  if (backend.name === 'cuda') return { backend: 'cuda', memoryBytes: Number(backend.context().gpuMemoryBytes) || Infinity };
  return { backend: 'cpu', memoryBytes: totalmem() };
}

/** Why this machine cannot check the answer by allocation, or undefined when it can. */
export function modelOnlyReason(spec: CellSpec, host: AllocationHost): string | undefined {
  if (host.backend === 'cpu' && spec.dtype !== 'fp32') {
    return `${spec.dtype} storage needs the CUDA backend and this machine has none, so nothing can be allocated to check the model`;
  }
  if (spec.memoryBudget > host.memoryBytes) {
    const what = host.backend === 'cpu' ? "this host's memory" : "this GPU's memory";
    return `the budget (${gib(spec.memoryBudget)}) is more than ${what} (${gib(host.memoryBytes)}), so an allocation cannot show what the budget holds`;
  }
  return undefined;
}

/** What one allocation says: only the budget's own refusal is "out of budget". */
export function probeOutcome(result: CellResult): ProbeOutcome {
  if (result.status === 'completed') return 'fits';
  if (result.status === 'oom' && /would pass the budget/.test(result.error ?? '')) return 'out of budget';
  return 'failed';
}

export async function searchCapacity(spec: CellSpec, cellTimeoutSeconds = 0, host: AllocationHost = thisHost(spec)): Promise<CellResult> {
  const budget = spec.memoryBudget;
  const id = capacityId(spec);
  if (!(budget > 0)) return { id, status: 'error', spec, error: '--gpu-memory: a capacity search needs a per-GPU memory budget, e.g. 11GiB' };
  const largest = modelLargestClasses(spec, budget);
  if (largest === 0) return { id, status: 'oom', spec, error: `even ${spec.ranks} classes do not fit ${budget} bytes` };
  // The next count that changes rank 0's shard: C + N adds one centre to every shard.
  const next = Math.min(largest + spec.ranks, MAX_CLASSES);
  const base = { budgetBytes: budget, largestClasses: largest, modelBytes: modelPeakBytes({ ...spec, classes: largest }), nextClassesTried: next };
  const modelOnly = modelOnlyReason(spec, host);
  if (modelOnly) {
    const capacity: CapacityAnswer = { ...base, allocatedBytes: 0, confirmedFit: false, confirmedOomAbove: false, checkedBy: 'model only', modelOnly };
    return { id, status: 'completed', spec: { ...spec, classes: largest }, capacity };
  }
  const probe = (classes: number) => runCellInChild({ ...spec, classes, allocateOnly: true }, { cellTimeoutSeconds }, () => undefined);
  const atLargest = await probe(largest);
  const above = next > largest ? await probe(next) : undefined;
  const probes = { atLargest: probeOutcome(atLargest), above: above ? probeOutcome(above) : ('not tried' as const) };
  const capacity: CapacityAnswer = {
    ...base,
    allocatedBytes: atLargest.memory?.peakBytes ?? 0,
    confirmedFit: probes.atLargest === 'fits',
    confirmedOomAbove: probes.above === 'out of budget',
    checkedBy: 'allocation',
    probes,
  };
  const confirmed = capacity.confirmedFit && (capacity.confirmedOomAbove || next === largest);
  return {
    id,
    status: confirmed ? 'completed' : 'error',
    spec: { ...spec, classes: largest },
    capacity,
    ...(confirmed ? {} : { error: describeUnconfirmed(capacity, atLargest, above) }),
    ...(atLargest.memory ? { memory: atLargest.memory } : {}),
  };
}

function reason(result: CellResult): string {
  return `${result.status}${result.error ? ` (${result.error.split('\n')[0]})` : ''}`;
}

/** What the allocations said of the model's answer, in words; a failed allocation is not read as fits or does not fit. */
export function describeUnconfirmed(c: CapacityAnswer, atLargest: CellResult, above: CellResult | undefined): string {
  const parts: string[] = [];
  const outcome = c.probes ?? { atLargest: c.confirmedFit ? 'fits' : 'failed', above: above ? (c.confirmedOomAbove ? 'out of budget' : 'failed') : 'not tried' };
  if (outcome.atLargest === 'fits') parts.push(`confirmed: ${c.largestClasses} classes fit (allocated ${c.allocatedBytes} bytes)`);
  else if (outcome.atLargest === 'out of budget') parts.push(`the model is wrong: ${c.largestClasses} classes should fit but the allocation passed the budget (${atLargest.error?.split('\n')[0]})`);
  else parts.push(`not checked: the allocation of ${c.largestClasses} classes failed for another reason than the budget, so it says nothing of the answer: ${reason(atLargest)}`);
  if (above && outcome.above === 'fits') parts.push(`the model is wrong: ${c.nextClassesTried} classes should not fit but the allocation fit`);
  else if (above && outcome.above === 'failed') parts.push(`not checked: the allocation of ${c.nextClassesTried} classes failed for another reason than the budget: ${reason(above)}`);
  return parts.join('; ');
}
