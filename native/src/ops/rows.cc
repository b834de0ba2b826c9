#include "ops/rows.h"

#include "ops/dispatch.h"

namespace pfc {

static void checkIndexed(const char* op, const Tensor& big, const Tensor& indices, const Tensor& small) {
  requireDType(op, "indices", indices, DType::I32);
  requireShape(op, "indices", indices, small.rows, 1);
  PFC_CHECK(big.cols == small.cols && big.dtype == small.dtype,
            std::string(op) + ": row tensors differ: " + big.describe() + " vs " + small.describe());
  requireSameDevice(op, big, small);
  requireSameDevice(op, big, indices);
}

void gatherRows(const Tensor& src, const Tensor& indices, const Tensor& dst) {
  checkIndexed("gatherRows", src, indices, dst);
  PFC_DISPATCH(src, gatherRows, src, indices, dst);
}

void scatterAddRows(const Tensor& src, const Tensor& indices, const Tensor& dst) {
  checkIndexed("scatterAddRows", dst, indices, src);
  PFC_DISPATCH(dst, scatterAddRows, src, indices, dst);
}

void copyTensor(const Tensor& src, const Tensor& dst) {
  PFC_CHECK(src.rows == dst.rows && src.cols == dst.cols && src.dtype == dst.dtype,
            "copyTensor: shapes differ: " + src.describe() + " vs " + dst.describe());
  if (src.device() == Device::Cpu && dst.device() == Device::Cpu) {
    cpu::copyTensor(src, dst);
    return;
  }
#ifdef PFC_WITH_CUDA
  cuda::copyTensor(src, dst);
#else
  PFC_THROW(Unavailable, "this build has no CUDA backend (nvcc was not found)");
#endif
}

}  // namespace pfc
