#include "ops/softmax.h"

#include <cmath>

#include "ops/cpu/cpu_util.h"

namespace pfc::cpu {

void expRowSum(const Tensor& logits, const Tensor& labels, const Tensor& rowMax, const Tensor& rowSum,
               const Tensor& targetLogit) {
  requireDType("expRowSum (cpu)", "logits", logits, DType::F32);
  const int64_t rows = logits.rows, cols = logits.cols;
  float* z = logits.data<float>();
  const int32_t* lab = labels.data<int32_t>();
  const float* mx = rowMax.data<float>();
  float* sum = rowSum.data<float>();
  float* tl = targetLogit.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    float* row = z + i * cols;
    const float m = mx[i];
    const int32_t t = lab[i];
    tl[i] = t >= 0 ? row[t] - m : 0.0f;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < cols; ++j) {
      const float e = fastExp(row[j] - m);
      row[j] = e;
      acc += e;
    }
    sum[i] = acc;
  }
}

double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit) {
  const float* sum = rowSum.data<float>();
  const float* tl = targetLogit.data<float>();
  double total = 0.0;
  for (int64_t i = 0; i < rowSum.rows; ++i) total += std::log(static_cast<double>(sum[i])) - tl[i];
  return total;
}

void softmaxMarginBackward(const Tensor& logits, const Tensor& labels, const Tensor& rowSum, const Tensor& targetCos,
                           const MarginParams& p, float gradScale) {
  const int64_t rows = logits.rows, cols = logits.cols;
  float* z = logits.data<float>();
  const int32_t* lab = labels.data<int32_t>();
  const float* sum = rowSum.data<float>();
  const float* tc = targetCos.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    float* row = z + i * cols;
    const float k = p.s * gradScale / sum[i];
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) row[j] *= k;
    const int32_t t = lab[i];
    if (t >= 0) row[t] = (row[t] - p.s * gradScale) * marginTargetGrad(tc[i], p);
  }
}

}  // namespace pfc::cpu
