/*
Row L2 normalization on the device, one warp per row (rows are embedding-sized, D ~ 512):
  normalizeRows:         y[k] = v / max(|v|, eps) with v = src[idx[k]] (or src[k]), norms[k] = max(|v|, eps)
                         src fp32; y stored as fp32, bf16 or fp16 (fp32 math); norms fp32.
                         The gathered rows are never materialized: the warp reads src[idx[k]].
  normalizeRowsBackward: in place dy <- (dy - y (y . dy)) / norm, dy fp32, y fp32/bf16/fp16.
128-bit loads of fp32 rows when D is a multiple of 4 and the rows are aligned, scalar otherwise.
normalizeRows reads each source row once when D <= 1024 (the row's packs stay in registers
between the norm and the scaled store, all loads in flight at once); longer rows read twice.
With a catch-up (lazy-dense), the same read of a gathered row applies its idle steps in float64
(ops/sgd.h's M^k) to the row and its momentum, written back before the normalized row is stored.
*/
#include "ops/cuda/cuda_util.cuh"
#include "ops/normalize.h"

namespace pfc::cuda {

using namespace pfc::cuda_detail;

// ------------------------------------------------------------------------------------------------
// Kernels

// The lazy rule's catch-up, on the device (ops/normalize.h's RowCatchUp).
struct DeviceCatchUp {
  float* momentum;
  int32_t* lastStep;
  int32_t step;
  SgdIdlePowers powers;
};

__device__ __forceinline__ void idleApply(const double m[4], float& w, float& v) {
  const double vd = v, wd = w;
  v = static_cast<float>(m[0] * vd + m[1] * wd);
  w = static_cast<float>(m[2] * vd + m[3] * wd);
}
__device__ __forceinline__ void idleApply4(const double m[4], float4& w, float4& v) {
  idleApply(m, w.x, v.x), idleApply(m, w.y, v.y), idleApply(m, w.z, v.z), idleApply(m, w.w, v.w);
}

// kVec: cols % 4 == 0 and every row 16-byte aligned (src, momentum) / 4-element aligned (dst).
// kPacks > 0 (with kVec): cols <= 128 * kPacks, the row is held in kPacks float4 per lane.
// kCatchUp: rows first get their idle steps (src and momentum written in place). src is not
// const: with a catch-up the kernel writes it, so no read may take the read-only cache path.
template <typename T, bool kVec, int kPacks, bool kCatchUp>
__global__ void normalizeRowsKernel(float* __restrict__ src, int64_t srcRows, const int32_t* __restrict__ idx,
                                    T* __restrict__ dst, float* __restrict__ norms, int64_t n, int64_t cols, int* err,
                                    DeviceCatchUp cu) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < n; k += warps) {
    const int64_t r = idx ? static_cast<int64_t>(idx[k]) : k;
    if (r < 0 || r >= srcRows) {
      if (lane == 0) reportError(err, kDevErrNormalizeIndex);
      continue;
    }
    float* v = src + r * cols;
    T* y = dst + k * cols;
    double m[4];
    bool idle = false;
    if (kCatchUp) {
      // Lane 0 reads and broadcasts, so no lane reads after lane 0's write below.
      int32_t seen = lane == 0 ? cu.lastStep[r] : 0;
      seen = __shfl_sync(0xffffffffu, seen, 0);
      if (seen > cu.step) {
        if (lane == 0) reportError(err, kDevErrSgdIndices);
        continue;
      }
      idle = seen < cu.step && !PFC_MUTANT(NoCatchUp);
      if (idle) sgdIdleMatrix(cu.powers, static_cast<int64_t>(cu.step) - seen, m);
    }
    float* vm = kCatchUp ? cu.momentum + r * cols : nullptr;
    float ss = 0.0f;
    if (kVec && kPacks > 0) {
      float4 x[kPacks > 0 ? kPacks : 1];
#pragma unroll
      for (int q = 0; q < kPacks; ++q) {
        const int64_t c = lane * 4 + 128 * q;
        x[q] = c < cols ? load4(v + c) : make_float4(0.f, 0.f, 0.f, 0.f);
      }
      if (kCatchUp && idle) {
        float4 mo[kPacks > 0 ? kPacks : 1];
#pragma unroll
        for (int q = 0; q < kPacks; ++q) {
          const int64_t c = lane * 4 + 128 * q;
          mo[q] = c < cols ? load4(vm + c) : make_float4(0.f, 0.f, 0.f, 0.f);
        }
#pragma unroll
        for (int q = 0; q < kPacks; ++q) {
          const int64_t c = lane * 4 + 128 * q;
          idleApply4(m, x[q], mo[q]);
          if (c < cols) store4<float>(v + c, x[q]), store4<float>(vm + c, mo[q]);
        }
      }
#pragma unroll
      for (int q = 0; q < kPacks; ++q) ss += x[q].x * x[q].x + x[q].y * x[q].y + x[q].z * x[q].z + x[q].w * x[q].w;
      ss = warpReduceSum(ss);
      const float norm = fmaxf(sqrtf(ss), kNormEps);
      const float inv = 1.0f / norm;
#pragma unroll
      for (int q = 0; q < kPacks; ++q) {
        const int64_t c = lane * 4 + 128 * q;
        if (c < cols) store4<T>(y + c, make_float4(x[q].x * inv, x[q].y * inv, x[q].z * inv, x[q].w * inv));
      }
      if (lane == 0) {
        norms[k] = norm;
        if (kCatchUp && idle) cu.lastStep[r] = cu.step;
      }
      continue;
    }
    // Long or unaligned rows: the catch-up in place first (each lane rereads only what it wrote).
    if (kCatchUp && idle) {
      if (kVec) {
        for (int64_t c = lane * 4; c < cols; c += 128) {
          float4 a = load4(v + c), b = load4(vm + c);
          idleApply4(m, a, b);
          store4<float>(v + c, a), store4<float>(vm + c, b);
        }
      } else {
        for (int64_t c = lane; c < cols; c += 32) idleApply(m, v[c], vm[c]);
      }
    }
    if (kVec) {
      for (int64_t c = lane * 4; c < cols; c += 128) {
        const float4 x = load4(v + c);
        ss += x.x * x.x + x.y * x.y + x.z * x.z + x.w * x.w;
      }
    } else {
      for (int64_t c = lane; c < cols; c += 32) ss += v[c] * v[c];
    }
    ss = warpReduceSum(ss);
    const float norm = fmaxf(sqrtf(ss), kNormEps);
    const float inv = 1.0f / norm;
    if (kVec) {
      for (int64_t c = lane * 4; c < cols; c += 128) {
        const float4 x = load4(v + c);
        store4<T>(y + c, make_float4(x.x * inv, x.y * inv, x.z * inv, x.w * inv));
      }
    } else {
      for (int64_t c = lane; c < cols; c += 32) y[c] = fromF<T>(v[c] * inv);
    }
    if (lane == 0) {
      norms[k] = norm;
      if (kCatchUp && idle) cu.lastStep[r] = cu.step;
    }
  }
}

