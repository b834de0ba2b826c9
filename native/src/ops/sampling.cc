#include "ops/sampling.h"

#include "ops/dispatch.h"

namespace pfc {

int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped) {
  const char* op = "sampleCentres";
  requireDType(op, "labels", labels, DType::I32);
  requireDType(op, "keys", keys, DType::I32);
  requireDType(op, "indices", indices, DType::I32);
  requireDType(op, "remapped", remapped, DType::I32);
  requireShape(op, "keys", keys, spec.shardSize, 2);
  requireShape(op, "remapped", remapped, labels.rows, 1);
  PFC_CHECK(spec.numSampled >= 0 && spec.numSampled <= spec.shardSize, "sampleCentres: numSampled outside the shard");
  PFC_CHECK(indices.rows >= spec.numSampled && indices.rows >= std::min(labels.rows, spec.shardSize),
            "sampleCentres: indices capacity " + std::to_string(indices.rows) + " is too small");
  for (const Tensor* t : {&keys, &indices, &remapped}) requireSameDevice(op, labels, *t);
  return PFC_DISPATCH_RET(labels, sampleCentres, labels, spec, keys, indices, remapped);
}

void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped) {
  requireDType("shardLabels", "labels", labels, DType::I32);
  requireShape("shardLabels", "remapped", remapped, labels.rows, 1);
  requireSameDevice("shardLabels", labels, remapped);
  PFC_DISPATCH(labels, shardLabels, labels, shardOffset, shardSize, remapped);
}

}  // namespace pfc
