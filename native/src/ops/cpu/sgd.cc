#include "ops/sgd.h"

#include <algorithm>
#include <string>

#include <omp.h>

#include "ops/cpu/cpu_util.h"

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

static void checkSortedRows(const char* op, const int32_t* idx, int64_t n, int64_t rows) {
  for (int64_t k = 0; k < n; ++k)
    PFC_CHECK(idx[k] >= 0 && idx[k] < rows && (k == 0 || idx[k] > idx[k - 1]),
              std::string(op) + ": indices must be sorted, unique and inside the shard");
}

void sgdNormalizedUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,
                         const Tensor& normalized, const Tensor& norms, const Tensor* indices, const SgdParams& p,
                         const Tensor* lastStep, int64_t step) {
  requireDType("sgdNormalizedUpdate (cpu)", "weights", weights, DType::F32);
  requireDType("sgdNormalizedUpdate (cpu)", "normalized", normalized, DType::F32);
  const int64_t cols = weights.cols, active = gradNormalized.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const float* dy = gradNormalized.data<float>();
  const float* y = normalized.data<float>();
  const float* nr = norms.data<float>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  int32_t* last = lastStep ? lastStep->data<int32_t>() : nullptr;
  if (idx) checkSortedRows("sgdNormalizedUpdate", idx, active, weights.rows);
  const float mu = p.momentum, wd = p.weightDecay, lr = p.lr;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < active; ++k) {
    const int64_t r = idx ? idx[k] : k;
    if (idx && k + kRowsAhead < active) {
      prefetchRow(w + idx[k + kRowsAhead] * cols, cols, true);
      prefetchRow(v + idx[k + kRowsAhead] * cols, cols, true);
    }
    const float* dyk = dy + k * cols;
    const float* yk = y + k * cols;
    float* wr = w + r * cols;
    float* vr = v + r * cols;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < cols; ++c) dot += yk[c] * dyk[c];
    const float inv = 1.0f / nr[k];
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
      const float g = (dyk[c] - yk[c] * dot) * inv;
      vr[c] = mu * vr[c] + g + wd * wr[c];
      wr[c] -= lr * vr[c];
    }
    if (last) last[r] = static_cast<int32_t>(step + 1);
  }
}

void sgdIdleRows(const Tensor& weights, const Tensor& momentum, const Tensor& activeIndices, const SgdParams& p) {
  const int64_t cols = weights.cols, rows = weights.rows, active = activeIndices.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const int32_t* idx = activeIndices.data<int32_t>();
  checkSortedRows("sgdIdleRows", idx, active, rows);
  // As sgdUpdate's dense walk, skipping the active rows instead of reading their gradient.
#pragma omp parallel
  {
    const int threads = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    int64_t k = std::lower_bound(idx, idx + active, static_cast<int32_t>(begin)) - idx;
    for (int64_t r = begin; r < end; ++r) {
      if (k < active && idx[k] == r) {
        ++k;
        continue;
      }
      updateRow(w + r * cols, v + r * cols, nullptr, cols, p);
    }
  }
}

void sgdCatchUp(const Tensor& weights, const Tensor& momentum, const Tensor& lastStep, const Tensor* indices,
                int64_t step, const SgdIdlePowers& powers) {
  const int64_t cols = weights.cols, rows = weights.rows;
  const int64_t n = indices ? indices->rows : rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  int32_t* last = lastStep.data<int32_t>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  if (idx) checkSortedRows("sgdCatchUp", idx, n, rows);
  for (int64_t k = 0; k < n; ++k)
    PFC_CHECK(last[idx ? idx[k] : k] <= step, "sgdCatchUp: a row is ahead of step " + std::to_string(step));
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; ++k) {
    const int64_t r = idx ? idx[k] : k;
    const int64_t idle = step - last[r];
    if (idle == 0) continue;
    double m[4];
    sgdIdleMatrix(powers, idle, m);
    applyIdleSteps(w + r * cols, v + r * cols, cols, m);
    last[r] = static_cast<int32_t>(step);
  }
}

}  // namespace pfc::cpu
