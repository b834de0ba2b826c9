/**
 * Analytic memory model: the bytes per category that one rank of a strategy allocates, from
 * the shapes alone (each strategy's descriptor holds its own model, mirroring its buffers).
 * The runner prints it beside the measured figure, and the capacity search uses it to bracket
 * the answer.
 */
import type { BytesByCategory } from '../core/binding.js';
import { findStrategy, strategyOf } from './registry.js';
import type { FcConfig } from './config.js';
import { totalBytes } from '../model/bytes.js';

export { totalBytes, zeroBytes } from '../model/bytes.js';

/**
 * Bytes per category held by rank `rank` of `config`. `libraryWorkspace` is what the backend's
 * libraries take from the tagged allocator (cuBLAS's workspace on CUDA, under 'workspace').
 */
export function modelMemory(config: FcConfig, rank: number, libraryWorkspace = 0): BytesByCategory {
  const bytes = strategyOf(config.strategy).memory(config, rank);
  bytes.workspace += libraryWorkspace;
  return bytes;
}

/** The rank with the largest model total (rank 0 holds the largest shard). */
export function modelPeakBytes(config: FcConfig): number {
  return totalBytes(modelMemory(config, 0));
}

/**
 * A cell's modeled bytes per category: the figure its result carries, or (a cell that ran out
 * of memory or failed before measuring) the same analytic model computed from its spec;
 * undefined for a strategy this process does not know (a module not loaded, an old file).
 */
export function cellModelBytes(cell: { spec: FcConfig & { mode?: string; rank?: number }; memory?: { modelBytes?: BytesByCategory } }): BytesByCategory | undefined {
  if (cell.memory?.modelBytes) return cell.memory.modelBytes;
  if (!findStrategy(cell.spec.strategy)) return undefined;
  return modelMemory(cell.spec, cell.spec.mode === 'emulate' ? (cell.spec.rank ?? 0) : 0);
}
