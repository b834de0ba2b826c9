/*
Partial FC's choice of active centres on the device, picking exactly the rows the CPU picks
(ops/sampling.h), with no sort and no host round trip when the active count is known:
  1. score[j] = random24(seed, stream, shardOffset + j) (32-bit, in the keys workspace)
  2. rows holding a label of the batch get score 2^24; a 32-bit CAS makes each count once
  3. threshold selection, all on the device: a histogram of score >> 12 (4097 bins, privatized
     in shared memory), one block finds the bin holding the active-th largest score
     (active = max(positives, numSampled) read on the device); a histogram of the low 12 bits
     inside that bin; one block finds the boundary score S and how many rows scoring S to take
  4. ordered compaction: an exclusive scan (in place, ours: tiles of 2048 rows scanned per
     block, the tiles' totals scanned the same way, then added back) of per-row (score > S,
     score == S) counts packed in 64 bits gives every chosen row its position; rows come out
     ascending
  5. labels remapped by binary search in the chosen rows (-1 outside the shard)
The count goes back to the host (one 4-byte copy and a synchronization) only when it is not
known there: numSampled < min(B, C_r), where positives may outnumber the sample and the
GEMM shapes set on the host depend on them.
shardLabels: label - offset inside the shard, -1 outside.
Scratch (accounted, and modeled to the byte by sampleScratchBytes in src/model/memory.ts): a
few control words, two histograms, 8 bytes per row of prefix counts and 8 bytes per tile of the
scan's totals at each level; see sampleScratchBytes below.
*/
#include <cub/cub.cuh>

#include <climits>

#include "ops/cuda/cuda_util.cuh"
#include "ops/random.h"
#include "ops/sampling.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

namespace {

constexpr int kSelectThreads = 1024;

// Control words shared by the selection kernels.
struct SampleControl {
  uint32_t positives;
  uint32_t active;
  uint32_t highBin;    // bin of score >> 12 holding the boundary
  uint32_t highRank;   // 1-based rank of the boundary inside that bin, from the top
  uint32_t threshold;  // boundary score S
  uint32_t takeEqual;  // rows scoring exactly S that are taken (lowest rows first)
};

}  // namespace

// ------------------------------------------------------------------------------------------------
// Kernels

__global__ void scoreKernel(uint32_t* __restrict__ score, int64_t n, uint64_t seed, uint64_t stream,
                            int64_t shardOffset) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x)
    score[j] = random24(seed, stream, static_cast<uint64_t>(shardOffset + j));
}

__global__ void markPositivesKernel(const int32_t* __restrict__ labels, int64_t batch, int64_t shardOffset, int64_t n,
                                    uint32_t* score, SampleControl* ctl) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < batch;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t local = static_cast<int64_t>(labels[i]) - shardOffset;
    if (local < 0 || local >= n) continue;
    uint32_t old = score[local];
    while (old != kPositiveScore) {  // repeated labels: only the first CAS counts
      const uint32_t prev = atomicCAS(score + local, old, kPositiveScore);
      if (prev == old) {
        atomicAdd(&ctl->positives, 1u);
        break;
      }
      old = prev;
    }
  }
}

// kLow: histogram of the low 12 bits of the rows whose high bin is ctl->highBin.
template <bool kLow>
__global__ void scoreHistogramKernel(const uint32_t* __restrict__ score, int64_t n, const SampleControl* ctl,
                                     uint32_t* __restrict__ hist) {
  constexpr uint32_t kBins = kLow ? kSampleLowBins : kSampleHighBins;
  __shared__ uint32_t local[kBins];
  for (uint32_t b = threadIdx.x; b < kBins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  const uint32_t bin = kLow ? ctl->highBin : 0;
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t s = score[j];
    if (kLow) {
      if ((s >> kSampleLowBits) == bin) atomicAdd(&local[s & (kSampleLowBins - 1)], 1u);
    } else {
      atomicAdd(&local[s >> kSampleLowBits], 1u);
    }
  }
  __syncthreads();
  for (uint32_t b = threadIdx.x; b < kBins; b += blockDim.x)
    if (local[b]) atomicAdd(&hist[b], local[b]);
}

