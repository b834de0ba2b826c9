// CPU twin of ops/cuda/normalize.cu. The row loops are Highway kernels, compiled once per SIMD
// target and dispatched at run time (ops/cpu/simd.h); OpenMP splits the rows outside them.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/normalize.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <cmath>

#include "ops/cpu/cpu_util.h"
#include "ops/cpu/idle_steps-inl.h"
#include "ops/cpu/simd-inl.h"
#include "ops/normalize.h"
#include "ops/sgd.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// y = v / max(|v|, eps); returns the norm.
float NormalizeRow(const float* v, float* y, int64_t cols) {
  const hn::ScalableTag<float> d;
  const float ss = SumOver(d, 0, cols, [&](auto dx, int64_t c) {
    const auto a = hn::LoadU(dx, v + c);
    return hn::Mul(a, a);
  });
  const float norm = std::fmax(std::sqrt(ss), kNormEps);
  const float inv = 1.0f / norm;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) { hn::StoreU(hn::Mul(hn::LoadU(dx, v + c), hn::Set(dx, inv)), dx, y + c); });
  return norm;
}

// g <- (g - y (y . g)) / norm: the gradient through y = v / |v|.
void NormalizeBackwardRow(float* g, const float* y, int64_t cols, float norm) {
  const hn::ScalableTag<float> d;
  const float dot = SumOver(d, 0, cols, [&](auto dx, int64_t c) { return hn::Mul(hn::LoadU(dx, y + c), hn::LoadU(dx, g + c)); });
  const float inv = 1.0f / norm;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) {
    const auto r = hn::NegMulAdd(hn::LoadU(dx, y + c), hn::Set(dx, dot), hn::LoadU(dx, g + c));
    hn::StoreU(hn::Mul(r, hn::Set(dx, inv)), dx, g + c);
  });
}

void CatchUpRow(float* w, float* v, int64_t cols, const double m[4]) {
  ApplyIdleSteps(w, v, cols, m);
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace pfc::cpu {

HWY_EXPORT(NormalizeRow);
HWY_EXPORT(NormalizeBackwardRow);
HWY_EXPORT(CatchUpRow);

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
    if (idx && k + kRowsAhead < n) {
      const int64_t ahead = idx[k + kRowsAhead];
      prefetchRow(s + ahead * cols, cols, catchUp != nullptr);
      if (catchUp) prefetchRow(mom + ahead * cols, cols, true);
    }
    if (catchUp && catchUp->step > last[r]) {
      // The zero-gradient steps this row sat out, exactly (ops/sgd.h), before it is read.
      double m[4];
      sgdIdleMatrix(catchUp->powers, catchUp->step - last[r], m);
      HWY_DYNAMIC_DISPATCH(CatchUpRow)(const_cast<float*>(v), mom + r * cols, cols, m);
      last[r] = static_cast<int32_t>(catchUp->step);
    }
    nr[k] = HWY_DYNAMIC_DISPATCH(NormalizeRow)(v, d + k * cols, cols);
  }
}

void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms) {
  const int64_t cols = grad.cols, n = grad.rows;
  float* g = grad.data<float>();
  const float* y = normalized.data<float>();
  const float* nr = norms.data<float>();
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t k = 0; k < n; ++k) HWY_DYNAMIC_DISPATCH(NormalizeBackwardRow)(g + k * cols, y + k * cols, cols, nr[k]);
}

}  // namespace pfc::cpu
#endif  // HWY_ONCE
