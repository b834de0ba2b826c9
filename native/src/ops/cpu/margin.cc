#include "ops/margin.h"

#include <cmath>
#include <limits>

namespace pfc::cpu {

void marginLogits(const Tensor& logits, const Tensor& labels, const MarginParams& p, const Tensor& targetCos,
                  const Tensor& rowMax) {
  requireDType("marginLogits (cpu)", "logits", logits, DType::F32);
  const int64_t rows = logits.rows, cols = logits.cols;
  float* z = logits.data<float>();
  const int32_t* lab = labels.data<int32_t>();
  float* tc = targetCos.data<float>();
  float* mx = rowMax.data<float>();
  for (int64_t i = 0; i < rows; ++i)
    PFC_CHECK(lab[i] < cols, "marginLogits: label " + std::to_string(lab[i]) + " outside " + std::to_string(cols) +
                                 " active centres");
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    float* row = z + i * cols;
    const int32_t t = lab[i];
    const float s = p.s;
    const float rawTarget = t >= 0 ? row[t] : 0.0f;
    float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < cols; ++j) {
      // Ternaries, not std::fmin/fmax: those keep NaN rules that stop GCC from vectorizing.
      const float x = row[j];
      const float c = x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x);
      const float v = s * c;
      row[j] = v;
      m = v > m ? v : m;
    }
    if (t >= 0) {
      const float c = std::fmin(std::fmax(rawTarget, -1.0f), 1.0f);
      const float before = row[t];
      tc[i] = c;
      row[t] = s * marginTarget(c, p);
      if (row[t] > m) {
        m = row[t];
      } else if (before == m && row[t] < m) {
        // The target was the row's maximum and the margin lowered it: find the new maximum.
        m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
        for (int64_t j = 0; j < cols; ++j) m = row[j] > m ? row[j] : m;
      }
    } else {
      tc[i] = 0.0f;
    }
    mx[i] = m;
  }
}

}  // namespace pfc::cpu
