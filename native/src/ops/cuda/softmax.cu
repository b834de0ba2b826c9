/*
The margin softmax cross-entropy on the device (ops/softmax.h) in two passes over the B x ld
cosines, the margin applied on the fly in both; margin logits and exps are never stored:
  marginSoftmaxStats:  reads the cosines once; each thread keeps an online (max, sum of
                       exp(z - max)), merged across the block; targetCos and targetLogit (z_t)
                       from the thread that meets the target column
  rescaleRowStats:     rowSum *= exp(localMax - rowMax), targetLogit -= rowMax (one thread per row)
  crossEntropyLossSum: sum_i log(rowSum_i) - targetLogit_i in float64, reduced on the device,
                       one double copied back
  marginSoftmaxGrad:   one read + write: dcos = s * gradScale * (exp(z - rowMax) / rowSum - onehot),
                       the target column times d(margin)/dc at targetCos, padding columns 0
Logits fp32, bf16 or fp16 (fp32 math); labels int32; row statistics fp32.
One block per (row, chunk): a row is one chunk when the batch fills the device, otherwise it is
split, and a tiny kernel merges the chunks' (max, sum) pairs in a fixed order (deterministic).
128-bit loads and stores (the padded leading dimension keeps every row 16-byte aligned).
Column tiles (LogitColumns, the logit-free step): a label is in the tile when it falls in
[offset, offset + cols); a tile past offset 0 merges its (max, sum) into the rows' running pair
(one thread per row, after the tile's own reduction), so tiles in order give the whole row.
*/
#include "ops/cuda/cuda_util.cuh"
#include "ops/softmax.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

namespace {

// A running softmax denominator: max m and s = sum exp(z - m).
struct MaxSum {
  float m;
  float s;
};

__device__ __forceinline__ void onlineAdd(MaxSum& a, float v) {
  if (v > a.m) {
    a.s = a.s * expf(a.m - v) + 1.0f;  // exp(-inf) = 0 on the first element
    a.m = v;
  } else {
    a.s += expf(v - a.m);
  }
}

// Commutative (IEEE + and max are), so a butterfly leaves the same value in every lane.
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = PFC_MUTANT(SumForMax) && a.m != -INFINITY && b.m != -INFINITY ? a.m + b.m : fmaxf(a.m, b.m);
  if (m == -INFINITY) return MaxSum{m, 0.0f};
  return MaxSum{m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ __forceinline__ MaxSum warpReduceMaxSum(MaxSum v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const MaxSum other{__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)};
    v = merge(v, other);
  }
  return v;
}

// Every thread gets the block's result; the leading barrier makes repeated calls safe.
__device__ __forceinline__ MaxSum blockReduceMaxSum(MaxSum v) {
  __shared__ float sharedM[32], sharedS[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  if (PFC_MUTANT(LaneExits) && lane == 1) return v;
  v = warpReduceMaxSum(v);
  __syncthreads();
  if (lane == 0) {
    sharedM[warp] = v.m;
    sharedS[warp] = v.s;
  }
  if (!PFC_MUTANT(MissingBarrier)) __syncthreads();
  v = lane < warps ? MaxSum{sharedM[lane], sharedS[lane]} : MaxSum{-INFINITY, 0.0f};
  return warpReduceMaxSum(v);
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Kernels

template <typename T>
__global__ void marginSoftmaxStatsKernel(const T* __restrict__ logits, int64_t rows, int64_t ld, int64_t cols,
                                         int64_t chunk, const int32_t* __restrict__ labels, MarginParams p,
                                         float* targetCos, float* localMax, float* rowMax, float* rowSum,
                                         float* targetLogit, float2* partial, LogitColumns tile, int* err) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t c1 = c0 + chunk < cols ? c0 + chunk : cols;
  const bool first = tile.offset == 0;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t label = labels[r];
    if (label >= tile.active && blockIdx.x == 0 && threadIdx.x == 0) reportError(err, kDevErrMarginLabel);
    const int64_t t = label >= tile.offset && label < tile.offset + cols && label < tile.active
                          ? label - tile.offset + (PFC_MUTANT(TileOffsetByOne) && tile.offset > 0 ? 1 : 0)
                          : -1;
    // Rows whose target lies in no tile read 0; an earlier tile's target values are kept.
    if (t < 0 && first && blockIdx.x == 0 && threadIdx.x == 0) {
      targetCos[r] = 0.0f;
      targetLogit[r] = 0.0f;
    }
    const float s = p.s;
    MaxSum acc{-INFINITY, 0.0f};
    const bool dropped = PFC_MUTANT(LastChunkDropped) && gridDim.x > 1 && blockIdx.x == gridDim.x - 1;
    rowChunkVisit<T>(logits + r * ld, c0, dropped ? c0 : c1, threadIdx.x, blockDim.x, [&](int64_t j, float x) {
      const float c = clampCos(x);
      float v;
      if (j == t) {
        v = s * marginTarget(c, p);
        targetCos[r] = c;
        targetLogit[r] = v;
      } else {
        v = s * c;
      }
      onlineAdd(acc, v);
    });
    acc = blockReduceMaxSum(acc);
    if (threadIdx.x == 0) {
      if (partial) {
        partial[r * gridDim.x + blockIdx.x] = make_float2(acc.m, acc.s);
      } else {
        if (!first) acc = merge(MaxSum{localMax[r], rowSum[r]}, acc);
        localMax[r] = acc.m;
        rowMax[r] = acc.m;
        rowSum[r] = acc.s;
      }
    }
  }
}

