#include "ops/rows.h"

#include <cstring>

namespace pfc::cpu {

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
    for (int64_t c = 0; c < cols; ++c) d[idx[k] * cols + c] += s[k * cols + c];
  }
}

void copyTensor(const Tensor& src, const Tensor& dst) {
  if (src.raw() != dst.raw()) std::memcpy(dst.raw(), src.raw(), static_cast<size_t>(src.bytes()));
}

}  // namespace pfc::cpu
