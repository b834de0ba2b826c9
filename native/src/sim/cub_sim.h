// Stand-ins for the CUB block primitives the kernels use, for the simulated device: the same
// interface and results, computed serially by the block's first thread between two barriers.
#pragma once
#include "sim/exec.h"

namespace cub {

template <typename T, int kThreads>
class BlockScan {
 public:
  struct TempStorage {
    T values[kThreads];
  };
  explicit BlockScan(TempStorage& temp) : temp_(temp) {}

  // out = sum of the inputs of the threads before this one (0 for thread 0).
  void ExclusiveSum(T input, T& out) {
    const int t = static_cast<int>(threadIdx.x);
    temp_.values[t] = input;
    __syncthreads();
    if (t == 0) {
      T running{};
      for (int i = 0; i < kThreads; ++i) {
        const T v = temp_.values[i];
        temp_.values[i] = running;
        running = running + v;
      }
    }
    __syncthreads();
    out = temp_.values[t];
    __syncthreads();  // the storage may be reused right after
  }

 private:
  TempStorage& temp_;
};

}  // namespace cub
