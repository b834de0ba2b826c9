#include "ops/softmax.h"

#include "ops/dispatch.h"

namespace pfc {

static void checkRowStats(const char* op, const Tensor& logits, const Tensor& labels,
                          std::initializer_list<std::pair<const char*, const Tensor*>> stats) {
  requireDType(op, "labels", labels, DType::I32);
  requireShape(op, "labels", labels, logits.rows, 1);
  requireSameDevice(op, logits, labels);
  for (const auto& [name, t] : stats) {
    requireSameDevice(op, logits, *t);
    requireDType(op, name, *t, DType::F32);
    requireShape(op, name, *t, logits.rows, 1);
  }
}

void expRowSum(const Tensor& logits, const Tensor& labels, const Tensor& rowMax, const Tensor& rowSum,
               const Tensor& targetLogit) {
  checkRowStats("expRowSum", logits, labels, {{"rowMax", &rowMax}, {"rowSum", &rowSum}, {"targetLogit", &targetLogit}});
  PFC_DISPATCH(logits, expRowSum, logits, labels, rowMax, rowSum, targetLogit);
}

double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit) {
  requireShape("crossEntropyLossSum", "targetLogit", targetLogit, rowSum.rows, 1);
  return PFC_DISPATCH_RET(rowSum, crossEntropyLossSum, rowSum, targetLogit);
}

void softmaxMarginBackward(const Tensor& logits, const Tensor& labels, const Tensor& rowSum, const Tensor& targetCos,
                           const MarginParams& p, float gradScale) {
  checkRowStats("softmaxMarginBackward", logits, labels, {{"rowSum", &rowSum}, {"targetCos", &targetCos}});
  PFC_DISPATCH(logits, softmaxMarginBackward, logits, labels, rowSum, targetCos, p, gradScale);
}

}  // namespace pfc
