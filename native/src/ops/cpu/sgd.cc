// CPU twin of ops/cuda/sgd.cu. The row updates are Highway kernels, compiled once per SIMD
// target and dispatched at run time (ops/cpu/simd.h); OpenMP splits the rows outside them.
// Centres, momentum and gradients are fp32; the normalized centres the fused update reads may
// be bf16 storage (ops/cpu/bf16.h), read as fp32.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/sgd.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <string>

#include <omp.h>

#include "ops/cpu/bf16-inl.h"
#include "ops/cpu/cpu_util.h"
#include "ops/cpu/idle_steps-inl.h"
#include "ops/cpu/simd-inl.h"
#include "ops/sgd.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// PyTorch's SGD on one row: v = mu v + g + wd w; w -= lr v. No g: the gradient is 0.
void UpdateRow(float* w, float* v, const float* g, int64_t cols, const SgdParams& p) {
  const hn::ScalableTag<float> d;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) {
    const auto wc = hn::LoadU(dx, w + c);
    const auto mv = hn::Set(dx, p.momentum);
    auto vc = g ? hn::MulAdd(mv, hn::LoadU(dx, v + c), hn::LoadU(dx, g + c)) : hn::Mul(mv, hn::LoadU(dx, v + c));
    vc = hn::MulAdd(hn::Set(dx, p.weightDecay), wc, vc);
    hn::StoreU(vc, dx, v + c);
    hn::StoreU(hn::NegMulAdd(hn::Set(dx, p.lr), vc, wc), dx, w + c);
  });
}

// The normalization backward fused into the update: g = (dy - y (y . dy)) / norm, then UpdateRow's rule.
template <typename T>
void NormalizedUpdateRowT(float* w, float* v, const float* dy, const T* y, int64_t cols, float norm,
                          const SgdParams& p) {
  const hn::ScalableTag<float> d;
  const float dot = SumOver(d, 0, cols, [&](auto dx, int64_t c) { return hn::Mul(LoadF(dx, y + c), hn::LoadU(dx, dy + c)); });
  const float inv = 1.0f / norm;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) {
    const auto gc = hn::Mul(hn::NegMulAdd(LoadF(dx, y + c), hn::Set(dx, dot), hn::LoadU(dx, dy + c)), hn::Set(dx, inv));
    const auto wc = hn::LoadU(dx, w + c);
    const auto vc = hn::MulAdd(hn::Set(dx, p.weightDecay), wc, hn::MulAdd(hn::Set(dx, p.momentum), hn::LoadU(dx, v + c), gc));
    hn::StoreU(vc, dx, v + c);
    hn::StoreU(hn::NegMulAdd(hn::Set(dx, p.lr), vc, wc), dx, w + c);
  });
}

void NormalizedUpdateRow(float* w, float* v, const float* dy, const float* y, int64_t cols, float norm,
                         const SgdParams& p) {
  NormalizedUpdateRowT(w, v, dy, y, cols, norm, p);
}
void NormalizedUpdateRowBf16(float* w, float* v, const float* dy, const Bf16* y, int64_t cols, float norm,
                             const SgdParams& p) {
  NormalizedUpdateRowT(w, v, dy, y, cols, norm, p);
}

void IdleStepsRow(float* w, float* v, int64_t cols, const double m[4]) { ApplyIdleSteps(w, v, cols, m); }

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace pfc::cpu {

HWY_EXPORT(UpdateRow);
HWY_EXPORT(NormalizedUpdateRow);
HWY_EXPORT(NormalizedUpdateRowBf16);
HWY_EXPORT(IdleStepsRow);

static inline void updateRow(float* w, float* v, const float* g, int64_t cols, const SgdParams& p) {
  HWY_DYNAMIC_DISPATCH(UpdateRow)(w, v, g, cols, p);
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

static void normalizedUpdateRow(float* w, float* v, const float* dy, const float* y, int64_t cols, float norm,
                                const SgdParams& p) {
  HWY_DYNAMIC_DISPATCH(NormalizedUpdateRow)(w, v, dy, y, cols, norm, p);
}
static void normalizedUpdateRow(float* w, float* v, const float* dy, const Bf16* y, int64_t cols, float norm,
                                const SgdParams& p) {
  HWY_DYNAMIC_DISPATCH(NormalizedUpdateRowBf16)(w, v, dy, y, cols, norm, p);
}

static void checkSortedRows(const char* op, const int32_t* idx, int64_t n, int64_t rows) {
  for (int64_t k = 0; k < n; ++k)
    PFC_CHECK(idx[k] >= 0 && idx[k] < rows && (k == 0 || idx[k] > idx[k - 1]),
              std::string(op) + ": indices must be sorted, unique and inside the shard");
}

template <typename T>
static void sgdNormalizedUpdateAs(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,
                                  const Tensor& normalized, const Tensor& norms, const Tensor* indices,
                                  const SgdParams& p, const Tensor* lastStep, int64_t step) {
  const int64_t cols = weights.cols, active = gradNormalized.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const float* dy = gradNormalized.data<float>();
  const T* y = normalized.data<T>();
  const float* nr = norms.data<float>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  int32_t* last = lastStep ? lastStep->data<int32_t>() : nullptr;
  if (idx) checkSortedRows("sgdNormalizedUpdate", idx, active, weights.rows);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < active; ++k) {
    const int64_t r = idx ? idx[k] : k;
    if (idx && k + kRowsAhead < active) {
      prefetchRow(w + idx[k + kRowsAhead] * cols, cols, true);
      prefetchRow(v + idx[k + kRowsAhead] * cols, cols, true);
    }
    normalizedUpdateRow(w + r * cols, v + r * cols, dy + k * cols, y + k * cols, cols, nr[k], p);
    if (last) last[r] = static_cast<int32_t>(step + 1);
  }
}

void sgdNormalizedUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,
                         const Tensor& normalized, const Tensor& norms, const Tensor* indices, const SgdParams& p,
                         const Tensor* lastStep, int64_t step) {
  requireDType("sgdNormalizedUpdate (cpu)", "weights", weights, DType::F32);
  switch (normalized.dtype) {
    case DType::F32:
      return sgdNormalizedUpdateAs<float>(weights, momentum, gradNormalized, normalized, norms, indices, p, lastStep, step);
    case DType::BF16:
      return sgdNormalizedUpdateAs<Bf16>(weights, momentum, gradNormalized, normalized, norms, indices, p, lastStep, step);
    default:
      PFC_THROW(Invalid, "sgdNormalizedUpdate (cpu): normalized must be fp32 or bf16, got " + normalized.describe());
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
    HWY_DYNAMIC_DISPATCH(IdleStepsRow)(w + r * cols, v + r * cols, cols, m);
    last[r] = static_cast<int32_t>(step);
  }
}

}  // namespace pfc::cpu
#endif  // HWY_ONCE
