// Faults the mutation test injects into the simulated device, one at a time, to prove the GPU
// check fails on each (test/gpu-check-mutants.test.ts). PFC_SIM_MUTANT=<name> selects one; the
// kernels test PFC_MUTANT(Name) (ops/cuda/cuda_util.cuh), which is `false` under nvcc: a real
// GPU build carries no fault.
#pragma once

namespace pfc::sim {

enum class Mutant {
  None,
  NoIdleDecay,        // sgdIdleRows leaves idle rows as they are
  TileOffsetByOne,    // the target column of a tile past offset 0 is one to the right
  SumForMax,          // the softmax's max reduction adds instead
  LastChunkDropped,   // a split row's last chunk is never read
  NoCatchUp,          // lazy-dense's catch-up does nothing
  TransposedGemm,     // cuBLAS gets op(A) transposed
  MergeDropsChunk,    // the split-row merge skips the last chunk
  MissingBarrier,     // the softmax's block reduction reads the warps' results without a barrier
  LaneExits,          // lane 1 leaves the softmax's block reduction before its shuffles (a launch fault)
};

// The fault PFC_SIM_MUTANT names (None when unset; an unknown name is reported once on stderr
// and injects nothing).
Mutant activeMutant();
inline bool mutant(Mutant m) { return activeMutant() == m; }

}  // namespace pfc::sim
