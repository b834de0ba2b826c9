/**
 * Registers the optional parts a build may have: the real-mode communicators, MPI for CPU
 * ranks and NCCL for GPU ranks (each module registers itself on import when the addon has it),
 * and the strategy modules a parent process loaded (PFC_STRATEGY_MODULES, for a cell's child).
 */
import { loadStrategyModulesFromEnv } from '../strategies/modules.js';

export async function registerOptionalModules(): Promise<void> {
  await import('../comm/mpi.js');
  await import('../comm/nccl.js');
  await loadStrategyModulesFromEnv();
}
