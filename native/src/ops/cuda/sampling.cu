/*
Partial FC's choice of active centres on the device, picking exactly the rows the CPU picks:
  1. key[j] = score << 32 | (0xFFFFFFFF - j), score = random24(seed, stream, shardOffset + j)
  2. rows holding a label of the batch get score 1 << 24 (above every random score); the
     positives are counted (a 64-bit CAS per row makes each row count once)
  3. active = max(positives, numSampled) (one 8-byte copy back: the host needs the count)
  4. the keys are sorted descending with CUB's radix sort (bits 0..56: 25 score bits over
     32 row bits), the first `active` give the rows, which are sorted ascending (CUB again)
  5. labels are remapped by binary search in the chosen rows (-1 outside the shard)
shardLabels: label - offset inside the shard, -1 outside.
Temporary memory (a second key buffer and CUB's storage) is the accounted scratch buffer.
*/
#include <cub/cub.cuh>

#include <climits>

#include "ops/cuda/cuda_util.cuh"
#include "ops/random.h"
#include "ops/sampling.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

namespace {

constexpr unsigned long long kPositiveScore = 1ull << 24;
constexpr int kKeyEndBit = 32 + 25;  // score <= 2^24 fits in 25 bits above the 32 row bits

__device__ __forceinline__ unsigned long long rowKey(unsigned long long score, int64_t row) {
  return (score << 32) | (0xFFFFFFFFull - static_cast<unsigned long long>(row));
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Kernels

__global__ void scoreKeysKernel(unsigned long long* key, int64_t n, uint64_t seed, uint64_t stream,
                                int64_t shardOffset) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x)
    key[j] = rowKey(random24(seed, stream, static_cast<uint64_t>(shardOffset + j)), j);
}

__global__ void markPositivesKernel(const int32_t* labels, int64_t batch, int64_t shardOffset, int64_t n,
                                    unsigned long long* key, unsigned long long* positives) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < batch;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t local = static_cast<int64_t>(labels[i]) - shardOffset;
    if (local < 0 || local >= n) continue;
    const unsigned long long positive = rowKey(kPositiveScore, local);
    unsigned long long old = key[local];
    while ((old >> 32) != kPositiveScore) {
      const unsigned long long prev = atomicCAS(key + local, old, positive);
      if (prev == old) {
        atomicAdd(positives, 1ull);
        break;
      }
      old = prev;
    }
  }
}

__global__ void keyRowsKernel(const unsigned long long* sortedKeys, int64_t active, int32_t* rows) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < active;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x)
    rows[k] = static_cast<int32_t>(0xFFFFFFFFull - (sortedKeys[k] & 0xFFFFFFFFull));
}

__global__ void iotaKernel(int32_t* out, int64_t n) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[j] = static_cast<int32_t>(j);
}

__global__ void remapLabelsKernel(const int32_t* labels, int64_t batch, int64_t shardOffset, int64_t n,
                                  const int32_t* idx, int64_t active, int32_t* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < batch;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t local = static_cast<int64_t>(labels[i]) - shardOffset;
    if (local < 0 || local >= n) {
      out[i] = -1;
      continue;
    }
    int64_t lo = 0, hi = active;  // lower_bound
    while (lo < hi) {
      const int64_t mid = (lo + hi) >> 1;
      if (idx[mid] < local) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    out[i] = static_cast<int32_t>(lo);
  }
}

__global__ void shardLabelsKernel(const int32_t* labels, int64_t batch, int64_t shardOffset, int64_t shardSize,
                                  int32_t* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < batch;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t local = static_cast<int64_t>(labels[i]) - shardOffset;
    out[i] = (local >= 0 && local < shardSize) ? static_cast<int32_t>(local) : -1;
  }
}

// ------------------------------------------------------------------------------------------------
// Launchers

static int bitsFor(int64_t n) {
  int b = 1;
  while ((int64_t(1) << b) < n) ++b;
  return b;
}

