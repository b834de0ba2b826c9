// Row L2 normalization. Forward optionally gathers rows by index first (the active class
// centres of Partial FC), so the raw gathered rows are never materialized: y = v / max(|v|, eps).
// Backward, in place: dy <- (dy - y (y . dy)) / max(|v|, eps).
// With a catch-up (lazy-dense, ops/sgd.h), each gathered row and its momentum first get the
// zero-gradient steps they sat out, in place, in the same read of the row.
#pragma once
#include "core/tensor.h"
#include "ops/sgd.h"

namespace pfc {

constexpr float kNormEps = 1e-12f;

// The lazy rule's catch-up fused into the gather: src's rows idx[k] and momentum's become
// M^(step - lastStep[row]) (v, w), lastStep[row] = step, before the row is normalized.
struct RowCatchUp {
  const Tensor* momentum;  // same shape as src
  const Tensor* lastStep;  // src.rows x 1 int32
  int64_t step;
  SgdIdlePowers powers;
};

// indices may be empty (rows == 0 tensor) meaning identity: dst[k] = normalize(src[k]).
// catchUp (with indices, sorted and unique) may be null.
void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const Tensor* momentum = nullptr, const Tensor* lastStep = nullptr, int64_t step = 0,
                   const SgdParams* sgd = nullptr);
void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms);

namespace cpu {
void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const RowCatchUp* catchUp);
void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms);
}  // namespace cpu
namespace cuda {
void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const RowCatchUp* catchUp);
void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms);
}  // namespace cuda

}  // namespace pfc
