// Row L2 normalization. Forward optionally gathers rows by index first (the active class
// centres of Partial FC), so the raw gathered rows are never materialized: y = v / max(|v|, eps).
// Backward, in place: dy <- (dy - y (y . dy)) / max(|v|, eps).
#pragma once
#include "core/tensor.h"

namespace pfc {

constexpr float kNormEps = 1e-12f;

// indices may be empty (rows == 0 tensor) meaning identity: dst[k] = normalize(src[k]).
void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms);
void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms);

namespace cpu {
void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms);
void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms);
}  // namespace cpu
namespace cuda {
void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms);
void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms);
}  // namespace cuda

}  // namespace pfc
