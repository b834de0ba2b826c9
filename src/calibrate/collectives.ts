/**
 * The collectives `pfc-bench calibrate` measures, one small struct each, after nccl-tests
 * (src/all_gather.cu, ...): the buffers for a size, the input each rank writes, the value
 * every element of the result must hold, and the run itself, over the same Communicator the
 * strategies use (MPI on CPU ranks, NCCL on GPU ranks). Sizes follow nccl-tests: all-gather
 * counts the gathered buffer, reduce-scatter its full input, all-reduce and broadcast the buffer.
 *
 * Inputs are small integers in fp32, so sums over ranks are exact and a check is an equality.
 */
import type { Communicator, CollectiveKind } from '../comm/communicator.js';
import type { NativeTensor } from '../core/binding.js';

/** Rank r's input element i: a small integer (exact in fp32 summed over any rank count). */
export function inputValue(rank: number, i: number): number {
  return ((rank + 1) * 7 + i * 3) % 16;
}

export interface Buffers {
  send: NativeTensor;
  /** The result (the send buffer itself for in-place collectives). */
  recv: NativeTensor;
}

export interface CalibratedCollective {
  kind: CollectiveKind;
  /** fp32 elements of the send and receive buffers for a size; 0 when the size is too small to split. */
  counts(bytes: number, ranks: number): { send: number; recv: number };
  /** The send buffer's content on `rank` (before each checked run). */
  input(rank: number, ranks: number, count: number): Float32Array;
  run(comm: Communicator, buffers: Buffers): void;
  /** The value element i of the result must hold on `rank`. */
  expected(rank: number, ranks: number, recvCount: number, i: number): number;
}

function fill(count: number, value: (i: number) => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = value(i);
  return out;
}

function sumOverRanks(ranks: number, i: number): number {
  let s = 0;
  for (let r = 0; r < ranks; r++) s += inputValue(r, i);
  return s;
}

/** Whole elements per rank: the buffer's count rounded down to a multiple of the ranks (nccl-tests does too). */
function perRank(bytes: number, ranks: number): number {
  return Math.floor(bytes / 4 / ranks);
}

const BROADCAST_ROOT = 0;

export const CALIBRATED_COLLECTIVES: readonly CalibratedCollective[] = [
  {
    kind: 'allGather',
    counts: (bytes, ranks) => ({ send: perRank(bytes, ranks), recv: perRank(bytes, ranks) * ranks }),
    input: (rank, _ranks, count) => fill(count, (i) => inputValue(rank, i)),
    run: (comm, b) => comm.allGather(b.send, b.recv, 'calibrate'),
    // Block r of the result is rank r's input.
    expected: (_rank, ranks, recvCount, i) => inputValue(Math.floor(i / (recvCount / ranks)), i % (recvCount / ranks)),
  },
  {
    kind: 'reduceScatter',
    counts: (bytes, ranks) => ({ send: perRank(bytes, ranks) * ranks, recv: perRank(bytes, ranks) }),
    input: (rank, _ranks, count) => fill(count, (i) => inputValue(rank, i)),
    run: (comm, b) => comm.reduceScatter(b.send, b.recv, 'calibrate'),
    // This rank's block of the sum over ranks.
    expected: (rank, ranks, recvCount, i) => sumOverRanks(ranks, rank * recvCount + i),
  },
  {
    kind: 'allReduce',
    counts: (bytes) => ({ send: Math.floor(bytes / 4), recv: Math.floor(bytes / 4) }),
    input: (rank, _ranks, count) => fill(count, (i) => inputValue(rank, i)),
    run: (comm, b) => comm.allReduce(b.send, 'sum', 'calibrate'),
    expected: (_rank, ranks, _count, i) => sumOverRanks(ranks, i),
  },
  {
    kind: 'broadcast',
    counts: (bytes) => ({ send: Math.floor(bytes / 4), recv: Math.floor(bytes / 4) }),
    // Only the root's content may arrive: the others start from -1.
    input: (rank, _ranks, count) => fill(count, (i) => (rank === BROADCAST_ROOT ? inputValue(BROADCAST_ROOT, i) : -1)),
    run: (comm, b) => comm.broadcast(b.send, BROADCAST_ROOT, 'calibrate'),
    expected: (_rank, _ranks, _count, i) => inputValue(BROADCAST_ROOT, i),
  },
];

/** Elements of `result` that differ from what `collective` must leave on `rank`. */
export function countWrong(collective: CalibratedCollective, result: Float32Array, rank: number, ranks: number): number {
  let wrong = 0;
  for (let i = 0; i < result.length; i++) if (result[i] !== collective.expected(rank, ranks, result.length, i)) wrong++;
  return wrong;
}
