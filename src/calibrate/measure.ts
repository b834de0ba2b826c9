/**
 * nccl-tests' method, per collective and size: warm-up runs, then the ranks meet in a barrier
 * and `iterations` runs go back to back on the clock (device synchronized at the end); the time
 * per iteration is averaged over ranks. Then the input is written again, the collective runs
 * once more, and every element of each rank's result is checked (wrong elements summed over
 * ranks). Buffers are allocated per size on the backend's device, under the rank's budget.
 */
import { performance } from 'node:perf_hooks';
import { core } from '../core/binding.js';
import { allocate, type Backend } from '../core/backend.js';
import type { Communicator } from '../comm/communicator.js';
import { allGatherInt32 } from '../comm/mpi.js';
import { busFactor } from '../model/comm.js';
import type { CalibrationRow } from '../model/profile-file.js';
import { countWrong, type CalibratedCollective } from './collectives.js';

export interface CalibrationSettings {
  minBytes: number;
  maxBytes: number;
  iterations: number;
  warmupIterations: number;
}

/** Sizes from minBytes doubling up to maxBytes, and maxBytes itself (nccl-tests' -b -e -f 2). */
export function calibrationSizes(minBytes: number, maxBytes: number): number[] {
  const sizes: number[] = [];
  for (let n = minBytes; n <= maxBytes; n *= 2) sizes.push(n);
  if (sizes.at(-1) !== maxBytes) sizes.push(maxBytes);
  return sizes;
}

/** Every rank's fp32 value, on every rank (MPI, on host buffers: the control plane, also for NCCL runs). */
function gatherFloat(value: number, ranks: number): Float32Array {
  const Tensor = core().NativeTensor;
  const send = new Tensor('cpu', 'communication', 'fp32', 1, 1);
  const recv = new Tensor('cpu', 'communication', 'fp32', ranks, 1);
  try {
    send.write(Float32Array.of(value));
    core().mpiAllGather(send, recv);
    return recv.read() as Float32Array;
  } finally {
    send.free();
    recv.free();
  }
}

/** Every rank at the same point with an idle device, before the clock starts. */
function syncRanks(backend: Backend): void {
  backend.synchronize();
  core().mpiBarrier();
}

/** One row of the table; undefined when the size is too small to give every rank an element. */
export function measureSize(collective: CalibratedCollective, comm: Communicator, backend: Backend, bytes: number, settings: CalibrationSettings): CalibrationRow | undefined {
  const { rank, size: ranks } = comm;
  const counts = collective.counts(bytes, ranks);
  if (counts.send === 0 || counts.recv === 0) return undefined;
  const inPlace = collective.kind === 'allReduce' || collective.kind === 'broadcast';
  const send = allocate(backend, 'communication', 'fp32', counts.send);
  let recv = send;
  try {
    if (!inPlace) recv = allocate(backend, 'communication', 'fp32', counts.recv);
    const input = collective.input(rank, ranks, counts.send);
    const buffers = { send, recv };
    send.write(input);
    for (let i = 0; i < settings.warmupIterations; i++) collective.run(comm, buffers);
    syncRanks(backend);
    const start = performance.now();
    for (let i = 0; i < settings.iterations; i++) collective.run(comm, buffers);
    backend.synchronize();
    const seconds = (performance.now() - start) / 1000 / settings.iterations;
    // Correctness: fresh input, one run, every element checked.
    send.write(input);
    collective.run(comm, buffers);
    backend.synchronize();
    const wrongHere = countWrong(collective, recv.read() as Float32Array, rank, ranks);
    const times = gatherFloat(seconds, ranks);
    const wrong = [...allGatherInt32(Int32Array.of(wrongHere), ranks)].reduce((a, b) => a + b, 0);
    const meanSeconds = times.reduce((a, b) => a + b, 0) / ranks;
    const rowBytes = 4 * (collective.kind === 'allGather' ? counts.recv : counts.send);
    const algbw = rowBytes / meanSeconds / 1e9;
    return {
      collective: collective.kind,
      bytes: rowBytes,
      count: rowBytes / 4,
      timeUs: meanSeconds * 1e6,
      algbw,
      busbw: algbw * busFactor(collective.kind, ranks),
      wrong,
    };
  } finally {
    if (recv !== send) recv.free();
    send.free();
    // The runs' records are not a step's: drop them.
    comm.log.length = 0;
    comm.timings.length = 0;
  }
}
