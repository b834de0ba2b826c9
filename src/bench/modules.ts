/** Registers the optional parts a build may have (the MPI communicator for --mode real). */
export async function registerOptionalModules(): Promise<void> {
  // Filled in as optional modules land; each registers itself on import.
  // The MPI communicator: registers the real-mode factory when the addon was built with MPI.
  await import('../comm/mpi.js');
}
