// Partial FC's choice of active class centres on one shard [offset, offset + shardSize):
// every positive (a label of the global batch that falls in the shard) plus uniformly random
// negatives, max(positives, numSampled) rows in all, as sorted, unique local row numbers.
// Labels are remapped to positions in that list (-1 for labels on other shards).
// Each row's score is 24 random bits, a pure function of (seed, stream, global class id);
// positives score 2^24, above every random score. The active rows are those with the largest
// (score, -row) pairs, so ties go to the lower row and every backend picks the same rows.
// Both backends find them by threshold selection, not a sort: a histogram of the score's high
// 13 bits, then of its low 12 bits inside the boundary bin, gives the boundary score S and how
// many rows scoring exactly S to take (the lowest-numbered first); an ordered compaction then
// writes the chosen rows in ascending order.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace pfc {

constexpr uint32_t kPositiveScore = 1u << 24;  // random scores have 24 bits
constexpr int kSampleLowBits = 12;
constexpr uint32_t kSampleHighBins = (kPositiveScore >> kSampleLowBits) + 1;  // 4097: score >> 12
constexpr uint32_t kSampleLowBins = 1u << kSampleLowBits;                     // 4096: score & 4095

// The active count is known without looking at the labels.
inline bool sampleCountKnown(int64_t numSampled, int64_t batch, int64_t shardSize) {
  return numSampled >= (batch < shardSize ? batch : shardSize);
}

struct SampleSpec {
  int64_t shardOffset;
  int64_t shardSize;
  int64_t numSampled;  // floor(rate * shardSize)
  uint64_t seed;
  uint64_t stream;
};

// labels: B x 1 global labels. keys: shardSize x 2 int32 workspace (scores; on the device also
// the compaction's prefix counts). indices: capacity x 1 output; remapped: B x 1 output.
// Returns the active count. It is numSampled whenever numSampled >= min(B, shardSize), since
// there can be no more positives than that: the CUDA backend then never waits for the device.
// Otherwise the count depends on the positives the device found, and the GEMM shapes that
// follow are set on the host, so it is copied back (one synchronization).
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
