// SGD with momentum and weight decay (PyTorch's convention, no dampening, no Nesterov):
//   v <- mu * v + (g + lambda * w);  w <- w - lr * v
// on the class centres W (C_r x D) and their momentum V, with the gradient given only for the
// active rows (grad: A x D, row k belongs to centre indices[k]; no indices: row k is centre k).
//   sparse (Partial FC v1, the seed): only active rows and their momentum change.
//   dense (Partial FC v2, arcface_torch): every row changes, with g = 0 for inactive rows.
//   lazy dense (ours): dense's result at sparse cost. With g = 0 a step maps (v, w) by the fixed
//     M = [[mu, lambda], [-lr mu, 1 - lr lambda]]; lastStep[r] counts the steps row r has had,
//     and sgdCatchUp applies M^(step - lastStep[r]) (powers in float64) to rows about to be read:
//     the active rows before their normalization, every row at a flush.
// sgdIdleRows: one zero-gradient step (dense's rule) on every row NOT in the sorted indices; the
//   logit-free dense step updates the active rows tile by tile, then the idle rows with this.
// sgdNormalizedUpdate fuses the centres' normalization backward into the sparse update:
//   g_k = (dY_k - y_k (y_k . dY_k)) / norm_k from the gradient dY w.r.t. the normalized centres
//   y (as ops/normalize.h's backward), so the weight gradient is never written back.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/hd.h"

namespace pfc {

struct SgdParams {
  float lr;
  float momentum;
  float weightDecay;
  bool dense;
};

// M^(2^i), i = 0..30, row-major [[a, b], [c, d]], for the lazy rule's catch-up.
struct SgdIdlePowers {
  double m[31][4];
};
SgdIdlePowers sgdIdlePowers(const SgdParams& p);

// (a b; c d) = M^k from the powers of two (k < 2^31), multiplied in a fixed order.
PFC_HD void sgdIdleMatrix(const SgdIdlePowers& t, int64_t k, double out[4]) {
  double a = 1.0, b = 0.0, c = 0.0, d = 1.0;
  for (int i = 0; i < 31 && (k >> i) != 0; ++i) {
    if (((k >> i) & 1) == 0) continue;
    const double* q = t.m[i];
    const double na = a * q[0] + b * q[2], nb = a * q[1] + b * q[3];
    const double nc = c * q[0] + d * q[2], nd = c * q[1] + d * q[3];
    a = na, b = nb, c = nc, d = nd;
  }
  out[0] = a, out[1] = b, out[2] = c, out[3] = d;
}

void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p);
// normalized: A x D (fp32/bf16/fp16), norms: A; gradNormalized: A x D fp32 (read only).
// lastStep (int32, C_r), when given: lastStep[row] = step + 1 for every updated row.
void sgdNormalizedUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,
                         const Tensor& normalized, const Tensor& norms, const Tensor* indices, const SgdParams& p,
                         const Tensor* lastStep, int64_t step);
void sgdIdleRows(const Tensor& weights, const Tensor& momentum, const Tensor& activeIndices, const SgdParams& p);
// Rows indices[k] (every row when null) brought to `step` steps; lastStep[row] = step.
void sgdCatchUp(const Tensor& weights, const Tensor& momentum, const Tensor& lastStep, const Tensor* indices,
                int64_t step, const SgdParams& p);

#define PFC_SGD_DECLS                                                                                              \
  void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,          \
                 const SgdParams& p);                                                                              \
  void sgdNormalizedUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,            \
                           const Tensor& normalized, const Tensor& norms, const Tensor* indices, const SgdParams& p, \
                           const Tensor* lastStep, int64_t step);                                                  \
  void sgdIdleRows(const Tensor& weights, const Tensor& momentum, const Tensor& activeIndices, const SgdParams& p); \
  void sgdCatchUp(const Tensor& weights, const Tensor& momentum, const Tensor& lastStep, const Tensor* indices,     \
                  int64_t step, const SgdIdlePowers& powers);

namespace cpu {
PFC_SGD_DECLS
}
namespace cuda {
PFC_SGD_DECLS
}
#undef PFC_SGD_DECLS

}  // namespace pfc
