// The distributed softmax cross-entropy over logits whose columns are split across ranks.
// Between the calls the caller all-reduces: rowMax (MAX) before expRowSum, rowSum and
// targetLogit (SUM) before the loss and the backward. Every rank then holds the global
// statistics, and each computes the exact gradient of its own columns.
//   expRowSum:      e = exp(z - max) in place; rowSum = sum_j e; targetLogit = z_t - max
//                   (0 on ranks without the target).
//   crossEntropyLossSum: sum_i log(rowSum_i) - targetLogit_i, in float64.
//   softmaxMarginBackward: in place, e -> dcos = s * (p - onehot) * gradScale, the target
//                   column times d(margin)/dc at the stored target cosine.
#pragma once
#include "core/tensor.h"
#include "ops/margin.h"

namespace pfc {

void expRowSum(const Tensor& logits, const Tensor& labels, const Tensor& rowMax, const Tensor& rowSum,
               const Tensor& targetLogit);
double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);
void softmaxMarginBackward(const Tensor& logits, const Tensor& labels, const Tensor& rowSum, const Tensor& targetCos,
                           const MarginParams& p, float gradScale);

namespace cpu {
void expRowSum(const Tensor& logits, const Tensor& labels, const Tensor& rowMax, const Tensor& rowSum,
               const Tensor& targetLogit);
double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);
void softmaxMarginBackward(const Tensor& logits, const Tensor& labels, const Tensor& rowSum, const Tensor& targetCos,
                           const MarginParams& p, float gradScale);
}  // namespace cpu
namespace cuda {
void expRowSum(const Tensor& logits, const Tensor& labels, const Tensor& rowMax, const Tensor& rowSum,
               const Tensor& targetLogit);
double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit);
void softmaxMarginBackward(const Tensor& logits, const Tensor& labels, const Tensor& rowSum, const Tensor& targetCos,
                           const MarginParams& p, float gradScale);
}  // namespace cuda

}  // namespace pfc
