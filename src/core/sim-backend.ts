/**
 * The simulated CUDA device (`--backend cuda-sim`): the CUDA backend, unchanged, over the
 * simulated-device addon, where the .cu kernels run on the host CPU (native/src/sim). It proves
 * the kernels' logic, indexing, synchronisation and memory accounting without a GPU; its times
 * are host times of a simulation and say nothing about a GPU, so results carry `simulated` and
 * tables, reports and compare keep them apart. Never picked by `--backend auto`.
 */
import { existsSync } from 'node:fs';
import { simCorePath, useSimulatedDevice } from './binding.js';
import { registerBackend, type Backend } from './backend.js';
import { cudaBackendOf, type CudaCore } from './cuda-backend.js';

export const SIMULATED_TIMING_NOTE = 'cuda-sim: the CUDA kernels simulated on the host CPU; its times mean nothing for a GPU';

function unavailableReason(): string | null {
  const path = simCorePath();
  return existsSync(path) ? null : `the simulated-device addon ${path} is missing (run 'npm run build:native')`;
}

export function createSimBackend(): Backend {
  const backend = cudaBackendOf(useSimulatedDevice() as CudaCore, 'cuda-sim');
  const context = backend.context;
  return { ...backend, simulated: true, context: () => ({ ...context(), simulated: true, note: SIMULATED_TIMING_NOTE }) };
}

registerBackend({ name: 'cuda-sim', priority: -10, autoSelect: false, unavailableReason, create: createSimBackend });
