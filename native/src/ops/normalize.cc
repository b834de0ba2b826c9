#include "ops/normalize.h"

#include "ops/dispatch.h"

namespace pfc {

void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const Tensor* momentum, const Tensor* lastStep, int64_t step, const SgdParams* sgd) {
  const char* op = "normalizeRows";
  PFC_CHECK(src.cols == dst.cols, std::string(op) + ": src and dst differ in columns");
  requireDType(op, "norms", norms, DType::F32);
  requireShape(op, "norms", norms, dst.rows, 1);
  if (indices) {
    requireDType(op, "indices", *indices, DType::I32);
    requireShape(op, "indices", *indices, dst.rows, 1);
  } else {
    requireShape(op, "dst", dst, src.rows, src.cols);
  }
  requireSameDevice(op, src, dst);
  requireSameDevice(op, src, norms);
  if (indices) requireSameDevice(op, src, *indices);
  if (!momentum && !lastStep) {
    PFC_DISPATCH(src, normalizeRows, src, indices, dst, norms, nullptr);
    return;
  }
  PFC_CHECK(momentum && lastStep && sgd && indices, "normalizeRows: a catch-up needs momentum, lastStep, sgd and indices");
  requireShape(op, "momentum", *momentum, src.rows, src.cols);
  requireDType(op, "momentum", *momentum, DType::F32);
  requireDType(op, "lastStep", *lastStep, DType::I32);
  requireShape(op, "lastStep", *lastStep, src.rows, 1);
  requireSameDevice(op, src, *momentum);
  requireSameDevice(op, src, *lastStep);
  PFC_CHECK(step >= 0 && step < (int64_t(1) << 31), "normalizeRows: step outside the int32 range");
  const RowCatchUp catchUp{momentum, lastStep, step, sgdIdlePowers(*sgd)};
  PFC_DISPATCH(src, normalizeRows, src, indices, dst, norms, &catchUp);
}

void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms) {
  const char* op = "normalizeRowsBackward";
  requireShape(op, "normalized", normalized, grad.rows, grad.cols);
  requireShape(op, "norms", norms, grad.rows, 1);
  requireDType(op, "norms", norms, DType::F32);
  requireSameDevice(op, grad, normalized);
  requireSameDevice(op, grad, norms);
  PFC_DISPATCH(grad, normalizeRowsBackward, grad, normalized, norms);
}

}  // namespace pfc
