#include "ops/gemm.h"

#include "ops/dispatch.h"

namespace pfc {

void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta) {
  const int64_t m = transA ? a.cols : a.rows;
  const int64_t k = transA ? a.rows : a.cols;
  const int64_t kb = transB ? b.cols : b.rows;
  const int64_t n = transB ? b.rows : b.cols;
  PFC_CHECK(k == kb, "gemm: inner dimensions differ: " + a.describe() + (transA ? "^T" : "") + " x " +
                         b.describe() + (transB ? "^T" : ""));
  requireShape("gemm", "c", c, m, n);
  requireSameDevice("gemm", a, b);
  requireSameDevice("gemm", a, c);
  PFC_DISPATCH(a, gemm, a, transA, b, transB, c, alpha, beta);
}

}  // namespace pfc
