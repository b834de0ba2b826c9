#include "ops/sgd.h"

#include <algorithm>

#include <omp.h>

namespace pfc::cpu {

static inline void updateRow(float* w, float* v, const float* g, int64_t cols, const SgdParams& p) {
  if (g) {
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      v[c] = p.momentum * v[c] + g[c] + p.weightDecay * w[c];
      w[c] -= p.lr * v[c];
    }
  } else {
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      v[c] = p.momentum * v[c] + p.weightDecay * w[c];
      w[c] -= p.lr * v[c];
    }
  }
}

void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p) {
  requireDType("sgdUpdate (cpu)", "weights", weights, DType::F32);
  const int64_t cols = weights.cols, rows = weights.rows, active = grad.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const float* g = grad.data<float>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  if (!idx) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) updateRow(w + r * cols, v + r * cols, g + r * cols, cols, p);
    return;
  }
  for (int64_t k = 0; k < active; ++k)
    PFC_CHECK(idx[k] >= 0 && idx[k] < rows && (k == 0 || idx[k] > idx[k - 1]),
              "sgdUpdate: indices must be sorted, unique and inside the shard");
  if (!p.dense) {
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < active; ++k) {
      const int64_t r = idx[k];
      updateRow(w + r * cols, v + r * cols, g + k * cols, cols, p);
    }
    return;
  }
  // Dense: each thread walks its own range of rows and the matching part of the sorted indices.
#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    int64_t k = std::lower_bound(idx, idx + active, static_cast<int32_t>(begin)) - idx;
    for (int64_t r = begin; r < end; ++r) {
      const bool isActive = k < active && idx[k] == r;
      updateRow(w + r * cols, v + r * cols, isActive ? g + k * cols : nullptr, cols, p);
      if (isActive) ++k;
    }
  }
}

}  // namespace pfc::cpu
