/**
 * The communicator factory: (mode, ranks, backend) -> a communicator, mirroring
 * core/backend.ts's backend registry. single and emulate are always here; real mode's
 * communicators (MPI for CPU ranks, NCCL for GPU ranks) register themselves when the build
 * has them (src/bench/modules.ts imports them).
 */
import { UsageError } from '../core/errors.js';
import type { Backend } from '../core/backend.js';
import type { Communicator } from './communicator.js';
import { emulatedCommunicator, singleCommunicator } from './local.js';

export type CommMode = 'single' | 'emulate' | 'real';

/** What a factory needs: how many ranks, and (emulate) which one this process plays. */
export interface CommRequest {
  mode: CommMode;
  ranks: number;
  rank: number;
}

export type CommunicatorFactory = (request: CommRequest, backend: Backend) => Communicator;

const factories = new Map<string, CommunicatorFactory>();
const key = (mode: CommMode, backendName: string) => `${mode}/${backendName}`;
const ANY_BACKEND = '*';

/** Registers the communicator of `mode` on `backendName` ('*': any backend). */
export function registerCommunicator(mode: CommMode, backendName: 'cpu' | 'cuda' | 'cuda-sim' | '*', factory: CommunicatorFactory): void {
  factories.set(key(mode, backendName), factory);
}

registerCommunicator('single', ANY_BACKEND, () => singleCommunicator());
registerCommunicator('emulate', ANY_BACKEND, (r) => emulatedCommunicator(r.rank, r.ranks));

export function openCommunicator(request: CommRequest, backend: Backend): Communicator {
  const factory = factories.get(key(request.mode, backend.name)) ?? factories.get(key(request.mode, ANY_BACKEND));
  if (!factory) {
    const needs = backend.name === 'cuda' ? 'the NCCL communicator (a CUDA build)' : 'the MPI communicator (an MPI build: apt-get install libopenmpi-dev, then npm install)';
    throw new UsageError('--mode', `${request.mode} mode on the ${backend.name} backend needs ${needs}, which this build does not have`);
  }
  return factory(request, backend);
}
