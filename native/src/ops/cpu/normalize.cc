// CPU twin of ops/cuda/normalize.cu. The row loops are Highway kernels, compiled once per SIMD
// target and dispatched at run time (ops/cpu/simd.h); OpenMP splits the rows outside them.
// The normalized rows are fp32 or bf16 (ops/cpu/bf16.h): y = round(v * inv) with fp32 math, the
// backward reading the stored y, as the device does.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/normalize.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <cmath>

#include "ops/cpu/bf16-inl.h"
#include "ops/cpu/cpu_util.h"
#include "ops/cpu/idle_steps-inl.h"
#include "ops/cpu/simd-inl.h"
#include "ops/normalize.h"
#include "ops/sgd.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// y = v / max(|v|, eps), stored as T; returns the norm.
template <typename T>
float NormalizeRowT(const float* v, T* y, int64_t cols) {
  const hn::ScalableTag<float> d;
  const float ss = SumOver(d, 0, cols, [&](auto dx, int64_t c) {
    const auto a = hn::LoadU(dx, v + c);
    return hn::Mul(a, a);
  });
  const float norm = std::fmax(std::sqrt(ss), kNormEps);
  const float inv = 1.0f / norm;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) { StoreF(dx, hn::Mul(hn::LoadU(dx, v + c), hn::Set(dx, inv)), y + c); });
  return norm;
}
float NormalizeRow(const float* v, float* y, int64_t cols) { return NormalizeRowT(v, y, cols); }
float NormalizeRowBf16(const float* v, Bf16* y, int64_t cols) { return NormalizeRowT(v, y, cols); }

// g <- (g - y (y . g)) / norm: the gradient through y = v / |v|, y as stored (T).
template <typename T>
void NormalizeBackwardRowT(float* g, const T* y, int64_t cols, float norm) {
  const hn::ScalableTag<float> d;
  const float dot = SumOver(d, 0, cols, [&](auto dx, int64_t c) { return hn::Mul(LoadF(dx, y + c), hn::LoadU(dx, g + c)); });
  const float inv = 1.0f / norm;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) {
    const auto r = hn::NegMulAdd(LoadF(dx, y + c), hn::Set(dx, dot), hn::LoadU(dx, g + c));
    hn::StoreU(hn::Mul(r, hn::Set(dx, inv)), dx, g + c);
  });
}
void NormalizeBackwardRow(float* g, const float* y, int64_t cols, float norm) { NormalizeBackwardRowT(g, y, cols, norm); }
void NormalizeBackwardRowBf16(float* g, const Bf16* y, int64_t cols, float norm) { NormalizeBackwardRowT(g, y, cols, norm); }

void CatchUpRow(float* w, float* v, int64_t cols, const double m[4]) {
  ApplyIdleSteps(w, v, cols, m);
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace pfc::cpu {

HWY_EXPORT(NormalizeRow);
HWY_EXPORT(NormalizeRowBf16);
HWY_EXPORT(NormalizeBackwardRow);
HWY_EXPORT(NormalizeBackwardRowBf16);
HWY_EXPORT(CatchUpRow);

namespace {
// The dispatched row kernels by storage type of the normalized rows.
float normalizeRow(const float* v, float* y, int64_t cols) { return HWY_DYNAMIC_DISPATCH(NormalizeRow)(v, y, cols); }
float normalizeRow(const float* v, Bf16* y, int64_t cols) { return HWY_DYNAMIC_DISPATCH(NormalizeRowBf16)(v, y, cols); }
void normalizeBackwardRow(float* g, const float* y, int64_t cols, float norm) {
  HWY_DYNAMIC_DISPATCH(NormalizeBackwardRow)(g, y, cols, norm);
}
void normalizeBackwardRow(float* g, const Bf16* y, int64_t cols, float norm) {
  HWY_DYNAMIC_DISPATCH(NormalizeBackwardRowBf16)(g, y, cols, norm);
}

template <typename T>
void normalizeRowsAs(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                     const RowCatchUp* catchUp) {
  const int64_t cols = src.cols, n = dst.rows;
  const float* s = src.data<float>();
  T* d = dst.data<T>();
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
    nr[k] = normalizeRow(v, d + k * cols, cols);
  }
}

template <typename T>
void normalizeRowsBackwardAs(const Tensor& grad, const Tensor& normalized, const Tensor& norms) {
  const int64_t cols = grad.cols, n = grad.rows;
  float* g = grad.data<float>();
  const T* y = normalized.data<T>();
  const float* nr = norms.data<float>();
#pragma omp parallel for schedule(static) if (n * cols > 65536)
  for (int64_t k = 0; k < n; ++k) normalizeBackwardRow(g + k * cols, y + k * cols, cols, nr[k]);
}
}  // namespace

void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const RowCatchUp* catchUp) {
  requireDType("normalizeRows (cpu)", "src", src, DType::F32);
  switch (dst.dtype) {
    case DType::F32: return normalizeRowsAs<float>(src, indices, dst, norms, catchUp);
    case DType::BF16: return normalizeRowsAs<Bf16>(src, indices, dst, norms, catchUp);
    default: PFC_THROW(Invalid, "normalizeRows (cpu): dst must be fp32 or bf16, got " + dst.describe());
  }
}

void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms) {
  requireDType("normalizeRowsBackward (cpu)", "grad", grad, DType::F32);
  switch (normalized.dtype) {
    case DType::F32: return normalizeRowsBackwardAs<float>(grad, normalized, norms);
    case DType::BF16: return normalizeRowsBackwardAs<Bf16>(grad, normalized, norms);
    default: PFC_THROW(Invalid, "normalizeRowsBackward (cpu): normalized must be fp32 or bf16, got " + normalized.describe());
  }
}

}  // namespace pfc::cpu
#endif  // HWY_ONCE
