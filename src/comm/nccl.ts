/**
 * The NCCL communicator of real mode on GPUs: one process per GPU. Under mpirun/srun, rank 0
 * makes NCCL's unique id and MPI broadcasts it; without MPI, a single-rank communicator.
 * Each process takes the GPU of its local rank on the node before any CUDA work.
 * Collectives run on the core's CUDA stream and are recorded as every communicator records them.
 */
import { core, type NativeTensor } from '../core/binding.js';
import { UsageError } from '../core/errors.js';
import { registerCommunicator, type CommRequest } from './registry.js';
import type { Backend } from '../core/backend.js';
import { RecordingCommunicator, tensorBytes, type Communicator, type PeerSynthesizer, type ReduceOp } from './communicator.js';
import { broadcastInt32, mpiUnavailableReason, mpiWorld } from './mpi.js';

/** The rank of this process among those on its node, from the launcher's environment. */
export function localRank(env: NodeJS.ProcessEnv = process.env): number {
  for (const name of ['OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', 'MV2_COMM_WORLD_LOCAL_RANK', 'SLURM_LOCALID']) {
    const value = env[name];
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return 0;
}

export class NcclCommunicator extends RecordingCommunicator {
  readonly kind = 'nccl' as const;
  readonly sendsData = true;
  private handle: number;

  /** `withMpi`: the ranks can meet in an MPI barrier (needed to time collectives alone). */
  constructor(rank: number, size: number, uniqueId: Uint8Array, private readonly withMpi = false) {
    super(rank, size);
    this.handle = core().ncclInit!(rank, size, uniqueId);
    this.synchronizedTiming = true;
  }

  allGather(send: NativeTensor, recv: NativeTensor, label: string, _synthesize?: PeerSynthesizer): void {
    this.checkGather(send, recv);
    const ms = this.timed(() => core().ncclAllGather!(this.handle, send, recv));
    this.record('allGather', label, tensorBytes(recv), undefined, ms);
  }

  allReduce(tensor: NativeTensor, op: ReduceOp, label: string): void {
    const ms = this.timed(() => core().ncclAllReduce!(this.handle, tensor, op));
    this.record('allReduce', label, tensorBytes(tensor), op, ms);
  }

  reduceScatter(send: NativeTensor, recv: NativeTensor, label: string): void {
    this.checkScatter(send, recv);
    const ms = this.timed(() => core().ncclReduceScatter!(this.handle, send, recv));
    this.record('reduceScatter', label, tensorBytes(send), undefined, ms);
  }

  broadcast(tensor: NativeTensor, root: number, label: string): void {
    const ms = this.timed(() => core().ncclBroadcast!(this.handle, tensor, root));
    this.record('broadcast', label, tensorBytes(tensor), undefined, ms);
  }

  // Not run on a GPU yet: the stream drained, then MPI's barrier, so every rank starts the timed
  // collective together with an idle device. Every wait watches NCCL's asynchronous error: a
  // failed peer is an error naming NCCL's reason, not a hang.
  protected syncRanks(): void {
    this.waitForDevice();
    if (this.withMpi) core().mpiBarrier();
  }

  protected syncDevice(): void {
    this.waitForDevice();
  }

  barrier(): void {
    this.waitForDevice();
  }

  private waitForDevice(): void {
    core().ncclSynchronize!(this.handle, ncclTimeoutSeconds());
  }

  dispose(): void {
    if (this.handle) core().ncclDestroy!(this.handle);
    this.handle = 0;
  }
}

/** NCCL's unique id (128 bytes) from rank 0 to every rank, over MPI. */
function broadcastUniqueId(rank: number): Uint8Array {
  const id = rank === 0 ? core().ncclNewUniqueId!() : new Uint8Array(128);
  const words = broadcastInt32(new Int32Array(id.buffer.slice(id.byteOffset, id.byteOffset + id.length)), 0);
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Seconds a wait on NCCL may last before the communicator is aborted: $PFC_NCCL_TIMEOUT_S, default 300. */
export function ncclTimeoutSeconds(): number {
  const raw = process.env.PFC_NCCL_TIMEOUT_S;
  if (raw === undefined || raw === '') return 300;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new UsageError('PFC_NCCL_TIMEOUT_S', `expected seconds >= 0 (0: no limit), got '${raw}'`);
  return value;
}

function register(): void {
  let native;
  try {
    native = core();
  } catch {
    return;
  }
  if (!native.buildInfo().cuda || !native.ncclInit) return;
  registerCommunicator('real', 'cuda', ncclCommunicatorFor);
}

/** Real mode over NCCL: the MPI world's ranks (one per GPU), or one rank without MPI. */
function ncclCommunicatorFor(spec: CommRequest, backend: Backend): Communicator {
  const native = core();
  // The simulated device's NCCL is a one-rank stand-in: never an MPI world.
  const withMpi = !backend.simulated && mpiUnavailableReason() === null;
  const { rank, size } = withMpi ? mpiWorld() : { rank: 0, size: 1 };
  if (spec.ranks !== size) {
    throw new UsageError('--gpus', `${spec.ranks} does not equal the number of ranks (${size}${withMpi ? ', the MPI world size' : backend.simulated ? '; the simulated device is one rank' : '; without MPI, real mode on GPUs is one rank'})`);
  }
  native.cudaSelectDevice!(localRank());
  const id = size === 1 ? native.ncclNewUniqueId!() : broadcastUniqueId(rank);
  return new NcclCommunicator(rank, size, id, withMpi);
}

register();
// The simulated device always has its one-rank NCCL (its addon is loaded when the backend is chosen).
registerCommunicator('real', 'cuda-sim', ncclCommunicatorFor);
