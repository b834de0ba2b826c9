#include "ops/random.h"

#include "ops/dispatch.h"

namespace pfc {

void fillRandom(const Tensor& t, const FillParams& p) {
  PFC_CHECK(t.dtype != DType::I32, "fillRandom: tensor must be floating point, got " + t.describe());
  PFC_DISPATCH(t, fillRandom, t, p);
}

void fillLabels(const Tensor& t, uint64_t seed, uint64_t stream, uint64_t counterOffset, int64_t numClasses) {
  requireDType("fillLabels", "labels", t, DType::I32);
  PFC_CHECK(numClasses > 0, "fillLabels: numClasses must be positive");
  PFC_DISPATCH(t, fillLabels, t, seed, stream, counterOffset, numClasses);
}

void fillConstant(const Tensor& t, float value) { PFC_DISPATCH(t, fillConstant, t, value); }

}  // namespace pfc
