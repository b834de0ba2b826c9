// Small helpers shared by the CPU kernels.
#pragma once
#include <cstdint>

namespace pfc::cpu {

// Rows gathered by index defeat the hardware prefetcher: the loops over them ask for the row
// kRowsAhead iterations ahead, every cache line of it.
constexpr int64_t kRowsAhead = 4;
inline void prefetchRow(const float* row, int64_t cols, bool forWrite) {
  for (int64_t c = 0; c < cols; c += 16) {
    if (forWrite) {
      __builtin_prefetch(row + c, 1, 3);
    } else {
      __builtin_prefetch(row + c, 0, 3);
    }
  }
}

}  // namespace pfc::cpu
