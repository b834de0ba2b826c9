#include "ops/normalize.h"

#include <cmath>

#include "ops/cpu/cpu_util.h"

namespace pfc::cpu {

void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const RowCatchUp* catchUp) {
  requireDType("normalizeRows (cpu)", "src", src, DType::F32);
  requireDType("normalizeRows (cpu)", "dst", dst, DType::F32);
  const int64_t cols = src.cols, n = dst.rows;
  const float* s = src.data<float>();
  float* d = dst.data<float>();
  float* nr = norms.data<float>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  if (idx) {
    for (int64_t k = 0; k < n; ++k)
      PFC_CHECK(idx[k] >= 0 && idx[k] < src.rows, "normalizeRows: index " + std::to_string(idx[k]) + " out of range");
  }
  float* mom = catchUp ? catchUp->momentum->data<float>() : nullptr;
  int32_t* last = catchUp ? catchUp->lastStep->data<int32_t>() : nullptr;
  if (catchUp) {
    for (int64_t k = 0; k < n; ++k) {
      PFC_CHECK(k == 0 || idx[k] > idx[k - 1], "normalizeRows: a catch-up needs sorted, unique indices");
      PFC_CHECK(last[idx[k]] <= catchUp->step, "normalizeRows: a row is ahead of step " + std::to_string(catchUp->step));
    }
  }
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = idx ? idx[k] : k;
    const float* v = s + r * cols;
    float* y = d + k * cols;
    if (idx && k + kRowsAhead < n) {
      const int64_t ahead = idx[k + kRowsAhead];
      prefetchRow(s + ahead * cols, cols, catchUp != nullptr);
      if (catchUp) prefetchRow(mom + ahead * cols, cols, true);
    }
    if (catchUp && catchUp->step > last[r]) {
      // The zero-gradient steps this row sat out, exactly (ops/sgd.h), before it is read.
      double m[4];
      sgdIdleMatrix(catchUp->powers, catchUp->step - last[r], m);
      applyIdleSteps(const_cast<float*>(v), mom + r * cols, cols, m);
      last[r] = static_cast<int32_t>(catchUp->step);
    }
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int64_t c = 0; c < cols; ++c) ss += v[c] * v[c];
    const float norm = std::fmax(std::sqrt(ss), kNormEps);
    const float inv = 1.0f / norm;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) y[c] = v[c] * inv;
    nr[k] = norm;
  }
}

void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms) {
  const int64_t cols = grad.cols, n = grad.rows;
  float* g = grad.data<float>();
  const float* y = normalized.data<float>();
  const float* nr = norms.data<float>();
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t k = 0; k < n; ++k) {
    float* gk = g + k * cols;
    const float* yk = y + k * cols;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < cols; ++c) dot += yk[c] * gk[c];
    const float inv = 1.0f / nr[k];
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) gk[c] = (gk[c] - yk[c] * dot) * inv;
  }
}

}  // namespace pfc::cpu
