// bf16 storage on the CPU: 16-bit words holding the top half of an fp32 (8 exponent bits, 7
// mantissa bits), with fp32 math, as the CUDA kernels do (ops/cuda/cuda_util.cuh: toF, fromF).
// The conversion to bf16 rounds to nearest, ties to even, like __float2bfloat16_rn; a NaN
// becomes the canonical 0x7FFF, as the device's cvt.rn.bf16.f32 gives. The conversion to fp32
// is exact. ops/cpu/bf16-inl.h has the same two conversions for Highway vectors.
#pragma once
#include <cstdint>
#include <cstring>

namespace pfc::cpu {

// One bf16 element (a distinct type, so a kernel's overloads tell it from fp32 and int32).
struct Bf16 {
  uint16_t bits;
};
static_assert(sizeof(Bf16) == 2, "bf16 is two bytes");

inline float bf16ToFloat(Bf16 x) {
  const uint32_t u = static_cast<uint32_t>(x.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline Bf16 floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return Bf16{0x7FFF};
  // Round to nearest even: add 0x7FFF plus the lowest kept bit, then drop the low 16 bits.
  // Overflow past the largest finite bf16 carries into the exponent and gives infinity.
  return Bf16{static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16)};
}

// Scalar access to one element of either storage type, for the few handled one at a time.
inline float loadScalar(const float* p) { return *p; }
inline float loadScalar(const Bf16* p) { return bf16ToFloat(*p); }
inline void storeScalar(float* p, float v) { *p = v; }
inline void storeScalar(Bf16* p, float v) { *p = floatToBf16(v); }

}  // namespace pfc::cpu
