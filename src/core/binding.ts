/**
 * The typed face of the native addon (build/Release/pfc_core.node). Every export of the
 * addon has its type here; nothing else in the code base loads the addon.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Device = 'cpu' | 'cuda';
export type DType = 'fp32' | 'bf16' | 'fp16' | 'int32';
export const MEMORY_CATEGORIES = [
  'centres',
  'optimizer',
  'weightGrad',
  'activeCentres',
  'logits',
  'features',
  'workspace',
  'communication',
] as const;
export type MemoryCategory = (typeof MEMORY_CATEGORIES)[number];
export type BytesByCategory = Record<MemoryCategory, number>;

export interface NativeTensor {
  readonly rows: number;
  readonly cols: number;
  readonly dtype: DType;
  readonly device: Device;
  readonly category: MemoryCategory;
  readonly freed: boolean;
  /** Rows [start, start + count), sharing storage. */
  view(start: number, count: number): NativeTensor;
  /** The first rows * cols elements seen as rows x cols, sharing storage. */
  reshape(rows: number, cols: number): NativeTensor;
  read(): Float32Array | Int32Array | Uint16Array;
  write(data: Float32Array | Int32Array | Uint16Array): void;
  /** Frees the storage now (for every view of it). */
  free(): void;
}

export interface Margin {
  s: number;
  m1: number;
  m2: number;
  m3: number;
}

export interface SampleSpec {
  shardOffset: number;
  shardSize: number;
  numSampled: number;
  seed: number;
  stream: number;
}

