/**
 * The CPU's signature: what decides how fast the same code runs on a CPU, recorded in every
 * results file's context. Two files with different signatures were timed on different CPUs
 * (or with a different BLAS core or SIMD target forced on the same one), so their timings
 * cannot judge a change: compare calls such a slowdown inconclusive (see compare.ts).
 *
 * - vendor, model name, family / model / stepping: /proc/cpuinfo (Linux); elsewhere the model
 *   name from os.cpus() and 'unknown' for the rest.
 * - flags: the instruction sets that change which kernels run (AVX2, AVX-512F, AVX-512 BF16, AMX).
 * - blasCore: the core OpenBLAS's DYNAMIC_ARCH chose, from its config string (OPENBLAS_CORETYPE
 *   forces another one, and the config string then names the forced core).
 * - simd: the target the addon's own kernels dispatched to (e.g. AVX3_ZEN4, AVX2); PFC_SIMD_MAX
 *   caps it, so it can differ on the same machine.
 * Stepping is shown but not compared: steppings of one model run the same code at the same speed.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuFlags {
  avx2: boolean;
  avx512f: boolean;
  avx512_bf16: boolean;
  amx: boolean;
}

export interface CpuSignature {
  /** vendor_id, e.g. GenuineIntel, AuthenticAMD ('unknown' off x86 Linux). */
  vendor: string;
  /** Model name, e.g. "AMD EPYC 9R14" (cloud VMs may show a generic one). */
  model: string;
  family: number | null;
  modelNumber: number | null;
  stepping?: number | null;
  flags: CpuFlags;
  /** The OpenBLAS core in use, e.g. Cooperlake, Haswell, Zen ('unknown' when not OpenBLAS). */
  blasCore: string;
  /** The SIMD target the addon's kernels dispatched to, e.g. AVX3_ZEN4, AVX2 ('unknown' when the build does not say). */
  simd: string;
}

export type CpuHardware = Omit<CpuSignature, 'blasCore' | 'simd'>;

const NO_FLAGS: CpuFlags = { avx2: false, avx512f: false, avx512_bf16: false, amx: false };

function integer(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number.parseInt(value.trim(), 10);
  return Number.isFinite(n) ? n : null;
}

/** The hardware part of the signature from /proc/cpuinfo's text (its first processor block). */
export function parseCpuinfo(text: string, fallbackModel = 'unknown'): CpuHardware {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (fields.size) break; // the first processor's block only
      continue;
    }
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!fields.has(key)) fields.set(key, line.slice(colon + 1).trim());
  }
  const flags = new Set((fields.get('flags') ?? fields.get('features') ?? '').split(/\s+/).filter(Boolean));
  return {
    vendor: fields.get('vendor_id') || fields.get('cpu implementer') || 'unknown',
    model: fields.get('model name') || fields.get('cpu model') || fallbackModel,
    family: integer(fields.get('cpu family')),
    modelNumber: integer(fields.get('model')),
    stepping: integer(fields.get('stepping')),
    flags: {
      avx2: flags.has('avx2'),
      avx512f: flags.has('avx512f'),
      avx512_bf16: flags.has('avx512_bf16'),
      amx: flags.has('amx_tile') || flags.has('amx_bf16') || flags.has('amx_int8'),
    },
  };
}

/** Option words of OpenBLAS's config string (openblas_get_config()); the core name is the word that is none of them. */
const BLAS_OPTION = /^(NO_[A-Z0-9_]+|USE_[A-Z0-9_]+|DYNAMIC_[A-Z0-9_]+|SMP|[A-Z0-9_]+=.*)$/;

/**
 * The core OpenBLAS uses, from its config string: "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH
 * NO_AFFINITY USE_OPENMP Cooperlake MAX_THREADS=64" -> "Cooperlake" (a DYNAMIC_ARCH build
 * names the core it chose, or the one OPENBLAS_CORETYPE forced; a fixed build names its target,
 * e.g. HASWELL). 'unknown' for another BLAS or a string without a core.
 */
export function blasCoreOf(config: string | undefined): string {
  const words = (config ?? '').trim().split(/\s+/);
  if (words[0] !== 'OpenBLAS') return 'unknown';
  const rest = words.slice(1).filter((w) => !/^\d+(\.\d+)*(\.dev)?$/.test(w) && !BLAS_OPTION.test(w));
  return rest.at(-1) ?? 'unknown';
}

function readHardware(): CpuHardware {
  const model = cpus()[0]?.model?.trim() || 'unknown';
  if (process.platform === 'linux') {
    try {
      return parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'), model);
    } catch {
      // no /proc (a container without it): the model name alone
    }
  }
  return { vendor: 'unknown', model, family: null, modelNumber: null, stepping: null, flags: { ...NO_FLAGS } };
}

let hardware: CpuHardware | undefined;

/** This machine's signature, given the BLAS config string and the dispatched SIMD target. */
export function cpuSignature(blasConfig: string | undefined, simd: string | undefined): CpuSignature {
  hardware ??= readHardware();
  return { ...hardware, flags: { ...hardware.flags }, blasCore: blasCoreOf(blasConfig), simd: simd || 'unknown' };
}

/** One line: "AuthenticAMD AMD EPYC (family 25, model 17, stepping 1); avx2 avx512f avx512_bf16 no-amx; BLAS core Cooperlake; SIMD AVX3_ZEN4". */
export function formatCpuSignature(s: CpuSignature): string {
  const numbers = [s.family !== null ? `family ${s.family}` : '', s.modelNumber !== null ? `model ${s.modelNumber}` : '', s.stepping != null ? `stepping ${s.stepping}` : ''].filter(Boolean);
  const flags = (Object.keys(s.flags) as (keyof CpuFlags)[]).map((f) => (s.flags[f] ? f : `no-${f}`)).join(' ');
  return `${s.vendor} ${s.model}${numbers.length ? ` (${numbers.join(', ')})` : ''}; ${flags}; BLAS core ${s.blasCore}; SIMD ${s.simd}`;
}

/** What differs between two signatures, e.g. ["blasCore Cooperlake vs Haswell", "simd AVX3_ZEN4 vs AVX2"]; [] when the same. */
export function signatureDifferences(a: CpuSignature, b: CpuSignature): string[] {
  const out: string[] = [];
  const field = (name: string, x: unknown, y: unknown) => {
    if (x !== y) out.push(`${name} ${String(x)} vs ${String(y)}`);
  };
  field('vendor', a.vendor, b.vendor);
  field('model', a.model, b.model);
  field('family', a.family, b.family);
  field('modelNumber', a.modelNumber, b.modelNumber);
  for (const f of Object.keys(NO_FLAGS) as (keyof CpuFlags)[]) {
    if (Boolean(a.flags?.[f]) !== Boolean(b.flags?.[f])) out.push(`${f} ${a.flags?.[f] ? 'yes' : 'no'} vs ${b.flags?.[f] ? 'yes' : 'no'}`);
  }
  field('blasCore', a.blasCore, b.blasCore);
  field('simd', a.simd, b.simd);
  return out;
}

/** Same CPU, BLAS core and SIMD target (stepping aside): timings of the two can judge a change. */
export function sameCpuSignature(a: CpuSignature, b: CpuSignature): boolean {
  return signatureDifferences(a, b).length === 0;
}
