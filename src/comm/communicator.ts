/**
 * The communicator interface every strategy talks to, and the record of what it sent.
 * Byte counts follow nccl-tests: all-gather counts the gathered (receive) buffer,
 * reduce-scatter the full (send) buffer, all-reduce and broadcast the buffer itself.
 */
import { performance } from 'node:perf_hooks';
import type { NativeTensor, DType } from '../core/binding.js';

export type CollectiveKind = 'allGather' | 'allReduce' | 'reduceScatter' | 'broadcast';
export type ReduceOp = 'sum' | 'max';
export type CommunicatorKind = 'single' | 'emulated' | 'mpi' | 'nccl';

export interface CollectiveRecord {
  kind: CollectiveKind;
  op?: ReduceOp;
  /** What the strategy moved, e.g. 'features', 'rowMax'. */
  label: string;
  bytes: number;
  ranks: number;
}

/** Fills one peer's rows of a gathered tensor (emulated mode synthesizes what peers would send). */
export type PeerSynthesizer = (peer: number, rows: NativeTensor) => void;

export interface Communicator {
  readonly kind: CommunicatorKind;
  readonly rank: number;
  readonly size: number;
  /** True when collectives really move data between processes. */
  readonly sendsData: boolean;
  readonly log: CollectiveRecord[];
  /**
   * Milliseconds of each logged collective alone (index = its index in log), where the
   * communicator times them (real mode); NaN where it does not.
   */
  readonly timings: number[];
  /** Time each collective alone after a barrier (real mode); calibrate turns it off to time loops. */
  synchronizedTiming: boolean;
  /** recv (size * send.rows rows) <- every rank's send, in rank order. */
  allGather(send: NativeTensor, recv: NativeTensor, label: string, synthesize?: PeerSynthesizer): void;
  allReduce(tensor: NativeTensor, op: ReduceOp, label: string): void;
  /** recv (send.rows / size rows) <- this rank's block of the sum over ranks of send. */
  reduceScatter(send: NativeTensor, recv: NativeTensor, label: string): void;
  broadcast(tensor: NativeTensor, root: number, label: string): void;
  barrier(): void;
  dispose(): void;
}

const DTYPE_BYTES: Record<DType, number> = { fp32: 4, bf16: 2, fp16: 2, int32: 4 };

export function tensorBytes(t: NativeTensor): number {
  return t.rows * t.cols * DTYPE_BYTES[t.dtype];
}

/** Keeps the log; concrete communicators call record() for every collective. */
export abstract class RecordingCommunicator implements Communicator {
  abstract readonly kind: CommunicatorKind;
  abstract readonly sendsData: boolean;
  readonly log: CollectiveRecord[] = [];
  readonly timings: number[] = [];
  /**
   * Time every collective as nccl-tests does: the ranks meet in a barrier first, so the time
   * is the collective's own and not a wait for a slower rank, then the host clock runs until
   * the result is there (the device synchronized). Real communicators turn it on.
   */
  synchronizedTiming = false;

  constructor(
    readonly rank: number,
    readonly size: number,
  ) {}

  protected record(kind: CollectiveKind, label: string, bytes: number, op?: ReduceOp, ms = NaN): void {
    this.log.push(op ? { kind, op, label, bytes, ranks: this.size } : { kind, label, bytes, ranks: this.size });
    this.timings.push(ms);
  }

  /** Runs one collective; its milliseconds when synchronizedTiming is on, else NaN. */
  protected timed(run: () => void): number {
    if (!this.synchronizedTiming) {
      run();
      return NaN;
    }
    this.syncRanks();
    const start = performance.now();
    run();
    this.syncDevice();
    return performance.now() - start;
  }

  /** Every rank here, with its device idle (the barrier before a timed collective). */
  protected syncRanks(): void {
    this.barrier();
  }

  /** Waits for the device's queued work (GPU communicators). */
  protected syncDevice(): void {}

  protected checkGather(send: NativeTensor, recv: NativeTensor): void {
    if (recv.rows !== send.rows * this.size || recv.cols !== send.cols || recv.dtype !== send.dtype) {
      throw new Error(`allGather: receive buffer ${recv.rows}x${recv.cols} does not hold ${this.size} x ${send.rows}x${send.cols}`);
    }
  }

  protected checkScatter(send: NativeTensor, recv: NativeTensor): void {
    if (send.rows !== recv.rows * this.size || recv.cols !== send.cols || recv.dtype !== send.dtype) {
      throw new Error(`reduceScatter: send buffer ${send.rows}x${send.cols} is not ${this.size} x ${recv.rows}x${recv.cols}`);
    }
  }

  abstract allGather(send: NativeTensor, recv: NativeTensor, label: string, synthesize?: PeerSynthesizer): void;
  abstract allReduce(tensor: NativeTensor, op: ReduceOp, label: string): void;
  abstract reduceScatter(send: NativeTensor, recv: NativeTensor, label: string): void;
  abstract broadcast(tensor: NativeTensor, root: number, label: string): void;
  abstract barrier(): void;
  dispose(): void {}
}
