/**
 * The CUDA backend: kernels and cuBLAS on one stream; step and phase times from CUDA events;
 * the device's own used-memory figure (total - free) for nvidia-smi-comparable numbers.
 */
import { core, type NativeCore } from './binding.js';
import { registerBackend, zeroPhases, type Backend, type Phase, type PhaseTimes, type StepTimer } from './backend.js';

export type CudaCore = Required<Pick<NativeCore, 'cudaCreateEvent' | 'cudaRecordEvent' | 'cudaElapsedMs' | 'cudaDeviceUsedBytes'>> & NativeCore;

/** Records an event at start and at every mark; reads them all once, at stop(). */
class EventTimer implements StepTimer {
  private readonly events: number[] = [];
  private marks: Phase[] = [];
  private used = 0;

  constructor(private readonly native: CudaCore) {}

  private record(): void {
    if (this.used === this.events.length) this.events.push(this.native.cudaCreateEvent());
    this.native.cudaRecordEvent(this.events[this.used++]);
  }

  start(): void {
    this.used = 0;
    this.marks = [];
    this.record();
  }

  mark(phase: Phase): void {
    this.marks.push(phase);
    this.record();
  }

  stop(): { totalMs: number; phases: PhaseTimes } {
    this.record();
    const phases = zeroPhases();
    this.marks.forEach((phase, i) => {
      phases[phase] += this.native.cudaElapsedMs(this.events[i], this.events[i + 1]);
    });
    const totalMs = this.native.cudaElapsedMs(this.events[0], this.events[this.used - 1]);
    return { totalMs, phases };
  }
}

function unavailableReason(): string | null {
  const native = core();
  if (!native.buildInfo().cuda) return 'this build has no CUDA backend (nvcc was not found when it was built)';
  const probe = native.cudaProbe();
  return probe.usable ? null : probe.reason;
}

function versionOrError(read: () => number): number | string {
  try {
    return read();
  } catch (error) {
    return `unavailable: ${(error as Error).message}`;
  }
}

/** The CUDA backend over `native`: the CUDA build's core, or the simulated device's (cuda-sim). */
export function cudaBackendOf(native: CudaCore, name: 'cuda' | 'cuda-sim'): Backend {
  const probe = native.cudaProbe();
  return {
    name,
    device: 'cuda',
    description: probe.name,
    libraryWorkspaceBytes: () => native.cublasWorkspaceBytes ?? 0,
    smCount: probe.smCount,
    releaseWorkspaces: () => native.cudaReleaseWorkspaces?.(),
    synchronize: () => native.synchronize('cuda'),
    createTimer: () => new EventTimer(native),
    deviceUsedBytes: () => native.cudaDeviceUsedBytes(),
    context: () => ({
      gpu: probe.name,
      gpuMemoryBytes: probe.totalBytes,
      cudaDriver: probe.driverVersion,
      cudaRuntime: probe.runtimeVersion,
      cublas: versionOrError(() => native.cublasVersion!()),
      nccl: versionOrError(() => native.ncclVersion!()),
    }),
  };
}

export function createCudaBackend(): Backend {
  return cudaBackendOf(core() as CudaCore, 'cuda');
}

registerBackend({ name: 'cuda', priority: 10, unavailableReason, create: createCudaBackend });

