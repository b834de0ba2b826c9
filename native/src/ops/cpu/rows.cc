// CPU twin of ops/cuda/rows.cu. Gathers copy whole rows with memcpy (glibc picks its vector
// copy for this CPU at load time); the scatter-add is a Highway kernel, compiled once per SIMD
// target and dispatched at run time (ops/cpu/simd.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/rows.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <cstring>

#include "ops/cpu/simd-inl.h"
#include "ops/rows.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// dst += src over one row.
void AddRow(float* dst, const float* src, int64_t cols) {
  const hn::ScalableTag<float> d;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t c) {
    hn::StoreU(hn::Add(hn::LoadU(dx, dst + c), hn::LoadU(dx, src + c)), dx, dst + c);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace pfc::cpu {

HWY_EXPORT(AddRow);

void gatherRows(const Tensor& src, const Tensor& indices, const Tensor& dst) {
  const int32_t* idx = indices.data<int32_t>();
  const int64_t rowBytes = src.cols * dtypeSize(src.dtype);
  const char* s = static_cast<const char*>(src.raw());
  char* d = static_cast<char*>(dst.raw());
  const int64_t n = dst.rows;
  for (int64_t k = 0; k < n; ++k)
    PFC_CHECK(idx[k] >= 0 && idx[k] < src.rows, "gatherRows: index " + std::to_string(idx[k]) + " out of range");
#pragma omp parallel for schedule(static) if (n * src.cols > 65536)
  for (int64_t k = 0; k < n; ++k) std::memcpy(d + k * rowBytes, s + idx[k] * rowBytes, rowBytes);
}

void scatterAddRows(const Tensor& src, const Tensor& indices, const Tensor& dst) {
  requireDType("scatterAddRows (cpu)", "src", src, DType::F32);
  const int32_t* idx = indices.data<int32_t>();
  const int64_t cols = src.cols;
  const float* s = src.data<float>();
  float* d = dst.data<float>();
  for (int64_t k = 0; k < src.rows; ++k) {
    PFC_CHECK(idx[k] >= 0 && idx[k] < dst.rows, "scatterAddRows: index " + std::to_string(idx[k]) + " out of range");
    // Sequential over k: repeated indices must accumulate, not race.
    HWY_DYNAMIC_DISPATCH(AddRow)(d + idx[k] * cols, s + k * cols, cols);
  }
}

void copyTensor(const Tensor& src, const Tensor& dst) {
  if (src.raw() != dst.raw()) std::memcpy(dst.raw(), src.raw(), static_cast<size_t>(src.bytes()));
}

}  // namespace pfc::cpu
#endif  // HWY_ONCE
