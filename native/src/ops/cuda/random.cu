/*
Random fills on the device, element e of a fill being the same pure function of
(seed, stream, counterOffset + e) as on the CPU (ops/random.h):
  fillRandom:   uniform a + (b - a) u or normal a + b n, stored as fp32, bf16 or fp16
  fillLabels:   int32 labels in [0, numClasses)
  fillConstant: fp32 / bf16 / fp16 / int32 (zero is a memset)
Grid-stride kernels, one thread per element.
*/
#include "ops/cuda/cuda_util.cuh"
#include "ops/random.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

// ------------------------------------------------------------------------------------------------
// Kernels

template <typename T>
__global__ void fillRandomKernel(T* out, int64_t n, FillParams p) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint64_t c = p.counterOffset + static_cast<uint64_t>(e);
    const float v = p.distribution == Distribution::Uniform ? p.a + (p.b - p.a) * randomUniform01(p.seed, p.stream, c)
                                                            : p.a + p.b * randomNormal(p.seed, p.stream, c);
    out[e] = fromF<T>(v);
  }
}

__global__ void fillLabelsKernel(int32_t* out, int64_t n, uint64_t seed, uint64_t stream, uint64_t counterOffset,
                                 int64_t numClasses) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[e] = randomLabel(seed, stream, counterOffset + static_cast<uint64_t>(e), numClasses);
}

template <typename T>
__global__ void fillConstantKernel(T* out, int64_t n, T value) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[e] = value;
}

template <typename T>
__global__ void fillConstantFloatKernel(T* out, int64_t n, float value) {
  const T v = fromF<T>(value);
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[e] = v;
}

// ------------------------------------------------------------------------------------------------
// Launchers

void fillRandom(const Tensor& t, const FillParams& p) {
  const int64_t n = t.numel();
  if (n == 0) return;
  constexpr int kThreads = 256;
  cudaStream_t s = cudaStream();
  PFC_CUDA_FLOAT_SWITCH(t.dtype, "fillRandom (cuda)",
                        launchKernel(fillRandomKernel<T>, gridFor(n, kThreads), kThreads, 0, s, t.data<T>(), n, p));
  PFC_CUDA_LAUNCH_CHECK();
}

void fillLabels(const Tensor& t, uint64_t seed, uint64_t stream, uint64_t counterOffset, int64_t numClasses) {
  const int64_t n = t.numel();
  if (n == 0) return;
  constexpr int kThreads = 256;
  launchKernel(fillLabelsKernel, gridFor(n, kThreads), kThreads, 0, cudaStream(), t.data<int32_t>(), n, seed, stream,
                                                                         counterOffset, numClasses);
  PFC_CUDA_LAUNCH_CHECK();
}

void fillConstant(const Tensor& t, float value) {
  const int64_t n = t.numel();
  if (n == 0) return;
  cudaStream_t s = cudaStream();
  // +0.0 is all-zero bits in every dtype.
  if (value == 0.0f && !std::signbit(value)) {
    PFC_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, static_cast<size_t>(t.bytes()), s));
    return;
  }
  constexpr int kThreads = 256;
  if (t.dtype == DType::I32) {
    launchKernel(fillConstantKernel<int32_t>, gridFor(n, kThreads), kThreads, 0, s, t.data<int32_t>(), n,
                                                                           static_cast<int32_t>(value));
  } else {
    PFC_CUDA_FLOAT_SWITCH(t.dtype, "fillConstant (cuda)",
                          launchKernel(fillConstantFloatKernel<T>, gridFor(n, kThreads), kThreads, 0, s, t.data<T>(), n, value));
  }
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
