#include "ops/sampling.h"

#include <algorithm>
#include <functional>

#include "ops/random.h"

namespace pfc::cpu {

// Key of a row: score in the high 32 bits (positives above every random score), then the
// complement of the row number so that, among equal scores, the lower row wins.
static inline uint64_t rowKey(uint32_t score, int64_t row) {
  return (static_cast<uint64_t>(score) << 32) | (0xFFFFFFFFULL - static_cast<uint64_t>(row));
}
static inline int64_t keyRow(uint64_t key) { return static_cast<int64_t>(0xFFFFFFFFULL - (key & 0xFFFFFFFFULL)); }
constexpr uint32_t kPositiveScore = 1u << 24;  // random scores have 24 bits

int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped) {
  const int64_t n = spec.shardSize, batch = labels.rows;
  const int32_t* lab = labels.data<int32_t>();
  uint64_t* key = reinterpret_cast<uint64_t*>(keys.data<int32_t>());
  int32_t* idx = indices.data<int32_t>();
  int32_t* out = remapped.data<int32_t>();

#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t j = 0; j < n; ++j) key[j] = rowKey(random24(spec.seed, spec.stream, spec.shardOffset + j), j);
  int64_t positives = 0;
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t local = static_cast<int64_t>(lab[i]) - spec.shardOffset;
    if (local >= 0 && local < n && (key[local] >> 32) != kPositiveScore) {
      key[local] = rowKey(kPositiveScore, local);
      ++positives;
    }
  }
  const int64_t active = std::max(positives, spec.numSampled);
  PFC_CHECK(active <= indices.rows, "sampleCentres: " + std::to_string(active) + " active centres exceed capacity " +
                                        std::to_string(indices.rows));
  if (active == n) {
    for (int64_t j = 0; j < n; ++j) idx[j] = static_cast<int32_t>(j);
  } else {
    std::nth_element(key, key + active, key + n, std::greater<uint64_t>());
    for (int64_t k = 0; k < active; ++k) idx[k] = static_cast<int32_t>(keyRow(key[k]));
    std::sort(idx, idx + active);
  }
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
