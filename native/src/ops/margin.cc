#include "ops/margin.h"

#include "ops/dispatch.h"

namespace pfc {

void marginLogits(const Tensor& logits, const Tensor& labels, const MarginParams& p, const Tensor& targetCos,
                  const Tensor& rowMax) {
  const char* op = "marginLogits";
  requireDType(op, "labels", labels, DType::I32);
  requireShape(op, "labels", labels, logits.rows, 1);
  requireShape(op, "targetCos", targetCos, logits.rows, 1);
  requireShape(op, "rowMax", rowMax, logits.rows, 1);
  requireDType(op, "targetCos", targetCos, DType::F32);
  requireDType(op, "rowMax", rowMax, DType::F32);
  for (const Tensor* t : {&labels, &targetCos, &rowMax}) requireSameDevice(op, logits, *t);
  PFC_DISPATCH(logits, marginLogits, logits, labels, p, targetCos, rowMax);
}

}  // namespace pfc
