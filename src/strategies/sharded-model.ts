/**
 * The analytic model of the sharded FC step (sharded-softmax.ts), shared by model parallel and
 * Partial FC: the bytes per category one rank allocates and the work of one step, from the
 * shapes alone. It mirrors the buffers ShardedSoftmaxFc allocates; the memory test checks the
 * two agree byte for byte.
 */
import type { BytesByCategory } from '../core/binding.js';
import { STORAGE_BYTES, fcStepWork, zeroBytes, type StepWork } from '../model/bytes.js';
import { alignedColumns, localBatch, shardOf, type FcConfig } from './config.js';

/**
 * Rank `rank`'s bytes, with `capacity(shardSize)` the most active centres a step can have and
 * `selectionBytes(shardSize, capacity)` the workspace the choice of active centres needs.
 */
export function shardedMemory(config: FcConfig, rank: number, capacity: (shardSize: number) => number, selectionBytes: (shardSize: number, capacity: number) => number): BytesByCategory {
  const f = 4;
  const s = STORAGE_BYTES[config.dtype];
  const D = config.dim;
  const B = config.batch;
  const b = localBatch(config);
  const shard = shardOf(config.classes, config.ranks, rank);
  const A = capacity(shard.size);
  // Logits' leading dimension aligned: padded columns, padded centre and gradient rows.
  const ld = alignedColumns(A);
  const m = zeroBytes();
  m.centres = shard.size * D * f;
  m.optimizer = shard.size * D * f;
  m.features = b * D * f + B * D * f + B * D * s + B * f + B * D * f;
  m.communication = b * D * f;
  m.workspace = b * f + 7 * B * f + selectionBytes(shard.size, A);
  m.activeCentres = ld * D * s + A * f;
  m.weightGrad = ld * D * f;
  m.logits = B * ld * s;
  return m;
}

/**
 * One step over the whole gathered batch against `activeCentres`, updating `updatedRows`
 * `updatePasses` times (lazy-dense reads and writes its rows twice: catch-up, then update).
 */
export function shardedWork(config: FcConfig, activeCentres: number, updatedRows: number, updatePasses = 1): StepWork {
  return fcStepWork({ rows: config.batch, active: activeCentres, dim: config.dim, storageBytes: STORAGE_BYTES[config.dtype], updatedRows, updatePasses });
}