// first: the chunks start the rows' statistics; otherwise they fold into the earlier tiles'.
__global__ void mergeStatsKernel(const float2* __restrict__ partial, int64_t rows, int splits, bool first,
                                 float* localMax, float* rowMax, float* rowSum) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    MaxSum acc = first ? MaxSum{-INFINITY, 0.0f} : MaxSum{localMax[r], rowSum[r]};
    for (int k = 0; k < splits - (PFC_MUTANT(MergeDropsChunk) ? 1 : 0); ++k) {
      const float2 q = partial[r * splits + k];
      acc = merge(acc, MaxSum{q.x, q.y});
    }
    localMax[r] = acc.m;
    rowMax[r] = acc.m;
    rowSum[r] = acc.s;
  }
}

// localMax may alias rowMax (a softmax that is not distributed): both are only read.
__global__ void rescaleRowStatsKernel(const int32_t* __restrict__ labels, int64_t rows, const float* localMax,
                                      const float* rowMax, float* rowSum, float* targetLogit) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float lm = localMax[r], m = rowMax[r];
    rowSum[r] = lm == -INFINITY ? 0.0f : rowSum[r] * expf(lm - m);
    targetLogit[r] = labels[r] >= 0 ? targetLogit[r] - m : 0.0f;
  }
}

// One block: sum_i log(rowSum_i) - targetLogit_i in float64.
__global__ void lossSumKernel(const float* rowSum, const float* targetLogit, int64_t rows, double* out) {
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < rows; i += blockDim.x)
    acc += log(static_cast<double>(rowSum[i])) - static_cast<double>(targetLogit[i]);
  acc = blockReduceSumD(acc);
  if (threadIdx.x == 0) *out = acc;
}

template <typename T>
__global__ void marginSoftmaxGradKernel(T* __restrict__ logits, int64_t rows, int64_t ld, int64_t cols, int64_t chunk,
                                        const int32_t* __restrict__ labels, MarginParams p,
                                        const float* __restrict__ rowMax, const float* __restrict__ rowSum,
                                        const float* __restrict__ targetCos, float gradScale, LogitColumns tile) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t c1 = c0 + chunk < ld ? c0 + chunk : ld;
  const float sg = p.s * gradScale;
  const float s = p.s;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t label = labels[r];  // outside the active columns: reported by marginSoftmaxStats
    const int64_t t = label >= tile.offset && label < tile.offset + cols && label < tile.active
                          ? label - tile.offset + (PFC_MUTANT(TileOffsetByOne) && tile.offset > 0 ? 1 : 0)
                          : -1;
    const float m = rowMax[r];
    const float k = sg / rowSum[r];
    const float tc = targetCos[r];
    rowChunkApply<T>(logits + r * ld, c0, c1, threadIdx.x, blockDim.x, [&](int64_t j, float x) {
      if (j >= cols) return 0.0f;
      if (j == t) return (expf(s * marginTarget(tc, p) - m) * k - sg) * marginTargetGrad(tc, p);
      return expf(s * clampCos(x) - m) * k;
    });
  }
}

// ------------------------------------------------------------------------------------------------
// Launchers

