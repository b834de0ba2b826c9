#include "ops/softmax.h"

#include "ops/dispatch.h"

namespace pfc {

static void checkRowStats(const char* op, const Tensor& labels, int64_t rows,
                          std::initializer_list<std::pair<const char*, const Tensor*>> stats) {
  requireDType(op, "labels", labels, DType::I32);
  requireShape(op, "labels", labels, rows, 1);
  for (const auto& [name, t] : stats) {
    requireSameDevice(op, labels, *t);
    requireDType(op, name, *t, DType::F32);
    requireShape(op, name, *t, rows, 1);
  }
}

static void checkLogits(const char* op, const Tensor& logits, int64_t cols, const Tensor& labels,
                        const LogitColumns& tile) {
  PFC_CHECK(cols >= 0 && cols <= logits.cols, std::string(op) + ": " + std::to_string(cols) +
                                                  " valid columns outside a leading dimension of " +
                                                  std::to_string(logits.cols));
  PFC_CHECK(tile.offset >= 0 && tile.offset + cols <= tile.active,
            std::string(op) + ": tile columns [" + std::to_string(tile.offset) + ", " +
                std::to_string(tile.offset + cols) + ") outside " + std::to_string(tile.active) + " active columns");
  requireSameDevice(op, logits, labels);
}

void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                        const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                        const Tensor& targetLogit, const LogitColumns& tile) {
  const char* op = "marginSoftmaxStats";
  checkLogits(op, logits, cols, labels, tile);
  checkRowStats(op, labels, logits.rows,
                {{"targetCos", &targetCos}, {"localMax", &localMax}, {"rowMax", &rowMax}, {"rowSum", &rowSum},
                 {"targetLogit", &targetLogit}});
  PFC_DISPATCH(logits, marginSoftmaxStats, logits, cols, labels, p, targetCos, localMax, rowMax, rowSum, targetLogit, tile);
}

void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                     const Tensor& targetLogit) {
  checkRowStats("rescaleRowStats", labels, labels.rows,
                {{"localMax", &localMax}, {"rowMax", &rowMax}, {"rowSum", &rowSum}, {"targetLogit", &targetLogit}});
  PFC_DISPATCH(labels, rescaleRowStats, labels, localMax, rowMax, rowSum, targetLogit);
}

double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit) {
  requireShape("crossEntropyLossSum", "targetLogit", targetLogit, rowSum.rows, 1);
  return PFC_DISPATCH_RET(rowSum, crossEntropyLossSum, rowSum, targetLogit);
}

void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                       const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,
                       const LogitColumns& tile) {
  const char* op = "marginSoftmaxGrad";
  checkLogits(op, logits, cols, labels, tile);
  checkRowStats(op, labels, logits.rows, {{"rowMax", &rowMax}, {"rowSum", &rowSum}, {"targetCos", &targetCos}});
  PFC_DISPATCH(logits, marginSoftmaxGrad, logits, cols, labels, p, rowMax, rowSum, targetCos, gradScale, tile);
}

}  // namespace pfc
