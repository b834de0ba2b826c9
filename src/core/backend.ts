/**
 * Backends: where tensors live and how a step is timed. Registered by name with a priority;
 * the CPU backend is always present, CUDA when the build has it and a device is usable
 * (`--backend auto` picks the highest-priority available one and says so).
 */
import { core, type Device, type NativeTensor, type DType, type MemoryCategory } from './binding.js';
import { UsageError, suggest } from './errors.js';

export const PHASES = ['communication', 'sampling', 'normalize', 'gemm', 'softmax', 'update'] as const;
export type Phase = (typeof PHASES)[number];
export type PhaseTimes = Record<Phase, number>;

export function zeroPhases(): PhaseTimes {
  return { communication: 0, sampling: 0, normalize: 0, gemm: 0, softmax: 0, update: 0 };
}

/** Times one step: start(), then mark(phase) after each phase's work, then stop(). */
export interface StepTimer {
  start(): void;
  /** Attributes the time since the previous mark (or start) to `phase`. */
  mark(phase: Phase): void;
  /** Total milliseconds and milliseconds per phase (waits for the device). */
  stop(): { totalMs: number; phases: PhaseTimes };
}

export interface Backend {
  readonly name: BackendName;
  readonly device: Device;
  /** Human description, e.g. the CPU model or the GPU name. */
  readonly description: string;
  synchronize(): void;
  /** A timer for the steps, or for the GEMM reference ('reference': never slowed by a test hook). */
  createTimer(purpose?: 'step' | 'reference'): StepTimer;
  /**
   * Bytes the backend's GEMM takes from the tagged allocator ('workspace') beyond the step's own
   * buffers, with `dtype` storage: cuBLAS's workspace (from its first use, any dtype) on CUDA; on
   * the CPU, the bf16 GEMM's conversion buffer (during each call), 0 for fp32.
   */
  libraryWorkspaceBytes(dtype: DType): number;
  /** Multiprocessors of a CUDA device (its kernels' launch plans and scratch depend on them); null on the CPU. */
  readonly smCount: number | null;
  /** Frees what libraries and kernels keep between calls (cuBLAS's workspace, the kernels' scratch), so a cell accounts its own. */
  releaseWorkspaces(): void;
  /** The device's own used-memory figure (total - free), or null where there is none. */
  deviceUsedBytes(): number | null;
  /** Versions and settings that belong in a results file's context. */
  context(): Record<string, string | number | boolean>;
  /** True for the simulated device: its times are not a GPU's and are never compared with measured ones. */
  readonly simulated?: boolean;
}

export type BackendName = 'cpu' | 'cuda' | 'cuda-sim';
export const BACKEND_CHOICES = ['auto', 'cpu', 'cuda', 'cuda-sim'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendProvider {
  name: BackendName;
  priority: number;
  /** False for a backend `--backend auto` must never pick (the simulated device). */
  autoSelect?: boolean;
  /** Why the backend cannot be used here, or null when it can. */
  unavailableReason(): string | null;
  create(): Backend;
}

const providers: BackendProvider[] = [];

export function registerBackend(provider: BackendProvider): void {
  const existing = providers.findIndex((p) => p.name === provider.name);
  if (existing >= 0) providers.splice(existing, 1);
  providers.push(provider);
  providers.sort((a, b) => b.priority - a.priority);
}

/** The backend for a --backend choice; `auto` takes the best available one. */
export function selectBackend(choice: string): { backend: Backend; note: string } {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UsageError('--backend', `unknown backend '${choice}'; expected one of ${BACKEND_CHOICES.join(', ')}${suggest(choice, BACKEND_CHOICES)}`);
  }
  if (choice === 'auto') {
    const skipped: string[] = [];
    for (const p of providers) {
      if (p.autoSelect === false) continue;
      const reason = p.unavailableReason();
      if (reason === null) {
        const note = skipped.length ? `backend auto: ${p.name} (${skipped.join('; ')})` : `backend auto: ${p.name}`;
        return { backend: p.create(), note };
      }
      skipped.push(`${p.name} unavailable: ${reason}`);
    }
    throw new Error(`no backend is available: ${skipped.join('; ')}`);
  }
  const provider = providers.find((p) => p.name === choice);
  if (!provider) throw new UsageError('--backend', `backend '${choice}' is not registered in this build`);
  const reason = provider.unavailableReason();
  if (reason !== null) throw new UsageError('--backend', `backend '${choice}' is unavailable: ${reason}`);
  return { backend: provider.create(), note: `backend ${choice}` };
}

/** Allocates a tensor on the backend's device, accounted under `category`. */
/** Tensors allocated inside freeOnFailure's callback, innermost scope last. */
const scopes: NativeTensor[][] = [];

export function allocate(backend: Backend, category: MemoryCategory, dtype: DType, rows: number, cols = 1): NativeTensor {
  const Tensor = core().NativeTensor;
  const tensor = new Tensor(backend.device, category, dtype, rows, cols);
  scopes.at(-1)?.push(tensor);
  return tensor;
}

/**
 * Runs `build` (a strategy's constructor); when it throws, for instance out of memory half way
 * through its buffers, frees what it had allocated, so that the process (one rank of a real
 * run, which goes on to its next cell) does not carry the leftovers into the next cell.
 */
export function freeOnFailure<T>(build: () => T): T {
  const allocated: NativeTensor[] = [];
  scopes.push(allocated);
  try {
    return build();
  } catch (error) {
    for (const t of allocated) if (!t.freed) t.free();
    throw error;
  } finally {
    scopes.pop();
  }
}
