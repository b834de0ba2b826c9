/*
SGD with momentum and weight decay on the device (ops/sgd.h), all fp32:
  v <- mu * v + (g + lambda * w);  w <- w - lr * v
  no indices: every row k has gradient row k (one elementwise grid-stride pass)
  sparse:     only the active rows indices[k] change, with gradient row k (one warp per active row)
  dense:      every row changes; a row finds its gradient row by binary search in the sorted
              indices (gradient 0 when it is not active); one warp per row
Each element of w and v is read and written once (128-bit accesses when D % 4 == 0 and the
rows are aligned). Unsorted, repeated or out-of-range indices are reported through the device
error word; out-of-range rows are skipped, never written.
*/
#include "ops/cuda/cuda_util.cuh"
#include "ops/sgd.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

// ------------------------------------------------------------------------------------------------
// Kernels

__device__ __forceinline__ void sgdElement(float& w, float& v, float g, const SgdParams& p) {
  v = p.momentum * v + g + p.weightDecay * w;
  w -= p.lr * v;
}

// One row of D elements by the 32 lanes of a warp; g may be null (gradient 0).
template <bool kVec>
__device__ __forceinline__ void sgdRow(float* w, float* v, const float* g, int64_t cols, int lane, const SgdParams& p) {
  if (kVec) {
    for (int64_t c = lane * 4; c < cols; c += 128) {
      float4 wv = *reinterpret_cast<float4*>(w + c);
      float4 vv = *reinterpret_cast<float4*>(v + c);
      const float4 gv = g ? *reinterpret_cast<const float4*>(g + c) : make_float4(0.f, 0.f, 0.f, 0.f);
      sgdElement(wv.x, vv.x, gv.x, p);
      sgdElement(wv.y, vv.y, gv.y, p);
      sgdElement(wv.z, vv.z, gv.z, p);
      sgdElement(wv.w, vv.w, gv.w, p);
      *reinterpret_cast<float4*>(w + c) = wv;
      *reinterpret_cast<float4*>(v + c) = vv;
    }
  } else {
    for (int64_t c = lane; c < cols; c += 32) sgdElement(w[c], v[c], g ? g[c] : 0.0f, p);
  }
}

template <bool kVec>
__global__ void sgdAllRowsKernel(float* w, float* v, const float* g, int64_t n, SgdParams p) {
  // Elementwise over the whole tensor; kVec: n % 4 == 0 and all three 16-byte aligned.
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if (kVec) {
    for (int64_t e = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) * 4; e < n; e += stride * 4) {
      float4 wv = *reinterpret_cast<float4*>(w + e);
      float4 vv = *reinterpret_cast<float4*>(v + e);
      const float4 gv = *reinterpret_cast<const float4*>(g + e);
      sgdElement(wv.x, vv.x, gv.x, p);
      sgdElement(wv.y, vv.y, gv.y, p);
      sgdElement(wv.z, vv.z, gv.z, p);
      sgdElement(wv.w, vv.w, gv.w, p);
      *reinterpret_cast<float4*>(w + e) = wv;
      *reinterpret_cast<float4*>(v + e) = vv;
    }
  } else {
    for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n; e += stride)
      sgdElement(w[e], v[e], g[e], p);
  }
}

__global__ void checkIndicesKernel(const int32_t* idx, int64_t active, int64_t rows, int* err) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < active;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t r = idx[k];
    if (r < 0 || r >= rows || (k > 0 && r <= idx[k - 1])) reportError(err, kDevErrSgdIndices);
  }
}

template <bool kVec>
__global__ void sgdSparseKernel(float* w, float* v, const float* g, const int32_t* idx, int64_t active, int64_t rows,
                                int64_t cols, SgdParams p) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < active; k += warps) {
    const int64_t r = idx[k];
    if (r < 0 || r >= rows) continue;
    sgdRow<kVec>(w + r * cols, v + r * cols, g + k * cols, cols, lane, p);
  }
}

template <bool kVec>
__global__ void sgdDenseKernel(float* w, float* v, const float* g, const int32_t* idx, int64_t active, int64_t rows,
                               int64_t cols, SgdParams p) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t r = warp; r < rows; r += warps) {
    int64_t lo = 0, hi = active;  // lower_bound(idx, r): every lane searches (broadcast loads)
    while (lo < hi) {
      const int64_t mid = (lo + hi) >> 1;
      if (idx[mid] < r) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const float* gr = (lo < active && idx[lo] == r) ? g + lo * cols : nullptr;
    sgdRow<kVec>(w + r * cols, v + r * cols, gr, cols, lane, p);
  }
}

// ------------------------------------------------------------------------------------------------
// Launcher

void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p) {
  const char* op = "sgdUpdate (cuda)";
  requireDType(op, "weights", weights, DType::F32);
  requireDType(op, "momentum", momentum, DType::F32);
  requireDType(op, "grad", grad, DType::F32);
  PFC_CHECK(momentum.device() == Device::Cuda && grad.device() == Device::Cuda,
            std::string(op) + ": tensors on different devices");
  const int64_t rows = weights.rows, cols = weights.cols, active = grad.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const float* g = grad.data<float>();
  cudaStream_t s = cudaStream();
  constexpr int kThreads = 256;
  const bool rowsVec = cols % 4 == 0 && aligned(w, 16) && aligned(v, 16) && aligned(g, 16);

  if (!indices) {
    const int64_t n = weights.numel();
    if (n == 0) return;
    const bool vec = n % 4 == 0 && aligned(w, 16) && aligned(v, 16) && aligned(g, 16);
    if (vec) {
      sgdAllRowsKernel<true><<<gridFor(n / 4, kThreads), kThreads, 0, s>>>(w, v, g, n, p);
    } else {
      sgdAllRowsKernel<false><<<gridFor(n, kThreads), kThreads, 0, s>>>(w, v, g, n, p);
    }
    PFC_CUDA_LAUNCH_CHECK();
    return;
  }

  requireCuda(op, "indices", *indices);
  const int32_t* idx = indices->data<int32_t>();
  if (active > 0) {
    checkIndicesKernel<<<gridFor(active, kThreads), kThreads, 0, s>>>(idx, active, rows, deviceErrorWord());
    PFC_CUDA_LAUNCH_CHECK();
  }
  const int64_t work = p.dense ? rows : active;  // rows handled, one warp each
  if (work == 0 || cols == 0) return;
  const unsigned blocks = gridFor(work * 32, kThreads);
  if (p.dense) {
    if (rowsVec) {
      sgdDenseKernel<true><<<blocks, kThreads, 0, s>>>(w, v, g, idx, active, rows, cols, p);
    } else {
      sgdDenseKernel<false><<<blocks, kThreads, 0, s>>>(w, v, g, idx, active, rows, cols, p);
    }
  } else {
    if (rowsVec) {
      sgdSparseKernel<true><<<blocks, kThreads, 0, s>>>(w, v, g, idx, active, rows, cols, p);
    } else {
      sgdSparseKernel<false><<<blocks, kThreads, 0, s>>>(w, v, g, idx, active, rows, cols, p);
    }
  }
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
