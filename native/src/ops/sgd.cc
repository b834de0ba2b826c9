#include "ops/sgd.h"

#include "ops/dispatch.h"

namespace pfc {

void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p) {
  const char* op = "sgdUpdate";
  requireShape(op, "momentum", momentum, weights.rows, weights.cols);
  PFC_CHECK(grad.cols == weights.cols, "sgdUpdate: grad and weights differ in columns");
  if (indices) {
    requireDType(op, "indices", *indices, DType::I32);
    requireShape(op, "indices", *indices, grad.rows, 1);
  } else {
    requireShape(op, "grad", grad, weights.rows, weights.cols);
  }
  requireSameDevice(op, weights, momentum);
  requireSameDevice(op, weights, grad);
  if (indices) requireSameDevice(op, weights, *indices);
  PFC_DISPATCH(weights, sgdUpdate, weights, momentum, grad, indices, p);
}

}  // namespace pfc
