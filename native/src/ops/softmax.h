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
// Column tiles (the logit-free step, --logits fused): the logits given are the columns
// [offset, offset + cols) of `active` columns; a label t is in the tile when offset <= t <
// offset + cols (its column t - offset). The tile at offset 0 starts the statistics, every later
// tile folds into them (online max and sum), so the tiles in order give the whole-row result.
#pragma once
#include "core/tensor.h"
#include "ops/margin.h"

namespace pfc {

// Where the logits given sit among the active columns; {0, cols} is the whole row.
struct LogitColumns {
  int64_t offset;  // first active column held
  int64_t active;  // all active columns (labels must be below it)
};

void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                        const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                        const Tensor& targetLogit, const LogitColumns& tile);
void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                     const Tensor& targetLogit);
double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);
void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                       const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,
                       const LogitColumns& tile);

#define PFC_SOFTMAX_DECLS                                                                                           \
  void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,           \
                          const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax,                     \
                          const Tensor& rowSum, const Tensor& targetLogit, const LogitColumns& tile);                \
  void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,      \
                       const Tensor& targetLogit);                                                                   \
  double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);                                       \
  void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,            \
                         const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,        \
                         const LogitColumns& tile);

namespace cpu {
PFC_SOFTMAX_DECLS
}  // namespace cpu
namespace cuda {
PFC_SOFTMAX_DECLS
}  // namespace cuda
#undef PFC_SOFTMAX_DECLS

}  // namespace pfc
