/**
 * FLOPs and bytes of one FC step from its shapes: the three GEMMs (2 B A D each; four with
 * --logits fused, the logits recomputed), and the
 * memory-bound passes over logits (statistics: read; gradient: read + write) and centres.
 */
import { fusedTileColumns, localBatch, type FcConfig } from '../strategies/config.js';
import { sampledCapacity } from '../strategies/partial-fc.js';

export interface StepWork {
  gemmFlops: number;
  flops: number;
  bytes: number;
}

export function stepWork(config: FcConfig, activeCentres: number, shardSize: number): StepWork {
  const rows = config.strategy === 'data-parallel' ? localBatch(config) : config.batch;
  const A = activeCentres;
  const D = config.dim;
  const s = config.dtype === 'fp32' ? 4 : 2;
  // fused (logit-free): a fourth GEMM recomputes the logits of every tile but the last.
  const gemms = 3 + (A > 0 ? fusedRecomputedColumns(config, A, shardSize) / A : 0);
  const gemmFlops = gemms * 2 * rows * A * D;
  const elementwiseFlops = 2 * 6 * rows * A;
  const logitsBytes = 3 * rows * A * s;
  const gemmBytes = gemms * (rows * D + A * D) * s + rows * A * s * gemms;
  const updatedRows = config.update === 'dense' || config.strategy !== 'partial-fc' ? shardSize : A;
  // lazy-dense: the active rows are read and written twice (catch-up, then the update).
  const passes = config.update === 'lazy-dense' && config.strategy === 'partial-fc' ? 2 : 1;
  const updateBytes = passes * updatedRows * D * 4 * 4 + A * D * 4;
  return { gemmFlops, flops: gemmFlops + elementwiseFlops, bytes: logitsBytes + gemmBytes + updateBytes };
}

/**
 * --logits fused (issue 14): the active columns whose logits the gradient pass recomputes: every
 * tile's but the last (still in the scratch after the statistics pass). 0 when materialized.
 */
export function fusedRecomputedColumns(config: FcConfig, activeCentres: number, shardSize: number): number {
  if (config.logits !== 'fused' || activeCentres === 0) return 0;
  const capacity = config.strategy === 'partial-fc' ? sampledCapacity(config.batch, shardSize, config.sampleRate) : shardSize;
  const T = fusedTileColumns(config, capacity);
  return T * Math.floor((activeCentres - 1) / T);
}