__global__ void checkSortedUnique(const int32_t* __restrict__ idx, int64_t n, int64_t rows, int* err) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < n;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t r = idx[k];
    if (r < 0 || r >= rows || (k > 0 && r <= idx[k - 1])) reportError(err, kDevErrSgdIndices);
  }
}

template <typename T, bool kVec>
__global__ void normalizeRowsBackwardKernel(float* __restrict__ grad, const T* __restrict__ y,
                                            const float* __restrict__ norms, int64_t n, int64_t cols) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < n; k += warps) {
    float* g = grad + k * cols;
    const T* yk = y + k * cols;
    float dot = 0.0f;
    if (kVec) {
      for (int64_t c = lane * 4; c < cols; c += 128) {
        const float4 a = load4(yk + c), b = load4(g + c);
        dot += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
      }
    } else {
      for (int64_t c = lane; c < cols; c += 32) dot += toF(yk[c]) * g[c];
    }
    dot = warpReduceSum(dot);
    const float inv = 1.0f / norms[k];
    if (kVec) {
      for (int64_t c = lane * 4; c < cols; c += 128) {
        const float4 a = load4(yk + c), b = load4(g + c);
        *reinterpret_cast<float4*>(g + c) = make_float4((b.x - a.x * dot) * inv, (b.y - a.y * dot) * inv,
                                                        (b.z - a.z * dot) * inv, (b.w - a.w * dot) * inv);
      }
    } else {
      for (int64_t c = lane; c < cols; c += 32) g[c] = (g[c] - toF(yk[c]) * dot) * inv;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Launchers

static unsigned warpGrid(int64_t rows, int threads) {
  const int64_t perBlock = threads / 32;
  const int64_t cap = static_cast<int64_t>(cudaSmCount()) * 16;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(ceilDiv(rows, perBlock), cap)));
}

