/** The CPU backend: OpenBLAS GEMMs and threaded kernels; host clock timing. */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { core } from './binding.js';
import { PHASES, registerBackend, zeroPhases, type Backend, type Phase, type StepTimer } from './backend.js';
import { UsageError } from './errors.js';

/**
 * TEST HOOK, not a setting: PFC_SLOW_PHASE=PHASE:FACTOR[,PHASE:FACTOR...] (e.g. softmax:1.3)
 * makes the named phase of every measured step really take FACTOR times its time: the host
 * timer busy-waits at the phase's mark until FACTOR x the phase's elapsed time has passed, so
 * the step, the phase and the machine's wall clock all see it. The GEMM reference timed after
 * each trial (a 'reference' timer) is never slowed, so normalization cannot cancel it. It
 * exists to test the regression guard (`npm run guard -- --inject-slowdown softmax:1.3` sets it
 * for the candidate's runs only).
 */
export const SLOW_PHASE_ENV = 'PFC_SLOW_PHASE';

export type Slowdown = Partial<Record<Phase, number>>;

/** Parses a PFC_SLOW_PHASE value; a bad one is a UsageError naming `name` (the variable or option). */
export function parseSlowdown(value: string | undefined, name = SLOW_PHASE_ENV): Slowdown {
  const out: Slowdown = {};
  if (value === undefined || value.trim() === '') return out;
  for (const item of value.split(',')) {
    const m = /^\s*([a-z]+)\s*:\s*([0-9.eE+-]+)\s*$/.exec(item);
    const phase = m?.[1] as Phase | undefined;
    const factor = m ? Number(m[2]) : NaN;
    if (!m || !PHASES.includes(phase!) || !Number.isFinite(factor) || factor < 1 || factor > 100) {
      throw new UsageError(name, `expected PHASE:FACTOR[,PHASE:FACTOR...] with PHASE one of ${PHASES.join(', ')} and FACTOR in [1, 100] (e.g. softmax:1.3), got '${value}'`);
    }
    out[phase!] = factor;
  }
  return out;
}

class HostTimer implements StepTimer {
  private begin = 0;
  private last = 0;
  private phases = zeroPhases();

  constructor(private readonly slowdown: Slowdown = {}) {}

  start(): void {
    this.phases = zeroPhases();
    this.begin = this.last = performance.now();
  }

  mark(phase: Phase): void {
    let now = performance.now();
    const factor = this.slowdown[phase];
    if (factor !== undefined && factor > 1) {
      const until = this.last + (now - this.last) * factor;
      while (now < until) now = performance.now(); // busy: a sleeping core would not look loaded
    }
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
  const slowdown = parseSlowdown(process.env[SLOW_PHASE_ENV]);
  return {
    name: 'cpu',
    device: 'cpu',
    description: model,
    synchronize: () => undefined,
    createTimer: (purpose = 'step') => new HostTimer(purpose === 'step' ? slowdown : {}),
    // bf16: OpenBLAS multiplies fp32, so the GEMM converts blocks into a scratch (ops/gemm.h).
    libraryWorkspaceBytes: (dtype) => (dtype === 'bf16' ? native.cpuBf16GemmWorkspaceBytes : 0),
    smCount: null,
    releaseWorkspaces: () => undefined,
    deviceUsedBytes: () => null,
    context: () => ({ cpu: model, threads: native.threads(), blas: native.buildInfo().blas, ...(Object.keys(slowdown).length ? { injectedSlowdown: process.env[SLOW_PHASE_ENV]! } : {}) }),
  };
}

registerBackend({ name: 'cpu', priority: 0, unavailableReason: () => null, create: createCpuBackend });
