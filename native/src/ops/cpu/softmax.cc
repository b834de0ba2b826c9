#include "ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/cpu_util.h"

namespace pfc::cpu {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Folds z_j = scale * clamp(x_j), j in [a, b), into the running (max, sum of exp(z - max)).
// Chunks small enough for L1: the chunk's max, then its exps against the updated max, so the
// cosines are read once from memory and the online rescale costs one exp per chunk, not per element.
inline void foldRange(const float* x, int64_t a, int64_t b, float scale, float& m, float& sum) {
  constexpr int64_t kChunk = 512;
  for (int64_t c0 = a; c0 < b; c0 += kChunk) {
    const int64_t c1 = std::min(b, c0 + kChunk);
    float cm = kNegInf;
#pragma omp simd reduction(max : cm)
    for (int64_t j = c0; j < c1; ++j) {
      const float v = scale * clampCos(x[j]);
      cm = v > cm ? v : cm;
    }
    if (cm > m) {
      sum *= fastExp(m - cm);  // 0 while m is -inf
      m = cm;
    }
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = c0; j < c1; ++j) acc += fastExp(scale * clampCos(x[j]) - m);
    sum += acc;
  }
}

}  // namespace

void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                        const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                        const Tensor& targetLogit, const LogitColumns& tile) {
  requireDType("marginSoftmaxStats (cpu)", "logits", logits, DType::F32);
  const int64_t rows = logits.rows, ld = logits.cols;
  const float* z = logits.data<float>();
  const int32_t* lab = labels.data<int32_t>();
  float* tc = targetCos.data<float>();
  float* lmx = localMax.data<float>();
  float* mx = rowMax.data<float>();
  float* sum = rowSum.data<float>();
  float* tl = targetLogit.data<float>();
  // A later tile folds into the statistics the earlier tiles left (online softmax).
  const bool first = tile.offset == 0;
  for (int64_t i = 0; i < rows; ++i)
    PFC_CHECK(lab[i] < tile.active, "marginSoftmaxStats: label " + std::to_string(lab[i]) + " outside " +
                                        std::to_string(tile.active) + " active centres");
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const float* x = z + i * ld;
    const int64_t t = lab[i] >= 0 && lab[i] >= tile.offset && lab[i] < tile.offset + cols ? lab[i] - tile.offset : -1;
    float m = first ? kNegInf : lmx[i], s = first ? 0.0f : sum[i];
    // The target column is left out of the vector loops and folded in with its margin.
    foldRange(x, 0, t >= 0 ? t : cols, p.s, m, s);
    if (t >= 0) {
      foldRange(x, t + 1, cols, p.s, m, s);
      const float c = clampCos(x[t]);
      const float v = p.s * marginTarget(c, p);
      if (v > m) {
        s = s * fastExp(m - v) + 1.0f;
        m = v;
      } else {
        s += fastExp(v - m);
      }
      tc[i] = c;
      tl[i] = v;
    } else if (first) {
      tc[i] = 0.0f;
      tl[i] = 0.0f;
    }
    lmx[i] = m;
    mx[i] = m;
    sum[i] = s;
  }
}

void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                     const Tensor& targetLogit) {
  const int32_t* lab = labels.data<int32_t>();
  const float* lmx = localMax.data<float>();
  const float* mx = rowMax.data<float>();
  float* sum = rowSum.data<float>();
  float* tl = targetLogit.data<float>();
  for (int64_t i = 0; i < labels.rows; ++i) {
    sum[i] = lmx[i] == kNegInf ? 0.0f : sum[i] * std::exp(lmx[i] - mx[i]);
    tl[i] = lab[i] >= 0 ? tl[i] - mx[i] : 0.0f;
  }
}

double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit) {
  const float* sum = rowSum.data<float>();
  const float* tl = targetLogit.data<float>();
  double total = 0.0;
  for (int64_t i = 0; i < rowSum.rows; ++i) total += std::log(static_cast<double>(sum[i])) - tl[i];
  return total;
}

void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                       const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,
                       const LogitColumns& tile) {
  requireDType("marginSoftmaxGrad (cpu)", "logits", logits, DType::F32);
  const int64_t rows = logits.rows, ld = logits.cols;
  float* z = logits.data<float>();
  const int32_t* lab = labels.data<int32_t>();
  const float* mx = rowMax.data<float>();
  const float* sum = rowSum.data<float>();
  const float* tc = targetCos.data<float>();
  const float sg = p.s * gradScale;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    float* row = z + i * ld;
    const float m = mx[i];
    const float k = sg / sum[i];
    const float scale = p.s;
#pragma omp simd
    for (int64_t j = 0; j < cols; ++j) row[j] = fastExp(scale * clampCos(row[j]) - m) * k;
    for (int64_t j = cols; j < ld; ++j) row[j] = 0.0f;
    const int64_t t = lab[i] >= 0 && lab[i] >= tile.offset && lab[i] < tile.offset + cols ? lab[i] - tile.offset : -1;
    if (t >= 0) {
      const float v = p.s * marginTarget(tc[i], p);
      row[t] = (fastExp(v - m) * k - sg) * marginTargetGrad(tc[i], p);
    }
  }
}

}  // namespace pfc::cpu
