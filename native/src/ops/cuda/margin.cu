/*
The combined margin on the device, in place on the logits, in ONE pass over them:
  c = clamp(z, -1, 1); z <- s * (cos(m1 acos(c) + m2) - m3) at the target column, s * c elsewhere;
  targetCos[i] = c at the target (0 when the row has no target here); rowMax[i] = max_j z_ij
  of the values as stored (so the max equals a stored logit also in bf16).
Logits fp32, bf16 or fp16 (fp32 math); labels int32; targetCos and rowMax fp32.
One block per (row, chunk): a row is one chunk when the batch fills the device, otherwise it is
split and a tiny second kernel combines the chunk maxima. 128-bit loads and stores.
*/
#include "ops/cuda/cuda_util.cuh"
#include "ops/margin.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

// ------------------------------------------------------------------------------------------------
// Kernels

template <typename T>
__global__ void marginLogitsKernel(T* logits, int64_t rows, int64_t cols, int64_t chunk, const int32_t* labels,
                                   MarginParams p, float* targetCos, float* rowMax, float* partialMax, int* err) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t c1 = c0 + chunk < cols ? c0 + chunk : cols;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    int64_t t = labels[r];
    if (t >= cols) {
      if (blockIdx.x == 0 && threadIdx.x == 0) reportError(err, kDevErrMarginLabel);
      t = -1;
    }
    if (t < 0 && blockIdx.x == 0 && threadIdx.x == 0) targetCos[r] = 0.0f;
    float* tc = targetCos + r;
    const float s = p.s;
    float m = -INFINITY;
    rowChunkApply<T>(logits + r * cols, c0, c1, threadIdx.x, blockDim.x, [&](int64_t j, float x) {
      const float c = fminf(fmaxf(x, -1.0f), 1.0f);
      float v;
      if (j == t) {
        *tc = c;
        v = s * marginTarget(c, p);
      } else {
        v = s * c;
      }
      v = roundTo<T>(v);
      m = fmaxf(m, v);
      return v;
    });
    m = blockReduceMax(m);
    if (threadIdx.x == 0) {
      if (partialMax) {
        partialMax[r * gridDim.x + blockIdx.x] = m;
      } else {
        rowMax[r] = m;
      }
    }
  }
}

__global__ void combineMaxKernel(const float* partial, int64_t rows, int splits, float* rowMax) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float m = -INFINITY;
    for (int k = 0; k < splits; ++k) m = fmaxf(m, partial[r * splits + k]);
    rowMax[r] = m;
  }
}

// ------------------------------------------------------------------------------------------------
// Launcher

void marginLogits(const Tensor& logits, const Tensor& labels, const MarginParams& p, const Tensor& targetCos,
                  const Tensor& rowMax) {
  const char* op = "marginLogits (cuda)";
  requireCuda(op, "labels", labels);
  requireCuda(op, "targetCos", targetCos);
  requireCuda(op, "rowMax", rowMax);
  const int64_t rows = logits.rows, cols = logits.cols;
  if (rows == 0) return;
  cudaStream_t s = cudaStream();
  const RowPlan plan = planRows(rows, cols, dtypeSize(logits.dtype));
  float* partial = plan.splits > 1 ? static_cast<float*>(cudaScratch(rows * plan.splits * sizeof(float))) : nullptr;
  int* err = deviceErrorWord();
  PFC_CUDA_FLOAT_SWITCH(logits.dtype, "marginLogits (cuda) logits",
                        marginLogitsKernel<T><<<plan.grid, plan.threads, 0, s>>>(
                            logits.data<T>(), rows, cols, plan.chunk, labels.data<int32_t>(), p,
                            targetCos.data<float>(), rowMax.data<float>(), partial, err));
  PFC_CUDA_LAUNCH_CHECK();
  if (partial) {
    combineMaxKernel<<<gridFor(rows, 256), 256, 0, s>>>(partial, rows, plan.splits, rowMax.data<float>());
    PFC_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace pfc::cuda
