/**
 * Analytic memory model: the bytes per category that one rank of a strategy allocates, from
 * the shapes alone (it mirrors the buffers each strategy file allocates). The runner prints
 * it beside the measured figure, and the capacity search uses it to bracket the answer.
 */
import { MEMORY_CATEGORIES, type BytesByCategory } from '../core/binding.js';
import { alignedColumns, fusedScratchColumns, localBatch, shardOf, type FcConfig } from '../strategies/config.js';
import { sampledCapacity } from '../strategies/partial-fc.js';

const STORAGE_BYTES = { fp32: 4, bf16: 2, fp16: 2 } as const;

export function zeroBytes(): BytesByCategory {
  return Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as BytesByCategory;
}

export function totalBytes(bytes: BytesByCategory): number {
  return MEMORY_CATEGORIES.reduce((sum, c) => sum + bytes[c], 0);
}

/** Bytes per category held by rank `rank` of `config`. */
export function modelMemory(config: FcConfig, rank: number): BytesByCategory {
  const f = 4;
  const s = STORAGE_BYTES[config.dtype];
  const D = config.dim;
  const B = config.batch;
  const b = localBatch(config);
  const m = zeroBytes();
  if (config.strategy === 'data-parallel') {
    const C = config.classes;
    m.centres = C * D * f;
    m.optimizer = C * D * f;
    m.features = b * D * f + b * D * s + b * f + b * D * f;
    m.workspace = 6 * b * f + f;
    // Logits' leading dimension aligned: padded columns, padded centre and gradient rows.
    const ld = alignedColumns(C);
    m.activeCentres = ld * D * s + C * f;
    m.weightGrad = ld * D * f;
    m.logits = b * ld * s;
    return m;
  }
  const shard = shardOf(config.classes, config.ranks, rank);
  const A = config.strategy === 'partial-fc' ? sampledCapacity(B, shard.size, config.sampleRate) : shard.size;
  const ld = alignedColumns(A);
  m.centres = shard.size * D * f;
  // lazy-dense adds each centre's last-updated step (int32).
  m.optimizer = shard.size * D * f + (config.strategy === 'partial-fc' && config.update === 'lazy-dense' ? shard.size * 4 : 0);
  m.features = b * D * f + B * D * f + B * D * s + B * f + B * D * f;
  m.communication = b * D * f;
  m.workspace = b * f + 7 * B * f + (config.strategy === 'partial-fc' ? shard.size * 8 + A * f : 0);
  m.activeCentres = ld * D * s + A * f;
  m.weightGrad = ld * D * f;
  m.logits = B * ld * s;
  if (config.logits === 'fused') Object.assign(m, fusedLogitsMemory(config, A));
  return m;
}

/**
 * --logits fused (issue 14): the categories that shrink to one tile of T active centres; the
 * rest is the materialized step's. The logits category is the B x T scratch.
 */
export function fusedLogitsMemory(config: FcConfig, active: number): Pick<BytesByCategory, 'activeCentres' | 'weightGrad' | 'logits'> {
  const s = STORAGE_BYTES[config.dtype];
  const T = fusedScratchColumns(config, active);
  const ld = alignedColumns(T);
  return { activeCentres: ld * config.dim * s + T * 4, weightGrad: ld * config.dim * 4, logits: config.batch * ld * s };
}

/** The rank with the largest model total (rank 0 holds the largest shard). */
export function modelPeakBytes(config: FcConfig): number {
  return totalBytes(modelMemory(config, 0));
}
