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

// exp(x) for x <= 0 (softmax after subtracting the row max), vectorizable by the compiler:
// 2^(x log2 e) = 2^k 2^f with k the nearest integer (found by the 1.5 * 2^23 rounding trick,
// no floor, no libm) and f in [-0.5, 0.5] through a degree-6 polynomial. Relative error below
// 2e-6; exactly 0 below -87, where exp leaves fp32's normal range.
inline float fastExp(float x) {
  const bool underflow = x < -87.0f;
  x = underflow ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float t = x * 1.4426950408889634f;
  const float rounded = t + 12582912.0f;  // t rounded to an integer, held in the low mantissa bits
  const float f = t - (rounded - 12582912.0f);
  float p = 1.5403530e-4f;
  p = p * f + 1.3333558e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504109e-2f;
  p = p * f + 2.4022651e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  int32_t bits;
  __builtin_memcpy(&bits, &rounded, sizeof bits);
  bits = (bits - 0x4B400000 + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return underflow ? 0.0f : p * scale;
}

// One row's idle SGD steps (lazy-dense): (v, w) <- M^k (v, w) per element, in float64, with
// m = M^k from sgdIdleMatrix (ops/sgd.h). Shared by the catch-up and the normalization's fused one.
inline void applyIdleSteps(float* w, float* v, int64_t cols, const double m[4]) {
#pragma omp simd
  for (int64_t c = 0; c < cols; ++c) {
    const double vc = v[c], wc = w[c];
    v[c] = static_cast<float>(m[0] * vc + m[1] * wc);
    w[c] = static_cast<float>(m[2] * vc + m[3] * wc);
  }
}

}  // namespace pfc::cpu
