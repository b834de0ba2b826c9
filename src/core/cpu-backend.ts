/** The CPU backend: OpenBLAS GEMMs and threaded kernels; host clock timing. */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { core } from './binding.js';
import { registerBackend, zeroPhases, type Backend, type Phase, type StepTimer } from './backend.js';

class HostTimer implements StepTimer {
  private begin = 0;
  private last = 0;
  private phases = zeroPhases();

  start(): void {
    this.phases = zeroPhases();
    this.begin = this.last = performance.now();
  }

  mark(phase: Phase): void {
    const now = performance.now();
    this.phases[phase] += now - this.last;
    this.last = now;
  }

  stop(): { totalMs: number; phases: ReturnType<typeof zeroPhases> } {
    return { totalMs: performance.now() - this.begin, phases: this.phases };
  }
}

export function createCpuBackend(): Backend {
  const native = core();
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return {
    name: 'cpu',
    device: 'cpu',
    description: model,
    synchronize: () => undefined,
    createTimer: () => new HostTimer(),
    libraryWorkspaceBytes: 0,
    deviceUsedBytes: () => null,
    context: () => ({ cpu: model, threads: native.threads(), blas: native.buildInfo().blas }),
  };
}

registerBackend({ name: 'cpu', priority: 0, unavailableReason: () => null, create: createCpuBackend });
