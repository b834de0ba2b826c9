/**
 * Communicators inside one process.
 * - single: one rank (N = 1); collectives are copies and nothing is modeled.
 * - emulated: rank r of N. It computes exactly that rank's share; the other ranks' rows of a
 *   gather are synthesized by the caller's synthesizer (the same generator those ranks would
 *   use, so the gathered batch equals a real run's); reductions see only this rank's values
 *   (so losses are not meaningful); nothing is sent, and every collective is recorded so its
 *   time can be modeled.
 */
import { core, type NativeTensor } from '../core/binding.js';
import { RecordingCommunicator, tensorBytes, type PeerSynthesizer, type ReduceOp } from './communicator.js';

export class LocalCommunicator extends RecordingCommunicator {
  readonly sendsData = false;

  constructor(
    readonly kind: 'single' | 'emulated',
    rank: number,
    size: number,
  ) {
    super(rank, size);
    if (kind === 'single' && (rank !== 0 || size !== 1)) throw new Error('a single-process communicator is rank 0 of 1');
    if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new Error(`rank ${rank} is outside 0..${size - 1}`);
  }

  allGather(send: NativeTensor, recv: NativeTensor, label: string, synthesize?: PeerSynthesizer): void {
    this.checkGather(send, recv);
    const rows = send.rows;
    core().copyTensor(send, recv.view(this.rank * rows, rows));
    for (let peer = 0; peer < this.size; peer++) {
      if (peer === this.rank) continue;
      if (!synthesize) throw new Error(`allGather '${label}': an emulated rank needs a synthesizer for its peers' rows`);
      synthesize(peer, recv.view(peer * rows, rows));
    }
    this.record('allGather', label, tensorBytes(recv));
  }

  allReduce(tensor: NativeTensor, op: ReduceOp, label: string): void {
    this.record('allReduce', label, tensorBytes(tensor), op);
  }

  reduceScatter(send: NativeTensor, recv: NativeTensor, label: string): void {
    this.checkScatter(send, recv);
    core().copyTensor(send.view(this.rank * recv.rows, recv.rows), recv);
    this.record('reduceScatter', label, tensorBytes(send));
  }

  broadcast(tensor: NativeTensor, _root: number, label: string): void {
    this.record('broadcast', label, tensorBytes(tensor));
  }

  barrier(): void {}
}

export function singleCommunicator(): LocalCommunicator {
  return new LocalCommunicator('single', 0, 1);
}

export function emulatedCommunicator(rank: number, size: number): LocalCommunicator {
  return new LocalCommunicator('emulated', rank, size);
}
