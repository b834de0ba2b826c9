/**
 * Where a rank's local batch comes from. The synthetic source is a pure function of
 * (seed, step, rank), so an emulated rank synthesizes exactly the rows its peers would send.
 */
import { core, type NativeTensor } from '../core/binding.js';

export interface BatchSource {
  /** Rank `rank`'s features at `step` (b x D). */
  fillFeatures(rank: number, step: number, dst: NativeTensor): void;
  /** Rank `rank`'s labels at `step` (b x 1, global class ids). */
  fillLabels(rank: number, step: number, dst: NativeTensor): void;
}

/** Random-number streams; every random quantity of a run draws from its own. */
export const STREAMS = { weights: 1, features: 2, labels: 3, sampling: 4 } as const;
export function streamId(kind: keyof typeof STREAMS, step = 0): number {
  return STREAMS[kind] * 1_000_000_000 + step;
}

export class SyntheticBatch implements BatchSource {
  constructor(
    private readonly seed: number,
    private readonly classes: number,
  ) {}

  fillFeatures(rank: number, step: number, dst: NativeTensor): void {
    core().fillRandom(dst, this.seed, streamId('features', step), rank * dst.rows * dst.cols, 'normal', 0, 1);
  }

  fillLabels(rank: number, step: number, dst: NativeTensor): void {
    core().fillLabels(dst, this.seed, streamId('labels', step), rank * dst.rows, this.classes);
  }
}

/** Fixed per-rank arrays (tests: outliers, repeated labels, labels on every shard). */
export class FixedBatch implements BatchSource {
  constructor(
    private readonly features: Float32Array[],
    private readonly labels: Int32Array[],
  ) {}

  fillFeatures(rank: number, _step: number, dst: NativeTensor): void {
    dst.write(this.features[rank]);
  }

  fillLabels(rank: number, _step: number, dst: NativeTensor): void {
    dst.write(this.labels[rank]);
  }
}
