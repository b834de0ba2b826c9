/**
 * Registers the optional parts a build may have: the real-mode communicators, MPI for CPU
 * ranks and NCCL for GPU ranks. Each module registers itself on import when the addon has it.
 */
export async function registerOptionalModules(): Promise<void> {
  await import('../comm/mpi.js');
  await import('../comm/nccl.js');
}
