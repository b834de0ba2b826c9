#include "ops/sgd.h"

#include "ops/dispatch.h"

namespace pfc {

SgdIdlePowers sgdIdlePowers(const SgdParams& p) {
  // The step's own fp32 parameters, exactly, as float64.
  const double mu = p.momentum, lambda = p.weightDecay, lr = p.lr;
  SgdIdlePowers t;
  double a = mu, b = lambda, c = -lr * mu, d = 1.0 - lr * lambda;
  for (int i = 0; i < 31; ++i) {
    t.m[i][0] = a, t.m[i][1] = b, t.m[i][2] = c, t.m[i][3] = d;
    const double na = a * a + b * c, nb = a * b + b * d, nc = c * a + d * c, nd = c * b + d * d;
    a = na, b = nb, c = nc, d = nd;
  }
  return t;
}

static void checkRows(const char* op, const Tensor& weights, const Tensor& momentum) {
  requireShape(op, "momentum", momentum, weights.rows, weights.cols);
  requireSameDevice(op, weights, momentum);
}

void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p) {
  const char* op = "sgdUpdate";
  checkRows(op, weights, momentum);
  PFC_CHECK(grad.cols == weights.cols, "sgdUpdate: grad and weights differ in columns");
  if (indices) {
    requireDType(op, "indices", *indices, DType::I32);
    requireShape(op, "indices", *indices, grad.rows, 1);
  } else {
    requireShape(op, "grad", grad, weights.rows, weights.cols);
  }
  requireSameDevice(op, weights, grad);
  if (indices) requireSameDevice(op, weights, *indices);
  PFC_DISPATCH(weights, sgdUpdate, weights, momentum, grad, indices, p);
}

void sgdNormalizedUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,
                         const Tensor& normalized, const Tensor& norms, const Tensor* indices, const SgdParams& p,
                         const Tensor* lastStep, int64_t step) {
  const char* op = "sgdNormalizedUpdate";
  checkRows(op, weights, momentum);
  const int64_t active = gradNormalized.rows;
  requireDType(op, "gradNormalized", gradNormalized, DType::F32);
  requireShape(op, "gradNormalized", gradNormalized, active, weights.cols);
  requireShape(op, "normalized", normalized, active, weights.cols);
  requireShape(op, "norms", norms, active, 1);
  requireDType(op, "norms", norms, DType::F32);
  PFC_CHECK(!p.dense, "sgdNormalizedUpdate: the eager dense rule updates every row (use sgdUpdate)");
  if (indices) {
    requireDType(op, "indices", *indices, DType::I32);
    requireShape(op, "indices", *indices, active, 1);
    requireSameDevice(op, weights, *indices);
  } else {
    PFC_CHECK(active == weights.rows, "sgdNormalizedUpdate: without indices the gradient must cover every row");
  }
  if (lastStep) {
    requireDType(op, "lastStep", *lastStep, DType::I32);
    requireShape(op, "lastStep", *lastStep, weights.rows, 1);
    requireSameDevice(op, weights, *lastStep);
    PFC_CHECK(step >= 0 && step < (int64_t(1) << 31) - 1, "sgdNormalizedUpdate: step outside the int32 range");
  }
  for (const Tensor* t : {&gradNormalized, &normalized, &norms}) requireSameDevice(op, weights, *t);
  PFC_DISPATCH(weights, sgdNormalizedUpdate, weights, momentum, gradNormalized, normalized, norms, indices, p,
               lastStep, step);
}

void sgdIdleRows(const Tensor& weights, const Tensor& momentum, const Tensor& activeIndices, const SgdParams& p) {
  const char* op = "sgdIdleRows";
  checkRows(op, weights, momentum);
  requireDType(op, "weights", weights, DType::F32);
  requireDType(op, "momentum", momentum, DType::F32);
  requireDType(op, "activeIndices", activeIndices, DType::I32);
  PFC_CHECK(activeIndices.cols == 1, "sgdIdleRows: indices must be a column");
  requireSameDevice(op, weights, activeIndices);
  PFC_DISPATCH(weights, sgdIdleRows, weights, momentum, activeIndices, p);
}

void sgdCatchUp(const Tensor& weights, const Tensor& momentum, const Tensor& lastStep, const Tensor* indices,
                int64_t step, const SgdParams& p) {
  const char* op = "sgdCatchUp";
  checkRows(op, weights, momentum);
  requireDType(op, "weights", weights, DType::F32);
  requireDType(op, "momentum", momentum, DType::F32);
  requireDType(op, "lastStep", lastStep, DType::I32);
  requireShape(op, "lastStep", lastStep, weights.rows, 1);
  requireSameDevice(op, weights, lastStep);
  if (indices) {
    requireDType(op, "indices", *indices, DType::I32);
    PFC_CHECK(indices->cols == 1, "sgdCatchUp: indices must be a column");
    requireSameDevice(op, weights, *indices);
  }
  PFC_CHECK(step >= 0 && step < (int64_t(1) << 31), "sgdCatchUp: step outside the int32 range");
  PFC_DISPATCH(weights, sgdCatchUp, weights, momentum, lastStep, indices, step, sgdIdlePowers(p));
}

}  // namespace pfc
