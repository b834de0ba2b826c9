// Seeded, counter-based random numbers: element e of a fill with (seed, stream, offset) is a
// pure function of (seed, stream, offset + e), so every backend, every rank and every view of
// a batch produce the same numbers. Used for synthetic features, labels and sampling scores.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/tensor.h"
#include "ops/hd.h"

namespace pfc {

PFC_HD uint64_t mix64(uint64_t z) {
  // splitmix64 finalizer: a bijection with good avalanche, cheap on CPU and GPU.
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

PFC_HD uint64_t randomBits(uint64_t seed, uint64_t stream, uint64_t counter) {
  return mix64(mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1b54a32d192ed03ULL)) + counter);
}

// 24 random bits as an integer; uniform01 = bits24 / 2^24, exactly representable in fp32.
PFC_HD uint32_t random24(uint64_t seed, uint64_t stream, uint64_t counter) {
  return static_cast<uint32_t>(randomBits(seed, stream, counter) >> 40);
}

PFC_HD float randomUniform01(uint64_t seed, uint64_t stream, uint64_t counter) {
  return static_cast<float>(random24(seed, stream, counter)) * (1.0f / 16777216.0f);
}

PFC_HD float randomNormal(uint64_t seed, uint64_t stream, uint64_t counter) {
  const uint64_t bits = randomBits(seed, stream, counter);
  // Box-Muller from two 32-bit halves; u1 in (0, 1] so the log is finite.
  const float u1 = (static_cast<float>(bits >> 40) + 1.0f) * (1.0f / 16777216.0f);
  const float u2 = static_cast<float>((bits >> 8) & 0xFFFFFF) * (1.0f / 16777216.0f);
  return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

PFC_HD int32_t randomLabel(uint64_t seed, uint64_t stream, uint64_t counter, int64_t numClasses) {
  const uint64_t bits = randomBits(seed, stream, counter) >> 32;
  return static_cast<int32_t>((bits * static_cast<uint64_t>(numClasses)) >> 32);
}

enum class Distribution : int { Uniform = 0, Normal = 1 };

struct FillParams {
  uint64_t seed;
  uint64_t stream;
  uint64_t counterOffset;
  Distribution distribution;
  float a;  // uniform: low; normal: mean
  float b;  // uniform: high; normal: standard deviation
};

void fillRandom(const Tensor& t, const FillParams& p);
void fillLabels(const Tensor& t, uint64_t seed, uint64_t stream, uint64_t counterOffset, int64_t numClasses);
void fillConstant(const Tensor& t, float value);

namespace cpu {
void fillRandom(const Tensor& t, const FillParams& p);
void fillLabels(const Tensor& t, uint64_t seed, uint64_t stream, uint64_t counterOffset, int64_t numClasses);
void fillConstant(const Tensor& t, float value);
}  // namespace cpu
namespace cuda {
void fillRandom(const Tensor& t, const FillParams& p);
void fillLabels(const Tensor& t, uint64_t seed, uint64_t stream, uint64_t counterOffset, int64_t numClasses);
void fillConstant(const Tensor& t, float value);
}  // namespace cuda

}  // namespace pfc