// One block of kSelectThreads: the bin where the target-th largest element falls, walking the
// bins from the top (a block scan over per-thread runs of bins), and its rank inside the bin.
// kLow: target = ctl->highRank over the low histogram -> threshold, takeEqual. Otherwise
// target = active = max(positives, numSampled) over the high histogram -> highBin, highRank.
template <bool kLow>
__global__ void selectBinKernel(const uint32_t* __restrict__ hist, SampleControl* ctl, uint32_t numSampled) {
  constexpr uint32_t kBins = kLow ? kSampleLowBins : kSampleHighBins;
  constexpr uint32_t kPerThread = (kBins + kSelectThreads - 1) / kSelectThreads;
  using Scan = cub::BlockScan<uint32_t, kSelectThreads>;
  __shared__ typename Scan::TempStorage temp;
  __shared__ uint32_t target;
  if (threadIdx.x == 0) {
    if (kLow) {
      target = ctl->highRank;
      ctl->threshold = kPositiveScore + 1;  // nothing taken unless a bin is found
      ctl->takeEqual = 0;
    } else {
      target = max(ctl->positives, numSampled);
      ctl->active = target;
      ctl->highBin = kSampleHighBins;  // matches no row
      ctl->highRank = 0;
    }
  }
  __syncthreads();
  // Thread t owns positions [t * kPerThread, ...) of the bins in descending order.
  uint32_t counts[kPerThread];
  uint32_t mine = 0;
#pragma unroll
  for (uint32_t q = 0; q < kPerThread; ++q) {
    const uint32_t pos = threadIdx.x * kPerThread + q;
    counts[q] = pos < kBins ? hist[kBins - 1 - pos] : 0u;
    mine += counts[q];
  }
  uint32_t above;
  Scan(temp).ExclusiveSum(mine, above);
  if (target == 0) return;
#pragma unroll
  for (uint32_t q = 0; q < kPerThread; ++q) {
    if (above < target && target <= above + counts[q]) {  // exactly one (thread, q) sees this
      const uint32_t b = kBins - 1 - (threadIdx.x * kPerThread + q);
      if (kLow) {
        ctl->threshold = (ctl->highBin << kSampleLowBits) | b;
        ctl->takeEqual = target - above;
      } else {
        ctl->highBin = b;
        ctl->highRank = target - above;
      }
    }
    above += counts[q];
  }
}

// Per row: (score > S) << 32 | (score == S), scanned in place into prefix counts.
__global__ void boundaryFlagsKernel(const uint32_t* __restrict__ score, int64_t n, const SampleControl* ctl,
                                    unsigned long long* __restrict__ flags) {
  const uint32_t threshold = ctl->threshold;
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t s = score[j];
    flags[j] = (static_cast<unsigned long long>(s > threshold) << 32) | static_cast<unsigned long long>(s == threshold);
  }
}

// Row j's position among the chosen rows: the rows above S before it, plus the taken rows
// scoring S before it (at most takeEqual).
__global__ void compactKernel(const uint32_t* __restrict__ score, int64_t n, const SampleControl* ctl,
                              const unsigned long long* __restrict__ prefix, int32_t* __restrict__ rows) {
  const uint32_t threshold = ctl->threshold, takeEqual = ctl->takeEqual;
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t s = score[j];
    const unsigned long long p = prefix[j];
    const uint32_t greater = static_cast<uint32_t>(p >> 32), equal = static_cast<uint32_t>(p & 0xFFFFFFFFull);
    if (s > threshold) {
      rows[greater + min(equal, takeEqual)] = static_cast<int32_t>(j);
    } else if (s == threshold && equal < takeEqual) {
      rows[greater + equal] = static_cast<int32_t>(j);
    }
  }
}

