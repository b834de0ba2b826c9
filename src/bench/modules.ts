/** Registers the optional parts a build may have (the MPI communicator for --mode real). */
export async function registerOptionalModules(): Promise<void> {
  // Filled in as optional modules land; each registers itself on import.
}