static size_t alignUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped) {
  const char* op = "sampleCentres (cuda)";
  const int64_t n = spec.shardSize, batch = labels.rows;
  PFC_CHECK(n < INT_MAX, std::string(op) + ": shard of " + std::to_string(n) + " rows exceeds the 32-bit range");
  PFC_CHECK(keys.device() == Device::Cuda && indices.device() == Device::Cuda && remapped.device() == Device::Cuda,
            std::string(op) + ": tensors on different devices");
  constexpr int kThreads = 256;
  cudaStream_t s = cudaStream();
  unsigned long long* key = reinterpret_cast<unsigned long long*>(keys.raw());
  int32_t* idx = indices.data<int32_t>();
  const int32_t* lab = labels.data<int32_t>();

  // Scratch: [positive count | second key buffer | CUB temporary storage].
  const int items = static_cast<int>(n);
  const int sortCap = static_cast<int>(std::min<int64_t>(n, indices.rows));
  size_t tempKeys = 0, tempRows = 0;
  {
    cub::DoubleBuffer<unsigned long long> kb(nullptr, nullptr);
    PFC_CUDA_CHECK(cub::DeviceRadixSort::SortKeysDescending(nullptr, tempKeys, kb, items, 0, kKeyEndBit, s));
    cub::DoubleBuffer<unsigned int> ib(nullptr, nullptr);
    PFC_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(nullptr, tempRows, ib, sortCap, 0, bitsFor(n), s));
  }
  const size_t offAlt = 256, offTemp = alignUp(offAlt + static_cast<size_t>(n) * sizeof(unsigned long long), 256);
  const size_t tempBytes = std::max<size_t>(std::max(tempKeys, tempRows), 1);
  char* scratch = static_cast<char*>(cudaScratch(static_cast<int64_t>(offTemp + tempBytes)));
  unsigned long long* dCount = reinterpret_cast<unsigned long long*>(scratch);
  unsigned long long* alt = reinterpret_cast<unsigned long long*>(scratch + offAlt);
  void* temp = scratch + offTemp;
  unsigned long long* hCount = static_cast<unsigned long long*>(cudaHostStaging(sizeof(unsigned long long)));

  // 1-2. Keys, positives.
  PFC_CUDA_CHECK(cudaMemsetAsync(dCount, 0, sizeof(unsigned long long), s));
  if (n > 0) {
    scoreKeysKernel<<<gridFor(n, kThreads), kThreads, 0, s>>>(key, n, spec.seed, spec.stream, spec.shardOffset);
    PFC_CUDA_LAUNCH_CHECK();
  }
  if (batch > 0 && n > 0) {
    markPositivesKernel<<<gridFor(batch, kThreads), kThreads, 0, s>>>(lab, batch, spec.shardOffset, n, key, dCount);
    PFC_CUDA_LAUNCH_CHECK();
  }
  // 3. The active count.
  PFC_CUDA_CHECK(cudaMemcpyAsync(hCount, dCount, sizeof(unsigned long long), cudaMemcpyDeviceToHost, s));
  synchronizeCudaStream();
  const int64_t positives = static_cast<int64_t>(*hCount);
  const int64_t active = std::max(positives, spec.numSampled);
  PFC_CHECK(active <= indices.rows, "sampleCentres: " + std::to_string(active) + " active centres exceed capacity " +
                                        std::to_string(indices.rows));

  // 4. The rows.
  if (active == n) {
    if (n > 0) {
      iotaKernel<<<gridFor(n, kThreads), kThreads, 0, s>>>(idx, n);
      PFC_CUDA_LAUNCH_CHECK();
    }
  } else if (active > 0) {
    cub::DoubleBuffer<unsigned long long> kb(key, alt);
    size_t bytes = tempBytes;
    PFC_CUDA_CHECK(cub::DeviceRadixSort::SortKeysDescending(temp, bytes, kb, items, 0, kKeyEndBit, s));
    keyRowsKernel<<<gridFor(active, kThreads), kThreads, 0, s>>>(kb.Current(), active, idx);
    PFC_CUDA_LAUNCH_CHECK();
    // The key buffer not holding the sorted keys is free now: it is the alternate row buffer.
    // Rows are non-negative: sorted as unsigned, on the bits a row number can use.
    unsigned int* rows = reinterpret_cast<unsigned int*>(idx);
    cub::DoubleBuffer<unsigned int> ib(rows, reinterpret_cast<unsigned int*>(kb.Alternate()));
    bytes = tempBytes;
    PFC_CUDA_CHECK(cub::DeviceRadixSort::SortKeys(temp, bytes, ib, static_cast<int>(active), 0, bitsFor(n), s));
    if (ib.Current() != rows)
      PFC_CUDA_CHECK(cudaMemcpyAsync(idx, ib.Current(), static_cast<size_t>(active) * sizeof(int32_t),
                                     cudaMemcpyDeviceToDevice, s));
  }

  // 5. Labels to positions among the active rows.
  if (batch > 0) {
    remapLabelsKernel<<<gridFor(batch, kThreads), kThreads, 0, s>>>(lab, batch, spec.shardOffset, n, idx, active,
                                                                    remapped.data<int32_t>());
    PFC_CUDA_LAUNCH_CHECK();
  }
  return active;
}

void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped) {
  requireCuda("shardLabels (cuda)", "remapped", remapped);
  const int64_t batch = labels.rows;
  if (batch == 0) return;
  constexpr int kThreads = 256;
  shardLabelsKernel<<<gridFor(batch, kThreads), kThreads, 0, cudaStream()>>>(labels.data<int32_t>(), batch,
                                                                             shardOffset, shardSize,
                                                                             remapped.data<int32_t>());
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
