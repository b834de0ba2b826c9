/*
The distributed softmax cross-entropy on the device (ops/softmax.h), each pass reading and
writing the logits once:
  expRowSum:             e = exp(z - rowMax) in place; rowSum = sum_j e (of e as stored);
                         targetLogit = z_t - rowMax (0 without a target here)
  crossEntropyLossSum:   sum_i log(rowSum_i) - targetLogit_i in float64, reduced on the device,
                         one double copied back
  softmaxMarginBackward: in place e -> s * gradScale * (e / rowSum - onehot), the target column
                         times d(margin)/dc at targetCos
Logits fp32, bf16 or fp16 (fp32 math); labels int32; row statistics fp32.
One block per (row, chunk) as in margin.cu; split rows combine their partial sums in a fixed
order (deterministic).
*/
#include "ops/cuda/cuda_util.cuh"
#include "ops/softmax.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

// ------------------------------------------------------------------------------------------------
// Kernels

template <typename T>
__global__ void expRowSumKernel(T* logits, int64_t rows, int64_t cols, int64_t chunk, const int32_t* labels,
                                const float* rowMax, float* rowSum, float* targetLogit, float* partialSum) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t c1 = c0 + chunk < cols ? c0 + chunk : cols;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    int64_t t = labels[r];
    if (t >= cols) t = -1;  // reported by marginLogits
    if (t < 0 && blockIdx.x == 0 && threadIdx.x == 0) targetLogit[r] = 0.0f;
    const float m = rowMax[r];
    float* tl = targetLogit + r;
    float acc = 0.0f;
    rowChunkApply<T>(logits + r * cols, c0, c1, threadIdx.x, blockDim.x, [&](int64_t j, float x) {
      if (j == t) *tl = x - m;
      const float e = roundTo<T>(expf(x - m));
      acc += e;
      return e;
    });
    acc = blockReduceSum(acc);
    if (threadIdx.x == 0) {
      if (partialSum) {
        partialSum[r * gridDim.x + blockIdx.x] = acc;
      } else {
        rowSum[r] = acc;
      }
    }
  }
}

__global__ void combineSumKernel(const float* partial, int64_t rows, int splits, float* rowSum) {
  for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int k = 0; k < splits; ++k) acc += partial[r * splits + k];
    rowSum[r] = acc;
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
__global__ void softmaxMarginBackwardKernel(T* logits, int64_t rows, int64_t cols, int64_t chunk,
                                            const int32_t* labels, const float* rowSum, const float* targetCos,
                                            MarginParams p, float gradScale) {
  const int64_t c0 = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t c1 = c0 + chunk < cols ? c0 + chunk : cols;
  const float sg = p.s * gradScale;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    int64_t t = labels[r];
    if (t >= cols) t = -1;
    const float k = sg / rowSum[r];
    const float tc = targetCos[r];
    rowChunkApply<T>(logits + r * cols, c0, c1, threadIdx.x, blockDim.x, [&](int64_t j, float e) {
      float y = e * k;
      if (j == t) y = (y - sg) * marginTargetGrad(tc, p);
      return y;
    });
  }
}

// ------------------------------------------------------------------------------------------------
// Launchers

void expRowSum(const Tensor& logits, const Tensor& labels, const Tensor& rowMax, const Tensor& rowSum,
               const Tensor& targetLogit) {
  const char* op = "expRowSum (cuda)";
  requireCuda(op, "labels", labels);
  requireCuda(op, "rowMax", rowMax);
  requireCuda(op, "rowSum", rowSum);
  requireCuda(op, "targetLogit", targetLogit);
  const int64_t rows = logits.rows, cols = logits.cols;
  if (rows == 0) return;
  cudaStream_t s = cudaStream();
  const RowPlan plan = planRows(rows, cols, dtypeSize(logits.dtype));
  float* partial = plan.splits > 1 ? static_cast<float*>(cudaScratch(rows * plan.splits * sizeof(float))) : nullptr;
  PFC_CUDA_FLOAT_SWITCH(logits.dtype, "expRowSum (cuda) logits",
                        expRowSumKernel<T><<<plan.grid, plan.threads, 0, s>>>(
                            logits.data<T>(), rows, cols, plan.chunk, labels.data<int32_t>(), rowMax.data<float>(),
                            rowSum.data<float>(), targetLogit.data<float>(), partial));
  PFC_CUDA_LAUNCH_CHECK();
  if (partial) {
    combineSumKernel<<<gridFor(rows, 256), 256, 0, s>>>(partial, rows, plan.splits, rowSum.data<float>());
    PFC_CUDA_LAUNCH_CHECK();
  }
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
  lossSumKernel<<<1, 1024, 0, s>>>(rowSum.data<float>(), targetLogit.data<float>(), rows, dOut);
  PFC_CUDA_LAUNCH_CHECK();
  PFC_CUDA_CHECK(cudaMemcpyAsync(hOut, dOut, sizeof(double), cudaMemcpyDeviceToHost, s));
  synchronizeCudaStream();
  return *hOut;
}

void softmaxMarginBackward(const Tensor& logits, const Tensor& labels, const Tensor& rowSum, const Tensor& targetCos,
                           const MarginParams& p, float gradScale) {
  const char* op = "softmaxMarginBackward (cuda)";
  requireCuda(op, "labels", labels);
  requireCuda(op, "rowSum", rowSum);
  requireCuda(op, "targetCos", targetCos);
  const int64_t rows = logits.rows, cols = logits.cols;
  if (rows == 0 || cols == 0) return;
  cudaStream_t s = cudaStream();
  const RowPlan plan = planRows(rows, cols, dtypeSize(logits.dtype));
  PFC_CUDA_FLOAT_SWITCH(logits.dtype, "softmaxMarginBackward (cuda) logits",
                        softmaxMarginBackwardKernel<T><<<plan.grid, plan.threads, 0, s>>>(
                            logits.data<T>(), rows, cols, plan.chunk, labels.data<int32_t>(), rowSum.data<float>(),
                            targetCos.data<float>(), p, gradScale));
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
