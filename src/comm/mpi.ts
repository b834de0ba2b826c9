/**
 * The MPI communicator of real mode (docs/design.md; launching it: docs/cluster.md): one process per rank, launched by
 * mpirun or srun (MPI_Init reads rank and size from the launcher). Collectives really move
 * data, and every one is recorded exactly as the emulated communicator records it (same
 * kinds, labels and byte counts), so a real run's log feeds the same communication model.
 *
 * Importing this module registers the communicator for `--mode real` when the addon was
 * built with MPI (src/bench/modules.ts imports it) in the communicator registry.
 */
import { core, type MpiInitInfo, type NativeTensor } from '../core/binding.js';
import { UsageError } from '../core/errors.js';
import { registerCommunicator } from './registry.js';
import { RecordingCommunicator, tensorBytes, type PeerSynthesizer, type ReduceOp } from './communicator.js';

let world: MpiInitInfo | undefined;

/** Why this build cannot run real mode, or null when it can. */
export function mpiUnavailableReason(): string | null {
  const availability = core().mpiAvailable();
  return availability.available ? null : availability.reason;
}

/**
 * Initializes MPI once and returns this process's rank, the world size and the library. A
 * process that no launcher started, on a machine where MPI cannot load (a GPU host with only the
 * driver and NCCL), is a world of one rank without MPI: real mode then runs its one rank (over
 * NCCL) and the start-up agreements below are trivial. Under a launcher, a missing MPI is an error.
 */
export function mpiWorld(): MpiInitInfo {
  if (world) return world;
  const reason = mpiUnavailableReason();
  if (reason !== null) {
    if (launcherRank() !== undefined) throw new UsageError('--mode real', reason);
    world = { rank: 0, size: 1, version: `none: one rank without a launcher (${reason})`, library: '', threadLevel: 0 };
    return world;
  }
  world = core().mpiInit();
  return world;
}

/** True for the world of one rank that mpiWorld() makes when MPI cannot load and no launcher ran us. */
function singleRankWithoutMpi(): boolean {
  return world !== undefined && world.size === 1 && world.library === '' && !mpiActive();
}

/** True between mpiWorld() and finalizeMpi(): collectives (and an abort) are possible. */
export function mpiActive(): boolean {
  if (!world) return false;
  try {
    const state = core().mpiAvailable();
    return state.initialized && !state.finalized;
  } catch {
    return false;
  }
}

/** Every rank meets; nothing to wait for in a world of one rank without MPI. */
export function barrierMpi(): void {
  if (!singleRankWithoutMpi()) core().mpiBarrier();
}

export function finalizeMpi(): void {
  if (mpiActive()) core().mpiFinalize();
}

/** Ends every rank of the job (MPI_Abort); a no-op when MPI is not running in this process. */
export function abortMpi(code: number): void {
  if (mpiActive()) core().mpiAbort(code);
}

/**
 * The rank a launcher gave this process, from its environment (before or without MPI_Init):
 * Open MPI, PMIx, MPICH/Hydra (PMI), MVAPICH, Slurm's srun.
 */
export function launcherRank(env: NodeJS.ProcessEnv = process.env): number | undefined {
  for (const name of ['OMPI_COMM_WORLD_RANK', 'PMIX_RANK', 'PMI_RANK', 'MV2_COMM_WORLD_RANK', 'SLURM_PROCID']) {
    const value = env[name];
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

/** This process's rank: MPI's once initialized, else the launcher's, else undefined. */
export function currentRank(): number | undefined {
  return world ? world.rank : launcherRank();
}

// Small collectives on int32 arrays, outside any cell's record (start-up checks, NCCL's id).

function int32Tensor(values: Int32Array): NativeTensor {
  const t = new (core().NativeTensor)('cpu', 'communication', 'int32', values.length, 1);
  if (values.length) t.write(values);
  return t;
}

export function allGatherInt32(values: Int32Array, size: number): Int32Array {
  if (size === 1 && singleRankWithoutMpi()) return values.slice();
  const send = int32Tensor(values);
  const recv = new (core().NativeTensor)('cpu', 'communication', 'int32', values.length * size, 1);
  try {
    core().mpiAllGather(send, recv);
    return recv.read() as Int32Array;
  } finally {
    send.free();
    recv.free();
  }
}

export function broadcastInt32(values: Int32Array, root: number): Int32Array {
  if (root === 0 && singleRankWithoutMpi()) return values.slice();
  const t = int32Tensor(values);
  try {
    core().mpiBroadcast(t, root);
    return t.read() as Int32Array;
  } finally {
    t.free();
  }
}

export class MpiCommunicator extends RecordingCommunicator {
  readonly kind = 'mpi' as const;
  readonly sendsData = true;
  readonly version: string;

  /** `timed`: each collective timed alone after a barrier (real mode's measured communication). */
  constructor(info: MpiInitInfo = mpiWorld(), timed = false) {
    super(info.rank, info.size);
    this.version = info.version;
    this.synchronizedTiming = timed;
  }

  allGather(send: NativeTensor, recv: NativeTensor, label: string, _synthesize?: PeerSynthesizer): void {
    this.checkGather(send, recv);
    const ms = this.timed(() => core().mpiAllGather(send, recv));
    this.record('allGather', label, tensorBytes(recv), undefined, ms);
  }

  allReduce(tensor: NativeTensor, op: ReduceOp, label: string): void {
    const ms = this.timed(() => core().mpiAllReduce(tensor, op));
    this.record('allReduce', label, tensorBytes(tensor), op, ms);
  }

  reduceScatter(send: NativeTensor, recv: NativeTensor, label: string): void {
    this.checkScatter(send, recv);
    const ms = this.timed(() => core().mpiReduceScatter(send, recv));
    this.record('reduceScatter', label, tensorBytes(send), undefined, ms);
  }

  broadcast(tensor: NativeTensor, root: number, label: string): void {
    const ms = this.timed(() => core().mpiBroadcast(tensor, root));
    this.record('broadcast', label, tensorBytes(tensor), undefined, ms);
  }

  barrier(): void {
    core().mpiBarrier();
  }
}

function register(): void {
  let reason: string | null;
  try {
    reason = mpiUnavailableReason();
  } catch {
    return; // no native build: `run` reports that itself
  }
  if (reason !== null) return;
  registerCommunicator('real', 'cpu', (spec) => {
    const info = mpiWorld();
    if (spec.ranks !== info.size) {
      throw new UsageError('--gpus', `${spec.ranks} does not equal the MPI world size ${info.size}; in real mode --gpus must be the number of ranks mpirun/srun started`);
    }
    return new MpiCommunicator(info, true);
  });
}

register();
