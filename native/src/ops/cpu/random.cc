#include "ops/random.h"

#include <cstring>

#include "ops/cpu/cpu_util.h"

namespace pfc::cpu {

void fillRandom(const Tensor& t, const FillParams& p) {
  requireDType("fillRandom (cpu)", "tensor", t, DType::F32);
  float* out = t.data<float>();
  const int64_t n = t.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t e = 0; e < n; ++e) {
    const uint64_t c = p.counterOffset + static_cast<uint64_t>(e);
    out[e] = p.distribution == Distribution::Uniform
                 ? p.a + (p.b - p.a) * randomUniform01(p.seed, p.stream, c)
                 : p.a + p.b * randomNormal(p.seed, p.stream, c);
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
