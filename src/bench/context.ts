/** The context every results file carries: versions, revision, machine, backend. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { core, packageRoot } from '../core/binding.js';
import type { RunContext } from './results.js';
import { cpuSignature, type CpuSignature } from './signature.js';

function gitRevision(): string {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return 'unknown';
  }
}

export function toolVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * This process's CPU signature: the hardware, the OpenBLAS core it chose (its config string,
 * which names a core forced by OPENBLAS_CORETYPE too) and the SIMD target the kernels
 * dispatched to (PFC_SIMD_MAX can cap it).
 */
export function currentCpuSignature(): CpuSignature {
  const native = core();
  const build = native.buildInfo();
  let config: string | undefined;
  try {
    config = native.libraries().find((l) => l.name === 'OpenBLAS' && l.found)?.version;
  } catch {
    // libraries() never throws by contract; the build's own string stands in anyway
  }
  return cpuSignature(config || build.blas, build.simd);
}

export function runContext(backend: Record<string, string | number | boolean>): RunContext {
  const build = core().buildInfo();
  const cuda = core().cudaProbe();
  return {
    tool: { name: 'pfc-bench', version: toolVersion(), gitRevision: gitRevision() },
    createdAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    hostname: hostname(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    cpuSignature: currentCpuSignature(),
    backend: {
      ...backend,
      blas: build.blas,
      compiler: build.compiler,
      cudaBuilt: build.cuda,
      mpiBuilt: build.mpi,
      cudaDevice: cuda.usable ? cuda.name : `none (${cuda.reason})`,
      ...(cuda.usable ? { cudaDriver: cuda.driverVersion, cudaRuntime: cuda.runtimeVersion } : {}),
    },
    argv: process.argv.slice(2),
  };
}