template <typename T, bool kCatchUp>
static void launchNormalize(const Tensor& src, const int32_t* idx, const Tensor& dst, const Tensor& norms, int64_t n,
                            const DeviceCatchUp& cu) {
  constexpr int kThreads = 256;
  const int64_t cols = src.cols;
  cudaStream_t s = cudaStream();
  int* err = deviceErrorWord();
  const bool vec = cols % 4 == 0 && aligned(src.raw(), 16) && aligned(dst.raw(), 4 * sizeof(T)) &&
                   (!kCatchUp || aligned(cu.momentum, 16));
  const unsigned grid = warpGrid(n, kThreads);
  float* in = src.data<float>();
  T* out = dst.data<T>();
  float* nr = norms.data<float>();
  if (vec && cols <= 512) {
    launchKernel(normalizeRowsKernel<T, true, 4, kCatchUp>, grid, kThreads, 0, s, in, src.rows, idx, out, nr, n, cols, err, cu);
  } else if (vec && cols <= 1024) {
    launchKernel(normalizeRowsKernel<T, true, 8, kCatchUp>, grid, kThreads, 0, s, in, src.rows, idx, out, nr, n, cols, err, cu);
  } else if (vec) {
    launchKernel(normalizeRowsKernel<T, true, 0, kCatchUp>, grid, kThreads, 0, s, in, src.rows, idx, out, nr, n, cols, err, cu);
  } else {
    launchKernel(normalizeRowsKernel<T, false, 0, kCatchUp>, grid, kThreads, 0, s, in, src.rows, idx, out, nr, n, cols, err, cu);
  }
  PFC_CUDA_LAUNCH_CHECK();
}

void normalizeRows(const Tensor& src, const Tensor* indices, const Tensor& dst, const Tensor& norms,
                   const RowCatchUp* catchUp) {
  const char* op = "normalizeRows (cuda)";
  requireDType(op, "src", src, DType::F32);
  requireCuda(op, "norms", norms);
  if (indices) requireCuda(op, "indices", *indices);
  const int64_t n = dst.rows;
  if (n == 0) return;
  const int32_t* idx = indices && indices->rows > 0 ? indices->data<int32_t>() : nullptr;
  DeviceCatchUp cu{};
  if (catchUp) {
    requireCuda(op, "momentum", *catchUp->momentum);
    requireCuda(op, "lastStep", *catchUp->lastStep);
    // Repeated rows would be caught up twice: the same check as the SGD's.
    constexpr int kThreads = 256;
    launchKernel(checkSortedUnique, gridFor(n, kThreads), kThreads, 0, cudaStream(), idx, n, src.rows, deviceErrorWord());
    PFC_CUDA_LAUNCH_CHECK();
    cu = DeviceCatchUp{catchUp->momentum->data<float>(), catchUp->lastStep->data<int32_t>(),
                       static_cast<int32_t>(catchUp->step), catchUp->powers};
  }
  PFC_CUDA_FLOAT_SWITCH(dst.dtype, "normalizeRows (cuda) dst", {
    if (catchUp) {
      launchNormalize<T, true>(src, idx, dst, norms, n, cu);
    } else {
      launchNormalize<T, false>(src, idx, dst, norms, n, cu);
    }
  });
}

void normalizeRowsBackward(const Tensor& grad, const Tensor& normalized, const Tensor& norms) {
  requireDType("normalizeRowsBackward (cuda)", "grad", grad, DType::F32);
  requireCuda("normalizeRowsBackward (cuda)", "normalized", normalized);
  requireCuda("normalizeRowsBackward (cuda)", "norms", norms);
  const int64_t n = grad.rows, cols = grad.cols;
  if (n == 0) return;
  constexpr int kThreads = 256;
  cudaStream_t s = cudaStream();
  PFC_CUDA_FLOAT_SWITCH(normalized.dtype, "normalizeRowsBackward (cuda) normalized", {
    const bool vec = cols % 4 == 0 && aligned(grad.raw(), 16) && aligned(normalized.raw(), 4 * sizeof(T));
    if (vec) {
      launchKernel(normalizeRowsBackwardKernel<T, true>, warpGrid(n, kThreads), kThreads, 0, s, 
          grad.data<float>(), normalized.data<T>(), norms.data<float>(), n, cols);
    } else {
      launchKernel(normalizeRowsBackwardKernel<T, false>, warpGrid(n, kThreads), kThreads, 0, s, 
          grad.data<float>(), normalized.data<T>(), norms.data<float>(), n, cols);
    }
  });
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
