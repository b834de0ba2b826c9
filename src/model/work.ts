/**
 * FLOPs and bytes of one FC step from its shapes: the three GEMMs (2 B A D each), and the
 * memory-bound passes over logits (margin, exp, backward: read + write each) and centres.
 */
import { localBatch, type FcConfig } from '../strategies/config.js';

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
  const gemmFlops = 3 * 2 * rows * A * D;
  const elementwiseFlops = 3 * 4 * rows * A;
  const logitsBytes = 3 * 2 * rows * A * s;
  const gemmBytes = 3 * (rows * D + A * D) * s + rows * A * s * 3;
  const updatedRows = config.update === 'dense' || config.strategy !== 'partial-fc' ? shardSize : A;
  const updateBytes = updatedRows * D * 4 * 4 + A * D * 4;
  return { gemmFlops, flops: gemmFlops + elementwiseFlops, bytes: logitsBytes + gemmBytes + updateBytes };
}
