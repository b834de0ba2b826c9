/*
Row movement on the device:
  gatherRows:     dst[k] = src[idx[k]], any dtype (rows are copied as bytes, 16/8/4/2/1-byte
                  words depending on row size and alignment), one warp per destination row
  scatterAddRows: dst[idx[k]] += src[k], fp32, atomicAdd so repeated indices accumulate
  copyTensor:     host<->device and device<->device with cudaMemcpyAsync on the core's
                  stream; waits for the copy when a host buffer is involved
An out-of-range index skips its row and is reported through the device error word.
*/
#include <cstring>

#include "ops/cuda/cuda_util.cuh"
#include "ops/rows.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

// ------------------------------------------------------------------------------------------------
// Kernels

// W: the word type (int4, int2, int, short, char); rowWords words per row.
template <typename W>
__global__ void gatherRowsKernel(const W* __restrict__ src, int64_t srcRows, const int32_t* __restrict__ idx,
                                 W* __restrict__ dst, int64_t n, int64_t rowWords, int* err) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < n; k += warps) {
    const int64_t r = idx[k];
    if (r < 0 || r >= srcRows) {
      if (lane == 0) reportError(err, kDevErrGatherIndex);
      continue;
    }
    const W* s = src + r * rowWords;
    W* d = dst + k * rowWords;
    for (int64_t w = lane; w < rowWords; w += 32) d[w] = s[w];
  }
}

__global__ void scatterAddRowsKernel(const float* __restrict__ src, const int32_t* __restrict__ idx, float* dst,
                                     int64_t n, int64_t dstRows, int64_t cols, int* err) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < n; k += warps) {
    const int64_t r = idx[k];
    if (r < 0 || r >= dstRows) {
      if (lane == 0) reportError(err, kDevErrScatterIndex);
      continue;
    }
    const float* s = src + k * cols;
    float* d = dst + r * cols;
    for (int64_t c = lane; c < cols; c += 32) atomicAdd(d + c, s[c]);
  }
}

// ------------------------------------------------------------------------------------------------
// Launchers

template <typename W>
static void launchGather(const Tensor& src, const Tensor& indices, const Tensor& dst, int64_t rowBytes) {
  constexpr int kThreads = 256;
  const int64_t n = dst.rows;
  const int64_t blocks = std::min<int64_t>(ceilDiv(n * 32, kThreads), static_cast<int64_t>(cudaSmCount()) * 32);
  launchKernel(gatherRowsKernel<W>, static_cast<unsigned>(std::max<int64_t>(blocks, 1)), kThreads, 0, cudaStream(), 
      static_cast<const W*>(src.raw()), src.rows, indices.data<int32_t>(), static_cast<W*>(dst.raw()), n,
      rowBytes / static_cast<int64_t>(sizeof(W)), deviceErrorWord());
  PFC_CUDA_LAUNCH_CHECK();
}

void gatherRows(const Tensor& src, const Tensor& indices, const Tensor& dst) {
  const int64_t rowBytes = src.cols * dtypeSize(src.dtype);
  if (dst.rows == 0 || rowBytes == 0) return;
  const void* s = src.raw();
  const void* d = dst.raw();
  auto fits = [&](int w) { return rowBytes % w == 0 && aligned(s, w) && aligned(d, w); };
  if (fits(16)) {
    launchGather<int4>(src, indices, dst, rowBytes);
  } else if (fits(8)) {
    launchGather<int2>(src, indices, dst, rowBytes);
  } else if (fits(4)) {
    launchGather<int>(src, indices, dst, rowBytes);
  } else if (fits(2)) {
    launchGather<short>(src, indices, dst, rowBytes);
  } else {
    launchGather<char>(src, indices, dst, rowBytes);
  }
}

void scatterAddRows(const Tensor& src, const Tensor& indices, const Tensor& dst) {
  requireDType("scatterAddRows (cuda)", "src", src, DType::F32);
  const int64_t n = src.rows;
  if (n == 0 || src.cols == 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>(ceilDiv(n * 32, kThreads), static_cast<int64_t>(cudaSmCount()) * 32);
  launchKernel(scatterAddRowsKernel, static_cast<unsigned>(std::max<int64_t>(blocks, 1)), kThreads, 0, cudaStream(), 
      src.data<float>(), indices.data<int32_t>(), dst.data<float>(), n, dst.rows, src.cols, deviceErrorWord());
  PFC_CUDA_LAUNCH_CHECK();
}

void copyTensor(const Tensor& src, const Tensor& dst) {
  const int64_t bytes = src.bytes();
  if (bytes == 0) return;
  const bool hostSrc = src.device() == Device::Cpu, hostDst = dst.device() == Device::Cpu;
  if (hostSrc && hostDst) {
    if (src.raw() != dst.raw()) std::memcpy(dst.raw(), src.raw(), static_cast<size_t>(bytes));
    return;
  }
  if (src.raw() == dst.raw()) return;
  cudaStream_t s = cudaStream();
  const cudaMemcpyKind kind = hostSrc ? cudaMemcpyHostToDevice : hostDst ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
  PFC_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), static_cast<size_t>(bytes), kind, s));
  // A host buffer (often pageable, owned by JavaScript) must not be touched again before the
  // copy is done; the device side needs no wait (everything is ordered on the stream).
  if (hostSrc || hostDst) synchronizeCudaStream();
}

}  // namespace pfc::cuda
