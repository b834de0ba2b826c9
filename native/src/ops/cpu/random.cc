#include "ops/random.h"

#include <cstring>

#include "ops/cpu/bf16.h"
#include "ops/cpu/cpu_util.h"

namespace pfc::cpu {

namespace {
// Element e in fp32 math, stored as T (bf16 rounds it, as the device's fromF does).
template <typename T>
void fillRandomAs(const Tensor& t, const FillParams& p) {
  T* out = t.data<T>();
  const int64_t n = t.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t e = 0; e < n; ++e) {
    const uint64_t c = p.counterOffset + static_cast<uint64_t>(e);
    storeScalar(out + e, p.distribution == Distribution::Uniform
                             ? p.a + (p.b - p.a) * randomUniform01(p.seed, p.stream, c)
                             : p.a + p.b * randomNormal(p.seed, p.stream, c));
  }
}
}  // namespace

void fillRandom(const Tensor& t, const FillParams& p) {
  switch (t.dtype) {
    case DType::F32: return fillRandomAs<float>(t, p);
    case DType::BF16: return fillRandomAs<Bf16>(t, p);
    default: PFC_THROW(Invalid, "fillRandom (cpu): tensor must be fp32 or bf16, got " + t.describe());
  }
}

void fillLabels(const Tensor& t, uint64_t seed, uint64_t stream, uint64_t counterOffset, int64_t numClasses) {
  int32_t* out = t.data<int32_t>();
  const int64_t n = t.numel();
  for (int64_t e = 0; e < n; ++e) out[e] = randomLabel(seed, stream, counterOffset + e, numClasses);
}

void fillConstant(const Tensor& t, float value) {
  const int64_t n = t.numel();
  if (t.dtype == DType::I32) {
    int32_t* out = t.data<int32_t>();
    for (int64_t e = 0; e < n; ++e) out[e] = static_cast<int32_t>(value);
    return;
  }
  if (t.dtype == DType::BF16) {
    Bf16* out = t.data<Bf16>();
    const Bf16 v = floatToBf16(value);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t e = 0; e < n; ++e) out[e] = v;
    return;
  }
  requireDType("fillConstant (cpu)", "tensor", t, DType::F32);
  float* out = t.data<float>();
  if (value == 0.0f) {
    std::memset(out, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t e = 0; e < n; ++e) out[e] = value;
}

}  // namespace pfc::cpu
