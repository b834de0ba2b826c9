/** Bytes per memory category: the unit of every memory model (a leaf module: strategy files use it). */
import { MEMORY_CATEGORIES, type BytesByCategory } from '../core/binding.js';

export const STORAGE_BYTES = { fp32: 4, bf16: 2, fp16: 2 } as const;

export function zeroBytes(): BytesByCategory {
  return Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as BytesByCategory;
}

export function totalBytes(bytes: BytesByCategory): number {
  return MEMORY_CATEGORIES.reduce((sum, c) => sum + bytes[c], 0);
}

/** FLOPs and bytes of one FC step. */
export interface StepWork {
  gemmFlops: number;
  flops: number;
  bytes: number;
}

/**
 * The work of an FC step from its shapes: `gemms` GEMMs of rows x active x D (2 * rows * A * D
 * FLOPs each; 3 unless logits are recomputed), the memory-bound passes over the logits (statistics: read; gradient: read +
 * write), and `updatePasses` updates of `updatedRows` centres (weights, momentum, gradient, decay).
 */
export function fcStepWork(shape: { rows: number; active: number; dim: number; storageBytes: number; updatedRows: number; updatePasses?: number; gemms?: number }): StepWork {
  // gemms: 3, or more when logits are recomputed (the logit-free step's fourth GEMM, on some columns).
  const { rows, active: A, dim: D, storageBytes: s, updatedRows, updatePasses = 1, gemms = 3 } = shape;
  const gemmFlops = gemms * 2 * rows * A * D;
  const elementwiseFlops = 2 * 6 * rows * A;
  const logitsBytes = 3 * rows * A * s;
  const gemmBytes = gemms * (rows * D + A * D) * s + rows * A * s * gemms;
  const updateBytes = updatePasses * updatedRows * D * 4 * 4 + A * D * 4;
  return { gemmFlops, flops: gemmFlops + elementwiseFlops, bytes: logitsBytes + gemmBytes + updateBytes };
}
