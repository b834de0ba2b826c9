#include "ops/sampling.h"

#include <algorithm>
#include <vector>

#include "ops/random.h"

namespace pfc::cpu {

namespace {

// The (bin, rank inside it) where the `target`-th largest element falls, bins walked from the top.
struct BinPick {
  uint32_t bin;
  int64_t rank;  // 1-based among the bin's elements, counted from the top
};
BinPick pickFromTop(const std::vector<int64_t>& hist, int64_t target) {
  int64_t above = 0;
  for (size_t b = hist.size(); b-- > 0;) {
    if (above + hist[b] >= target) return {static_cast<uint32_t>(b), target - above};
    above += hist[b];
  }
  return {0, 0};
}

}  // namespace

int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped) {
  const int64_t n = spec.shardSize, batch = labels.rows;
  const int32_t* lab = labels.data<int32_t>();
  uint32_t* score = reinterpret_cast<uint32_t*>(keys.data<int32_t>());
  int32_t* idx = indices.data<int32_t>();
  int32_t* out = remapped.data<int32_t>();

#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t j = 0; j < n; ++j) score[j] = random24(spec.seed, spec.stream, spec.shardOffset + j);
  int64_t positives = 0;
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t local = static_cast<int64_t>(lab[i]) - spec.shardOffset;
    if (local >= 0 && local < n && score[local] != kPositiveScore) {
      score[local] = kPositiveScore;
      ++positives;
    }
  }
  const int64_t active = std::max(positives, spec.numSampled);
  PFC_CHECK(active <= indices.rows, "sampleCentres: " + std::to_string(active) + " active centres exceed capacity " +
                                        std::to_string(indices.rows));

  // Threshold: the boundary score S and how many rows scoring exactly S are taken.
  uint32_t threshold = kPositiveScore + 1;  // above every score: nothing taken
  int64_t takeEqual = 0;
  if (active > 0) {
    std::vector<int64_t> high(kSampleHighBins, 0), low(kSampleLowBins, 0);
    for (int64_t j = 0; j < n; ++j) ++high[score[j] >> kSampleLowBits];
    const BinPick h = pickFromTop(high, active);
    for (int64_t j = 0; j < n; ++j)
      if ((score[j] >> kSampleLowBits) == h.bin) ++low[score[j] & (kSampleLowBins - 1)];
    const BinPick l = pickFromTop(low, h.rank);
    threshold = (h.bin << kSampleLowBits) | l.bin;
    takeEqual = l.rank;
  }
  // Ordered compaction: rows in ascending order, so the list comes out sorted.
  int64_t k = 0, equalSeen = 0;
  for (int64_t j = 0; j < n; ++j) {
    const uint32_t sc = score[j];
    if (sc > threshold || (sc == threshold && equalSeen++ < takeEqual)) idx[k++] = static_cast<int32_t>(j);
  }
  PFC_CHECK(k == active, "sampleCentres: selected " + std::to_string(k) + " rows, expected " + std::to_string(active));

  for (int64_t i = 0; i < batch; ++i) {
    const int64_t local = static_cast<int64_t>(lab[i]) - spec.shardOffset;
    if (local < 0 || local >= n) {
      out[i] = -1;
    } else {
      out[i] = static_cast<int32_t>(std::lower_bound(idx, idx + active, static_cast<int32_t>(local)) - idx);
    }
  }
  return active;
}

void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped) {
  const int32_t* lab = labels.data<int32_t>();
  int32_t* out = remapped.data<int32_t>();
  for (int64_t i = 0; i < labels.rows; ++i) {
    const int64_t local = static_cast<int64_t>(lab[i]) - shardOffset;
    out[i] = (local >= 0 && local < shardSize) ? static_cast<int32_t>(local) : -1;
  }
}

}  // namespace pfc::cpu
