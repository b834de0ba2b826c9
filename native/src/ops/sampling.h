// Partial FC's choice of active class centres on one shard [offset, offset + shardSize):
// every positive (a label of the global batch that falls in the shard) plus uniformly random
// negatives, max(positives, numSampled) rows in all, as sorted, unique local row numbers.
// Labels are remapped to positions in that list (-1 for labels on other shards).
// Each row's random score is a pure function of (seed, stream, global class id), and ties are
// broken by the row number, so every backend picks the same rows for the same seed.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace pfc {

struct SampleSpec {
  int64_t shardOffset;
  int64_t shardSize;
  int64_t numSampled;  // floor(rate * shardSize)
  uint64_t seed;
  uint64_t stream;
};

// labels: B x 1 global labels. keys: shardSize x 2 int32 workspace (one 64-bit key per row).
// indices: capacity x 1 output; remapped: B x 1 output. Returns the active count.
int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped);

// Labels to shard-local positions with every centre active (model parallel): label - offset
// inside the shard, -1 outside.
void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped);

namespace cpu {
int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped);
void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped);
}  // namespace cpu
namespace cuda {
int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped);
void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped);
}  // namespace cuda

}  // namespace pfc