__global__ void remapLabelsKernel(const int32_t* __restrict__ labels, int64_t batch, int64_t shardOffset, int64_t n,
                                  const int32_t* __restrict__ idx, const SampleControl* ctl, int32_t* __restrict__ out) {
  const int64_t active = ctl->active;
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

// Exclusive scan of one tile of kScanTile counts in place; the tile's total to tileTotals (when
// given). Thread t holds kScanItems consecutive counts; a warp scan of the threads' sums, then
// one over the warps' totals, gives each thread the sum before its items.
constexpr int kScanThreads = 256, kScanItems = 8;
constexpr int64_t kScanTile = int64_t{kScanThreads} * kScanItems;

__global__ void scanTileKernel(unsigned long long* __restrict__ data, int64_t n,
                               unsigned long long* __restrict__ tileTotals) {
  __shared__ unsigned long long warpTotals[kScanThreads / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * kScanTile + static_cast<int64_t>(threadIdx.x) * kScanItems;
  unsigned long long items[kScanItems];
  unsigned long long sum = 0;
#pragma unroll
  for (int q = 0; q < kScanItems; ++q) {
    items[q] = first + q < n ? data[first + q] : 0ull;
    sum += items[q];
  }
  unsigned long long inclusive = sum;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const unsigned long long before = __shfl_up_sync(0xffffffffu, inclusive, o);
    if (lane >= o) inclusive += before;
  }
  if (lane == 31) warpTotals[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    unsigned long long w = lane < kScanThreads / 32 ? warpTotals[lane] : 0ull;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const unsigned long long before = __shfl_up_sync(0xffffffffu, w, o);
      if (lane >= o) w += before;
    }
    if (lane < kScanThreads / 32) warpTotals[lane] = w;  // inclusive over the warps
  }
  __syncthreads();
  unsigned long long running = inclusive - sum + (warp > 0 ? warpTotals[warp - 1] : 0ull);
#pragma unroll
  for (int q = 0; q < kScanItems; ++q) {
    if (first + q < n) data[first + q] = running;
    running += items[q];
  }
  if (tileTotals && threadIdx.x == 0) tileTotals[blockIdx.x] = warpTotals[kScanThreads / 32 - 1];
}

// Adds each tile's offset (the scanned tile totals) to its counts.
__global__ void addTileOffsetsKernel(unsigned long long* __restrict__ data, int64_t n,
                                     const unsigned long long* __restrict__ offsets) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x)
    data[j] += offsets[j / kScanTile];
}

// ------------------------------------------------------------------------------------------------
// Launchers

static size_t alignUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

// Scratch of the scan of n counts: the tiles' totals at every level above the first.
static size_t scanScratchBytes(int64_t n) {
  size_t bytes = 0;
  for (int64_t level = n; level > kScanTile; level = ceilDiv(level, kScanTile))
    bytes += alignUp(static_cast<size_t>(ceilDiv(level, kScanTile)) * sizeof(unsigned long long), 256);
  return bytes;
}

static void exclusiveScanInPlace(unsigned long long* data, int64_t n, unsigned long long* scratch, cudaStream_t s) {
  if (n <= 0) return;
  const int64_t tiles = ceilDiv(n, kScanTile);
  unsigned long long* totals = tiles > 1 ? scratch : nullptr;
  launchKernel(scanTileKernel, static_cast<unsigned>(tiles), kScanThreads, 0, s, data, n, totals);
  PFC_CUDA_LAUNCH_CHECK();
  if (tiles == 1) return;
  exclusiveScanInPlace(totals, tiles, scratch + alignUp(tiles * sizeof(unsigned long long), 256) / sizeof(unsigned long long), s);
  launchKernel(addTileOffsetsKernel, gridFor(n, kScanThreads), kScanThreads, 0, s, data, n, totals);
  PFC_CUDA_LAUNCH_CHECK();
}