export interface SgdRates {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface RowCatchUp {
  momentum: NativeTensor;
  lastStep: NativeTensor;
  step: number;
  sgd: SgdRates;
}

/** A tile of the active logit columns: its first column, and how many columns are active in all. */
export interface LogitColumns {
  offset: number;
  active: number;
}

export interface SgdParams extends SgdRates {
  dense: boolean;
}

export interface MemoryCounters {
  current: BytesByCategory;
  peak: BytesByCategory;
  atTotalPeak: BytesByCategory;
  total: number;
  totalPeak: number;
  budget: number;
  allocations: number;
}

export interface CudaProbe {
  usable: boolean;
  reason: string;
  name: string;
  totalBytes: number;
  driverVersion: number;
  runtimeVersion: number;
  /** Multiprocessors of the device (0 without one). */
  smCount: number;
}

/**
 * The ops that take many tensors of one type take them by name (an object): a positional list of
 * nine tensors is one transposition away from a wrong answer that still runs. core() turns each
 * object into the addon's positional call (NAMED_OPS), in the order below.
 */
export interface SoftmaxStatsArgs {
  /** B x ld cosines (ld aligned; columns [cols, ld) padding). */
  logits: NativeTensor;
  cols: number;
  /** Labels as active positions (-1: not on this shard). */
  labels: NativeTensor;
  margin: Margin;
  targetCos: NativeTensor;
  localMax: NativeTensor;
  rowMax: NativeTensor;
  rowSum: NativeTensor;
  targetLogit: NativeTensor;
  columns?: LogitColumns;
}

export interface RowStatsArgs {
  labels: NativeTensor;
  localMax: NativeTensor;
  rowMax: NativeTensor;
  rowSum: NativeTensor;
  targetLogit: NativeTensor;
}

export interface SoftmaxGradArgs {
  logits: NativeTensor;
  cols: number;
  labels: NativeTensor;
  margin: Margin;
  rowMax: NativeTensor;
  rowSum: NativeTensor;
  targetCos: NativeTensor;
  /** dlogits = (p - onehot) * gradScale (1 / B: the global batch's mean). */
  gradScale: number;
  columns?: LogitColumns;
}

export interface NormalizedUpdateArgs {
  weights: NativeTensor;
  momentum: NativeTensor;
  /** The gradient with respect to the normalized rows (dY), and those rows (y) and their norms. */
  gradNormalized: NativeTensor;
  normalized: NativeTensor;
  norms: NativeTensor;
  /** The rows updated (sorted, unique), or null for every row. */
  indices: NativeTensor | null;
  rates: SgdRates;
  /** lazy-dense's per-row step clock, or null. */
  lastStep: NativeTensor | null;
  step: number;
}

/** Each named op's fields in the addon's positional order. */
const NAMED_OPS = {
  marginSoftmaxStats: ['logits', 'cols', 'labels', 'margin', 'targetCos', 'localMax', 'rowMax', 'rowSum', 'targetLogit', 'columns'],
  rescaleRowStats: ['labels', 'localMax', 'rowMax', 'rowSum', 'targetLogit'],
  marginSoftmaxGrad: ['logits', 'cols', 'labels', 'margin', 'rowMax', 'rowSum', 'targetCos', 'gradScale', 'columns'],
  sgdNormalizedUpdate: ['weights', 'momentum', 'gradNormalized', 'normalized', 'norms', 'indices', 'rates', 'lastStep', 'step'],
} as const;

/** The addon over its named ops: each object argument spread into the positional call the C++ side takes. */
function withNamedOps(addon: Record<string, unknown>): NativeCore {
  const named: Record<string, (args: Record<string, unknown>) => unknown> = {};
  for (const [op, order] of Object.entries(NAMED_OPS)) {
    const positional = addon[op] as (...a: unknown[]) => unknown;
    named[op] = (args) => {
      const values = order.map((key) => args[key]);
      // A trailing optional argument left out stays out (the addon counts its arguments).
      while (values.length && values[values.length - 1] === undefined) values.pop();
      return positional.apply(addon, values);
    };
  }
  return Object.assign(Object.create(addon) as object, named) as unknown as NativeCore;
}

export interface NativeCore {
  NativeTensor: new (device: Device, category: MemoryCategory, dtype: DType, rows: number, cols: number) => NativeTensor;
  fillRandom(
    t: NativeTensor,
    seed: number,
    stream: number,
    counterOffset: number,
    distribution: 'uniform' | 'normal',
    a: number,
    b: number,
  ): void;
  fillLabels(t: NativeTensor, seed: number, stream: number, counterOffset: number, numClasses: number): void;
  fillConstant(t: NativeTensor, value: number): void;
  gatherRows(src: NativeTensor, indices: NativeTensor, dst: NativeTensor): void;
  scatterAddRows(src: NativeTensor, indices: NativeTensor, dst: NativeTensor): void;
  copyTensor(src: NativeTensor, dst: NativeTensor): void;
  /** catchUp (lazy-dense; indices sorted, unique): each gathered row and its momentum first
   * get the zero-gradient steps since lastStep[row], in place, in the same read. */
  normalizeRows(src: NativeTensor, indices: NativeTensor | null, dst: NativeTensor, norms: NativeTensor, catchUp?: RowCatchUp): void;
  normalizeRowsBackward(grad: NativeTensor, normalized: NativeTensor, norms: NativeTensor): void;
  gemm(a: NativeTensor, transA: boolean, b: NativeTensor, transB: boolean, c: NativeTensor, alpha: number, beta: number): void;
  /** Pass 1 over the B x ld cosines (columns [cols, ld) are padding): online row max and sum
   * of exp with the margin applied on the fly; localMax = rowMax (the latter to be all-reduced).
   * columns (logit-free step): the logits are active columns [offset, offset + cols); the tile at
   * offset 0 starts the statistics, later tiles fold into them. Absent: the whole row. */
  marginSoftmaxStats(args: SoftmaxStatsArgs): void;
  /** After the MAX all-reduce: rowSum *= exp(localMax - rowMax), targetLogit -= rowMax. */
  rescaleRowStats(args: RowStatsArgs): void;
  crossEntropyLossSum(rowSum: NativeTensor, targetLogit: NativeTensor): number;
  /** Pass 2, in place: cosines -> dcos (padding columns 0); columns as marginSoftmaxStats. */
  marginSoftmaxGrad(args: SoftmaxGradArgs): void;
  sampleCentres(labels: NativeTensor, spec: SampleSpec, keys: NativeTensor, indices: NativeTensor, remapped: NativeTensor): number;
  shardLabels(labels: NativeTensor, shardOffset: number, shardSize: number, remapped: NativeTensor): void;
  sgdUpdate(weights: NativeTensor, momentum: NativeTensor, grad: NativeTensor, indices: NativeTensor | null, params: SgdParams): void;
  /** Sparse update (every row when indices is null) with the centres' normalization backward
   * fused: g = (dY - y (y . dY)) / norm. lastStep (lazy dense): updated rows get step + 1. */
  sgdNormalizedUpdate(args: NormalizedUpdateArgs): void;
  /** Dense's zero-gradient step on every row not in the sorted activeIndices (the logit-free
   * dense step updates its active rows tile by tile, then the idle ones with this). */
  sgdIdleRows(weights: NativeTensor, momentum: NativeTensor, activeIndices: NativeTensor, params: SgdRates): void;
  /** Lazy dense: rows (every row when indices is null) brought to `step` SGD steps with the
   * exact zero-gradient map M^(step - lastStep[row]); lastStep[row] = step. */
  sgdCatchUp(weights: NativeTensor, momentum: NativeTensor, lastStep: NativeTensor, indices: NativeTensor | null, step: number, params: SgdRates): void;
  /** simd: the SIMD target the CPU kernels dispatch to now (Highway's name: AVX3, AVX2, SSE4, ...); simdTargets: those this build and CPU can run, best first. */
  buildInfo(): { blas: string; cuda: boolean; mpi: boolean; compiler: string; simd: string; simdTargets: string[]; simulated?: boolean };
  /** Kernel launches the simulated device ran (the simulated-device addon only). */
  simLaunchCount?(): number;
  /** Caps the CPU kernels' SIMD target (avx3, avx2, sse4, ssse3, scalar; 'best' lifts the cap); returns the target now used. */
  setSimdTarget(name: string): string;
  /** Every run-time library: found or not, its file, its version, why not. Never throws. */
  libraries(): RuntimeLibrary[];
  setThreads(threads: number): void;
  threads(): number;
  memoryStats(device: Device): MemoryCounters;
  resetMemoryPeaks(device: Device): void;
  setMemoryBudget(device: Device, bytes: number): void;
  cudaProbe(): CudaProbe;
  /** CUDA builds: frees cuBLAS's handle and workspace and the kernels' scratch (allocated again on use). */
  cudaReleaseWorkspaces?(): void;
  synchronize(device: Device): void;
  /** CUDA builds only (present when buildInfo().cuda). */
  cudaSelectDevice?(ordinal: number): void;
  cudaCreateEvent?(): number;
  cudaRecordEvent?(event: number): void;
  cudaElapsedMs?(start: number, end: number): number;
  cudaDestroyEvent?(event: number): void;
  cudaSetAllowTf32?(allow: boolean): void;
  cudaDeviceUsedBytes?(): number;
  cublasVersion?(): number;
  /** The fp32 scratch the CPU's bf16 GEMM takes from the tagged allocator ('workspace') for each call. */
  cpuBf16GemmWorkspaceBytes: number;
  /** The workspace cuBLAS gets from the tagged allocator ('workspace') with its first handle. */
  cublasWorkspaceBytes?: number;
  ncclVersion?(): number;
  ncclNewUniqueId?(): Uint8Array;
  ncclInit?(rank: number, size: number, uniqueId: Uint8Array): number;
  /** Waits for the stream, checking NCCL's asynchronous error meanwhile; aborts and throws on one or past the timeout (0: none). */
  ncclSynchronize?(communicator: number, timeoutSeconds: number): void;
  ncclAllGather?(comm: number, send: NativeTensor, recv: NativeTensor): void;
  ncclAllReduce?(comm: number, tensor: NativeTensor, op: 'sum' | 'max'): void;
  ncclReduceScatter?(comm: number, send: NativeTensor, recv: NativeTensor): void;
  ncclBroadcast?(comm: number, tensor: NativeTensor, root: number): void;
  ncclDestroy?(comm: number): void;
  /** MPI communicator (real mode on CPU ranks). Always present; without MPI in the build
   * mpiAvailable() says why and the others throw PFC_UNAVAILABLE. Collectives take CPU
   * tensors (fp32/int32; 16-bit for gather/broadcast) and throw PFC_COMM on an MPI error. */
  mpiAvailable(): MpiAvailability;
  mpiInit(): MpiInitInfo;
  mpiAllGather(send: NativeTensor, recv: NativeTensor): void;
  mpiAllReduce(tensor: NativeTensor, op: 'sum' | 'max'): void;
  mpiReduceScatter(send: NativeTensor, recv: NativeTensor): void;
  mpiBroadcast(tensor: NativeTensor, root: number): void;
  mpiBarrier(): void;
  /** MPI_Abort on the world: the launcher ends every rank. */
  mpiAbort(code: number): void;
  mpiFinalize(): void;
}

export interface RuntimeLibrary {
  name: 'OpenBLAS' | 'MPI' | 'cuBLAS' | 'NCCL' | 'CUDA driver' | 'CUDA runtime';
  found: boolean;
  /** The file loaded ('' when not found, or linked into the addon). */
  path: string;
  version: string;
  /** Why it is missing, or how it is linked. */
  note: string;
}

export interface MpiAvailability {
  available: boolean;
  /** Why not, when not available. */
  reason: string;
  initialized: boolean;
  finalized: boolean;
}

export interface MpiInitInfo {
  rank: number;
  size: number;
  /** MPI_Get_library_version's first line and the standard version. */
  version: string;
  /** The libmpi file in use. */
  library: string;
  threadLevel: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The package root: dist/src/core -> three levels up, or src/core -> two. */
export function packageRoot(): string {
  for (const up of ['../../..', '../..']) {
    const root = join(here, up);
    if (existsSync(join(root, 'package.json'))) return root;
  }
  return join(here, '../../..');
}

let loaded: NativeCore | undefined;

/** The addon file: $PFC_CORE_PATH (another build, e.g. a bundle carried to a GPU host) or the build's. */
export function corePath(): string {
  return process.env.PFC_CORE_PATH ?? join(packageRoot(), 'build', 'Release', 'pfc_core.node');
}

/** Loads an addon file, turning a loader failure into one error that says what to do. */
function loadAddon(path: string): NativeCore {
  if (!existsSync(path)) {
    throw new Error(
      `pfc-bench: the native core is not built (${path} is missing). Run 'npm install' (needs cmake, g++ and ` +
        `OpenBLAS and Highway: apt-get install cmake g++ libopenblas-openmp-dev libhwy-dev), or 'npm run build:native' after a change.`,
    );
  }
  const require = createRequire(import.meta.url);
  try {
    return withNamedOps(require(path) as Record<string, unknown>);
  } catch (error) {
    if ((error as Error).message.startsWith('PFC_SIMD_MAX')) throw error; // a bad setting, not a missing library
    // The loader's own message names the missing library (e.g. "libopenblas.so.0: cannot open
    // shared object file"); say what to do about it too.
    throw new Error(
      `pfc-bench: the native core at ${path} failed to load: ${(error as Error).message}. ` +
        `Install the libraries it names (apt-get install libopenblas-openmp-dev libhwy-dev), rebuild with 'npm run build:native', ` +
        `or carry a bundle made by scripts/bundle.sh, which holds them beside the addon.`,
      { cause: error },
    );
  }
}

/**
 * The simulated-device addon (pfc_sim.node, built beside the core by every build): the same
 * core, whose CUDA device runs the .cu kernels on the host CPU. $PFC_SIM_CORE_PATH selects
 * another build of it (the sanitizer build, for instance).
 */
export function simCorePath(): string {
  return process.env.PFC_SIM_CORE_PATH ?? join(dirname(corePath()), 'pfc_sim.node');
}

let simulated: NativeCore | undefined;

/**
 * Makes the simulated-device addon the process's core, for good: every later core() call, CPU
 * tensors included, goes to it (its CPU backend is the same code), so no tensor of one addon
 * ever meets an op of the other. Call it before any tensor exists (the cuda-sim backend does,
 * when it is created).
 */
export function useSimulatedDevice(): NativeCore {
  simulated ??= loadAddon(simCorePath());
  loaded = simulated;
  return simulated;
}

/** True once the process runs on the simulated-device addon. */
export function onSimulatedDevice(): boolean {
  return simulated !== undefined && loaded === simulated;
}

/** Loads the addon once. A missing build throws one error that says what to do. */
export function core(): NativeCore {
  if (loaded) return loaded;
  // PFC_CORE_PATH selects another build of the addon (a CUDA build carried to a GPU machine).
  loaded = loadAddon(corePath());
  return loaded;
}