void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                        const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                        const Tensor& targetLogit, const LogitColumns& tile) {
  const char* op = "marginSoftmaxStats (cuda)";
  requireCuda(op, "labels", labels);
  for (const Tensor* t : {&targetCos, &localMax, &rowMax, &rowSum, &targetLogit}) requireCuda(op, "row statistic", *t);
  const int64_t rows = logits.rows, ld = logits.cols;
  if (rows == 0) return;
  cudaStream_t s = cudaStream();
  const RowPlan plan = planRows(rows, cols, dtypeSize(logits.dtype));
  float2* partial =
      plan.splits > 1 ? static_cast<float2*>(cudaScratch(rows * plan.splits * static_cast<int64_t>(sizeof(float2))))
                      : nullptr;
  int* err = deviceErrorWord();
  PFC_CUDA_FLOAT_SWITCH(logits.dtype, "marginSoftmaxStats (cuda) logits",
                        launchKernel(marginSoftmaxStatsKernel<T>, plan.grid, plan.threads, 0, s, 
                            logits.data<T>(), rows, ld, cols, plan.chunk, labels.data<int32_t>(), p,
                            targetCos.data<float>(), localMax.data<float>(), rowMax.data<float>(),
                            rowSum.data<float>(), targetLogit.data<float>(), partial, tile, err));
  PFC_CUDA_LAUNCH_CHECK();
  if (partial) {
    launchKernel(mergeStatsKernel, gridFor(rows, 256), 256, 0, s, partial, rows, plan.splits, tile.offset == 0,
                                                         localMax.data<float>(), rowMax.data<float>(),
                                                         rowSum.data<float>());
    PFC_CUDA_LAUNCH_CHECK();
  }
}

void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                     const Tensor& targetLogit) {
  const char* op = "rescaleRowStats (cuda)";
  for (const Tensor* t : {&localMax, &rowMax, &rowSum, &targetLogit}) requireCuda(op, "row statistic", *t);
  const int64_t rows = labels.rows;
  if (rows == 0) return;
  launchKernel(rescaleRowStatsKernel, gridFor(rows, 256), 256, 0, cudaStream(), labels.data<int32_t>(), rows,
                                                                       localMax.data<float>(), rowMax.data<float>(),
                                                                       rowSum.data<float>(), targetLogit.data<float>());
  PFC_CUDA_LAUNCH_CHECK();
}

double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit) {
  requireDType("crossEntropyLossSum (cuda)", "rowSum", rowSum, DType::F32);
  requireDType("crossEntropyLossSum (cuda)", "targetLogit", targetLogit, DType::F32);
  PFC_CHECK(targetLogit.device() == Device::Cuda, "crossEntropyLossSum: tensors on different devices");
  const int64_t rows = rowSum.rows;
  if (rows == 0) return 0.0;
  cudaStream_t s = cudaStream();
  double* dOut = static_cast<double*>(cudaScratch(sizeof(double)));
  double* hOut = static_cast<double*>(cudaHostStaging(sizeof(double)));
  launchKernel(lossSumKernel, 1, 1024, 0, s, rowSum.data<float>(), targetLogit.data<float>(), rows, dOut);
  PFC_CUDA_LAUNCH_CHECK();
  PFC_CUDA_CHECK(cudaMemcpyAsync(hOut, dOut, sizeof(double), cudaMemcpyDeviceToHost, s));
  synchronizeCudaStream();
  return *hOut;
}

void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                       const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,
                       const LogitColumns& tile) {
  const char* op = "marginSoftmaxGrad (cuda)";
  requireCuda(op, "labels", labels);
  for (const Tensor* t : {&rowMax, &rowSum, &targetCos}) requireCuda(op, "row statistic", *t);
  const int64_t rows = logits.rows, ld = logits.cols;
  if (rows == 0 || ld == 0) return;
  cudaStream_t s = cudaStream();
  const RowPlan plan = planRows(rows, ld, dtypeSize(logits.dtype));
  PFC_CUDA_FLOAT_SWITCH(logits.dtype, "marginSoftmaxGrad (cuda) logits",
                        launchKernel(marginSoftmaxGradKernel<T>, plan.grid, plan.threads, 0, s, 
                            logits.data<T>(), rows, ld, cols, plan.chunk, labels.data<int32_t>(), p,
                            rowMax.data<float>(), rowSum.data<float>(), targetCos.data<float>(), gradScale, tile));
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
