// The margin softmax cross-entropy over logits whose columns are split across ranks, in two
// passes over the B x ld cosines the GEMM wrote (columns [cols, ld) pad the leading dimension
// to an aligned size; they are never read as logits and the gradient writes them 0). The
// margin (ops/margin.h) is applied on the fly in both passes; margin logits are never stored.
//   marginSoftmaxStats (reads the cosines once, writes nothing B x ld): per row, the online
//       max and sum of exp over this rank's columns, z_j = s * clamp(c_j), z_t = s * margin(c_t):
//       localMax = rowMax = max_j z_j;  rowSum = sum_j exp(z_j - localMax);
//       targetCos = clamp(c_t), targetLogit = z_t  (both 0 on ranks without the target).
//   [the caller all-reduces rowMax with MAX]
//   rescaleRowStats: rowSum *= exp(localMax - rowMax); targetLogit -= rowMax (0 without target).
//   [the caller all-reduces rowSum and targetLogit with SUM]
//   crossEntropyLossSum: sum_i log(rowSum_i) - targetLogit_i, in float64.
//   marginSoftmaxGrad (one read + write, in place): cosines -> dcos = s * gradScale * (p - onehot),
//       p = exp(z - rowMax) / rowSum recomputed, the target column times d(margin)/dc at
//       targetCos; padding columns 0.
// Every rank then holds the global statistics and computes the exact gradient of its columns.
#pragma once
#include "core/tensor.h"
#include "ops/margin.h"

namespace pfc {

void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                        const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                        const Tensor& targetLogit);
void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                     const Tensor& targetLogit);
double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);
void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                       const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale);

#define PFC_SOFTMAX_DECLS                                                                                           \
  void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,           \
                          const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax,                     \
                          const Tensor& rowSum, const Tensor& targetLogit);                                          \
  void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,      \
                       const Tensor& targetLogit);                                                                   \
  double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);                                       \
  void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,            \
                         const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale);

namespace cpu {
PFC_SOFTMAX_DECLS
}  // namespace cpu
namespace cuda {
PFC_SOFTMAX_DECLS
}  // namespace cuda
#undef PFC_SOFTMAX_DECLS

}  // namespace pfc