int64_t sampleCentres(const Tensor& labels, const SampleSpec& spec, const Tensor& keys, const Tensor& indices,
                      const Tensor& remapped) {
  const char* op = "sampleCentres (cuda)";
  const int64_t n = spec.shardSize, batch = labels.rows;
  PFC_CHECK(n < INT_MAX, std::string(op) + ": shard of " + std::to_string(n) + " rows exceeds the 32-bit range");
  requireCuda(op, "keys", keys);
  requireCuda(op, "indices", indices);
  requireCuda(op, "remapped", remapped);
  const bool known = sampleCountKnown(spec.numSampled, batch, n);
  if (known)
    PFC_CHECK(spec.numSampled <= indices.rows, "sampleCentres: " + std::to_string(spec.numSampled) +
                                                   " active centres exceed capacity " + std::to_string(indices.rows));
  constexpr int kThreads = 256;
  cudaStream_t s = cudaStream();
  uint32_t* score = reinterpret_cast<uint32_t*>(keys.raw());
  int32_t* idx = indices.data<int32_t>();
  const int32_t* lab = labels.data<int32_t>();

  // Scratch: [control | high histogram | low histogram | prefix counts (8 bytes per row) | scan totals].
  const size_t scanBytes = scanScratchBytes(n);
  const size_t offHigh = 256;
  const size_t offLow = alignUp(offHigh + kSampleHighBins * sizeof(uint32_t), 256);
  const size_t offPrefix = alignUp(offLow + kSampleLowBins * sizeof(uint32_t), 256);
  const size_t offTemp = alignUp(offPrefix + static_cast<size_t>(n) * sizeof(unsigned long long), 256);
  char* scratch = static_cast<char*>(cudaScratch(static_cast<int64_t>(offTemp + std::max<size_t>(scanBytes, 1))));
  SampleControl* ctl = reinterpret_cast<SampleControl*>(scratch);
  uint32_t* highHist = reinterpret_cast<uint32_t*>(scratch + offHigh);
  uint32_t* lowHist = reinterpret_cast<uint32_t*>(scratch + offLow);
  unsigned long long* prefix = reinterpret_cast<unsigned long long*>(scratch + offPrefix);
  void* temp = scratch + offTemp;

  // Few blocks of >= 16k rows each: every block adds its (up to 4097) non-zero bins to the
  // global histogram with one atomic per bin.
  const unsigned histBlocks = static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>(ceilDiv(n, 16384), 2 * static_cast<int64_t>(cudaSmCount()))));
  // Control and both histograms start at zero (one memset: they are contiguous).
  PFC_CUDA_CHECK(cudaMemsetAsync(scratch, 0, offPrefix, s));
  if (n > 0) {
    launchKernel(scoreKernel, gridFor(n, kThreads), kThreads, 0, s, score, n, spec.seed, spec.stream, spec.shardOffset);
    PFC_CUDA_LAUNCH_CHECK();
    if (batch > 0) {
      launchKernel(markPositivesKernel, gridFor(batch, kThreads), kThreads, 0, s, lab, batch, spec.shardOffset, n, score, ctl);
      PFC_CUDA_LAUNCH_CHECK();
    }
    launchKernel(scoreHistogramKernel<false>, histBlocks, kThreads, 0, s, score, n, ctl, highHist);
    PFC_CUDA_LAUNCH_CHECK();
  }
  launchKernel(selectBinKernel<false>, 1, kSelectThreads, 0, s, highHist, ctl, static_cast<uint32_t>(spec.numSampled));
  PFC_CUDA_LAUNCH_CHECK();
  if (n > 0) {
    launchKernel(scoreHistogramKernel<true>, histBlocks, kThreads, 0, s, score, n, ctl, lowHist);
    PFC_CUDA_LAUNCH_CHECK();
  }
  launchKernel(selectBinKernel<true>, 1, kSelectThreads, 0, s, lowHist, ctl, 0);
  PFC_CUDA_LAUNCH_CHECK();
  if (n > 0) {
    launchKernel(boundaryFlagsKernel, gridFor(n, kThreads), kThreads, 0, s, score, n, ctl, prefix);
    PFC_CUDA_LAUNCH_CHECK();
    exclusiveScanInPlace(prefix, n, static_cast<unsigned long long*>(temp), s);
    launchKernel(compactKernel, gridFor(n, kThreads), kThreads, 0, s, score, n, ctl, prefix, idx);
    PFC_CUDA_LAUNCH_CHECK();
  }
  if (batch > 0) {
    launchKernel(remapLabelsKernel, gridFor(batch, kThreads), kThreads, 0, s, lab, batch, spec.shardOffset, n, idx, ctl,
                                                                    remapped.data<int32_t>());
    PFC_CUDA_LAUNCH_CHECK();
  }
  if (known) return spec.numSampled;

  // Positives may outnumber the sample: the host needs the count the device found.
  uint32_t* hActive = static_cast<uint32_t*>(cudaHostStaging(sizeof(uint32_t)));
  PFC_CUDA_CHECK(cudaMemcpyAsync(hActive, &ctl->active, sizeof(uint32_t), cudaMemcpyDeviceToHost, s));
  synchronizeCudaStream();
  const int64_t active = *hActive;
  PFC_CHECK(active <= indices.rows, "sampleCentres: " + std::to_string(active) + " active centres exceed capacity " +
                                        std::to_string(indices.rows));
  return active;
}

void shardLabels(const Tensor& labels, int64_t shardOffset, int64_t shardSize, const Tensor& remapped) {
  requireCuda("shardLabels (cuda)", "remapped", remapped);
  const int64_t batch = labels.rows;
  if (batch == 0) return;
  constexpr int kThreads = 256;
  launchKernel(shardLabelsKernel, gridFor(batch, kThreads), kThreads, 0, cudaStream(), labels.data<int32_t>(), batch,
                                                                             shardOffset, shardSize,
                                                                             remapped.data<int32_t>());
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
