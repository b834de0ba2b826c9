/*
SGD with momentum and weight decay on the device (ops/sgd.h), all fp32:
  v <- mu * v + (g + lambda * w);  w <- w - lr * v
  sgdUpdate, no indices: every row k has gradient row k (one elementwise grid-stride pass)
  sgdUpdate, sparse:     only the active rows indices[k] change, with gradient row k (one warp per row)
  sgdUpdate, dense:      every row changes; a row finds its gradient row by binary search in the
                         sorted indices (gradient 0 when it is not active); one warp per row
  sgdIdleRows:           dense's zero-gradient step on the rows NOT in the sorted indices (binary
                         search as sgdUpdate dense, active rows skipped); one warp per row
  sgdNormalizedUpdate:   sparse (or all rows), the gradient formed in registers from the gradient
                         w.r.t. the normalized centre: g = (dy - y (y . dy)) / norm; a warp per
                         row; lazy rule: lastStep[row] = step + 1
  sgdCatchUp:            lazy dense: (v, w) <- M^k (v, w) in float64, k = step - lastStep[row],
                         M^k from the host's table of M^(2^i); a warp per listed row (or every row)
Each element of w and v is read and written once; 128-bit accesses with two packs in flight per
lane when D % 4 == 0 and the rows are aligned. Unsorted, repeated or out-of-range indices (and
rows ahead of the catch-up's step) are reported through the device error word and skipped.
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

__device__ __forceinline__ void sgdPack(float4& w, float4& v, const float4& g, const SgdParams& p) {
  sgdElement(w.x, v.x, g.x, p);
  sgdElement(w.y, v.y, g.y, p);
  sgdElement(w.z, v.z, g.z, p);
  sgdElement(w.w, v.w, g.w, p);
}

__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void st4(float* p, float4 x) { *reinterpret_cast<float4*>(p) = x; }

// Walks one row of `cols` floats with the 32 lanes of a warp, 4 elements per pack: f(c, c2)
// gets two pack offsets (c2 < 0: only c) so that the loads of both are issued before either
// store. Requires cols % 4 == 0.
template <typename F>
__device__ __forceinline__ void warpRowPacks(int64_t cols, int lane, F f) {
  int64_t c = lane * 4;
  for (; c + 128 < cols; c += 256) f(c, c + 128);
  if (c < cols) f(c, static_cast<int64_t>(-1));
}

// One SGD row of `cols` elements by the 32 lanes of a warp, two packs in flight; the gradient of
// a pack at c is gradPack(c), of one element gradAt(c) (sgdRow's stored gradient, or the fused
// normalization backward's).
template <bool kVec, typename GradPack, typename GradAt>
__device__ __forceinline__ void sgdRowFrom(float* __restrict__ w, float* __restrict__ v, int64_t cols, int lane,
                                           const SgdParams& p, GradPack gradPack, GradAt gradAt) {
  if (kVec) {
    warpRowPacks(cols, lane, [&](int64_t c, int64_t c2) {
      float4 w0 = ld4(w + c), v0 = ld4(v + c);
      const float4 g0 = gradPack(c);
      if (c2 >= 0) {
        float4 w1 = ld4(w + c2), v1 = ld4(v + c2);
        const float4 g1 = gradPack(c2);
        sgdPack(w0, v0, g0, p);
        sgdPack(w1, v1, g1, p);
        st4(w + c, w0), st4(v + c, v0), st4(w + c2, w1), st4(v + c2, v1);
      } else {
        sgdPack(w0, v0, g0, p);
        st4(w + c, w0), st4(v + c, v0);
      }
    });
  } else {
    for (int64_t c = lane; c < cols; c += 32) sgdElement(w[c], v[c], gradAt(c), p);
  }
}

// One row of D elements by the 32 lanes of a warp; g may be null (gradient 0).
template <bool kVec>
__device__ __forceinline__ void sgdRow(float* __restrict__ w, float* __restrict__ v, const float* __restrict__ g,
                                       int64_t cols, int lane, const SgdParams& p) {
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  sgdRowFrom<kVec>(
      w, v, cols, lane, p, [&](int64_t c) { return g ? ld4(g + c) : zero; }, [&](int64_t c) { return g ? g[c] : 0.0f; });
}

template <bool kVec>
__global__ void sgdAllRowsKernel(float* __restrict__ w, float* __restrict__ v, const float* __restrict__ g, int64_t n,
                                 SgdParams p) {
  // Elementwise over the whole tensor; kVec: n % 4 == 0 and all three 16-byte aligned.
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (kVec) {
    const int64_t packs = n / 4;
    int64_t q = first;
    for (; q + stride < packs; q += 2 * stride) {  // two packs in flight
      float4 w0 = ld4(w + 4 * q), v0 = ld4(v + 4 * q), w1 = ld4(w + 4 * (q + stride)), v1 = ld4(v + 4 * (q + stride));
      const float4 g0 = ld4(g + 4 * q), g1 = ld4(g + 4 * (q + stride));
      sgdPack(w0, v0, g0, p);
      sgdPack(w1, v1, g1, p);
      st4(w + 4 * q, w0), st4(v + 4 * q, v0), st4(w + 4 * (q + stride), w1), st4(v + 4 * (q + stride), v1);
    }
    if (q < packs) {
      float4 w0 = ld4(w + 4 * q), v0 = ld4(v + 4 * q);
      sgdPack(w0, v0, ld4(g + 4 * q), p);
      st4(w + 4 * q, w0), st4(v + 4 * q, v0);
    }
  } else {
    for (int64_t e = first; e < n; e += stride) sgdElement(w[e], v[e], g[e], p);
  }
}

__global__ void checkIndicesKernel(const int32_t* __restrict__ idx, int64_t active, int64_t rows, int* err) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < active;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t r = idx[k];
    if (r < 0 || r >= rows || (k > 0 && r <= idx[k - 1])) reportError(err, kDevErrSgdIndices);
  }
}

template <bool kVec>
__global__ void sgdSparseKernel(float* __restrict__ w, float* __restrict__ v, const float* __restrict__ g,
                                const int32_t* __restrict__ idx, int64_t active, int64_t rows, int64_t cols,
                                SgdParams p) {
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
__global__ void sgdDenseKernel(float* __restrict__ w, float* __restrict__ v, const float* __restrict__ g,
                               const int32_t* __restrict__ idx, int64_t active, int64_t rows, int64_t cols,
                               SgdParams p) {
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
    if (!gr && PFC_MUTANT(NoIdleDecay)) continue;
    sgdRow<kVec>(w + r * cols, v + r * cols, gr, cols, lane, p);
  }
}

template <bool kVec>
__global__ void sgdIdleRowsKernel(float* __restrict__ w, float* __restrict__ v, const int32_t* __restrict__ idx,
                                  int64_t active, int64_t rows, int64_t cols, SgdParams p) {
  if (PFC_MUTANT(NoIdleDecay)) return;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t r = warp; r < rows; r += warps) {
    int64_t lo = 0, hi = active;  // lower_bound(idx, r), the same in every lane
    while (lo < hi) {
      const int64_t mid = (lo + hi) >> 1;
      if (idx[mid] < r) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < active && idx[lo] == r) continue;  // active: updated with its gradient elsewhere
    sgdRow<kVec>(w + r * cols, v + r * cols, nullptr, cols, lane, p);
  }
}

// kVec: cols % 4 == 0, w, v, dy 16-byte aligned rows and y 4-element aligned rows.
template <typename T, bool kVec>
__global__ void sgdNormalizedKernel(float* __restrict__ w, float* __restrict__ v, const float* __restrict__ dy,
                                    const T* __restrict__ y, const float* __restrict__ norms,
                                    const int32_t* __restrict__ idx, int64_t active, int64_t rows, int64_t cols,
                                    SgdParams p, int32_t* __restrict__ last, int32_t next) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < active; k += warps) {
    const int64_t r = idx ? static_cast<int64_t>(idx[k]) : k;
    if (r < 0 || r >= rows) continue;  // reported by checkIndicesKernel
    const float* dyk = dy + k * cols;
    const T* yk = y + k * cols;
    float* wr = w + r * cols;
    float* vr = v + r * cols;
    float dot = 0.0f;
    if (kVec) {
      warpRowPacks(cols, lane, [&](int64_t c, int64_t c2) {
        const float4 a0 = load4(yk + c), b0 = ld4(dyk + c);
        float s = a0.x * b0.x + a0.y * b0.y + a0.z * b0.z + a0.w * b0.w;
        if (c2 >= 0) {
          const float4 a1 = load4(yk + c2), b1 = ld4(dyk + c2);
          s += a1.x * b1.x + a1.y * b1.y + a1.z * b1.z + a1.w * b1.w;
        }
        dot += s;
      });
    } else {
      for (int64_t c = lane; c < cols; c += 32) dot += toF(yk[c]) * dyk[c];
    }
    dot = warpReduceSum(dot);
    const float inv = 1.0f / norms[k];
    // The centres' normalization backward, fused: (dy - y (y . dy)) / |w| per element.
    sgdRowFrom<kVec>(
        wr, vr, cols, lane, p,
        [&](int64_t c) {
          const float4 a = load4(yk + c), b = ld4(dyk + c);
          return make_float4((b.x - a.x * dot) * inv, (b.y - a.y * dot) * inv, (b.z - a.z * dot) * inv,
                             (b.w - a.w * dot) * inv);
        },
        [&](int64_t c) { return (dyk[c] - toF(yk[c]) * dot) * inv; });
    if (last && lane == 0) last[r] = next;
  }
}

// kVec: cols % 4 == 0 and w, v rows 16-byte aligned.
template <bool kVec>
__global__ void sgdCatchUpKernel(float* __restrict__ w, float* __restrict__ v, int32_t* __restrict__ last,
                                 const int32_t* __restrict__ idx, int64_t n, int64_t rows, int64_t cols, int32_t step,
                                 SgdIdlePowers powers, int* err) {
  if (PFC_MUTANT(NoCatchUp)) return;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k < n; k += warps) {
    const int64_t r = idx ? static_cast<int64_t>(idx[k]) : k;
    if (r < 0 || r >= rows) {
      if (lane == 0) reportError(err, kDevErrSgdIndices);
      continue;
    }
    // Lane 0 reads and broadcasts, so no lane can read after lane 0's write below.
    int32_t seen = lane == 0 ? last[r] : 0;
    seen = __shfl_sync(0xffffffffu, seen, 0);
    const int64_t idle = static_cast<int64_t>(step) - seen;
    if (idle < 0) {
      if (lane == 0) reportError(err, kDevErrSgdIndices);
      continue;
    }
    if (idle == 0) continue;
    double m[4];
    sgdIdleMatrix(powers, idle, m);
    float* wr = w + r * cols;
    float* vr = v + r * cols;
    auto apply = [&](float& wc, float& vc) {
      const double vd = vc, wd = wc;
      vc = static_cast<float>(m[0] * vd + m[1] * wd);
      wc = static_cast<float>(m[2] * vd + m[3] * wd);
    };
    if (kVec) {
      warpRowPacks(cols, lane, [&](int64_t c, int64_t c2) {
        float4 w0 = ld4(wr + c), v0 = ld4(vr + c);
        float4 w1 = w0, v1 = v0;
        if (c2 >= 0) w1 = ld4(wr + c2), v1 = ld4(vr + c2);
        apply(w0.x, v0.x), apply(w0.y, v0.y), apply(w0.z, v0.z), apply(w0.w, v0.w);
        st4(wr + c, w0), st4(vr + c, v0);
        if (c2 >= 0) {
          apply(w1.x, v1.x), apply(w1.y, v1.y), apply(w1.z, v1.z), apply(w1.w, v1.w);
          st4(wr + c2, w1), st4(vr + c2, v1);
        }
      });
    } else {
      for (int64_t c = lane; c < cols; c += 32) apply(wr[c], vr[c]);
    }
    if (lane == 0) last[r] = step;
  }
}

// ------------------------------------------------------------------------------------------------
// Launchers

static void checkIndices(const int32_t* idx, int64_t active, int64_t rows) {
  if (active == 0) return;
  constexpr int kThreads = 256;
  launchKernel(checkIndicesKernel, gridFor(active, kThreads), kThreads, 0, cudaStream(), idx, active, rows, deviceErrorWord());
  PFC_CUDA_LAUNCH_CHECK();
}

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
      launchKernel(sgdAllRowsKernel<true>, gridFor(n / 4, kThreads), kThreads, 0, s, w, v, g, n, p);
    } else {
      launchKernel(sgdAllRowsKernel<false>, gridFor(n, kThreads), kThreads, 0, s, w, v, g, n, p);
    }
    PFC_CUDA_LAUNCH_CHECK();
    return;
  }

  requireCuda(op, "indices", *indices);
  const int32_t* idx = indices->data<int32_t>();
  checkIndices(idx, active, rows);
  const int64_t work = p.dense ? rows : active;  // rows handled, one warp each
  if (work == 0 || cols == 0) return;
  const unsigned blocks = gridFor(work * 32, kThreads);
  if (p.dense) {
    if (rowsVec) {
      launchKernel(sgdDenseKernel<true>, blocks, kThreads, 0, s, w, v, g, idx, active, rows, cols, p);
    } else {
      launchKernel(sgdDenseKernel<false>, blocks, kThreads, 0, s, w, v, g, idx, active, rows, cols, p);
    }
  } else {
    if (rowsVec) {
      launchKernel(sgdSparseKernel<true>, blocks, kThreads, 0, s, w, v, g, idx, active, rows, cols, p);
    } else {
      launchKernel(sgdSparseKernel<false>, blocks, kThreads, 0, s, w, v, g, idx, active, rows, cols, p);
    }
  }
  PFC_CUDA_LAUNCH_CHECK();
}

void sgdNormalizedUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& gradNormalized,
                         const Tensor& normalized, const Tensor& norms, const Tensor* indices, const SgdParams& p,
                         const Tensor* lastStep, int64_t step) {
  const char* op = "sgdNormalizedUpdate (cuda)";
  requireDType(op, "weights", weights, DType::F32);
  requireDType(op, "momentum", momentum, DType::F32);
  for (const Tensor* t : {&momentum, &gradNormalized, &normalized, &norms}) requireCuda(op, "tensor", *t);
  if (indices) requireCuda(op, "indices", *indices);
  if (lastStep) requireCuda(op, "lastStep", *lastStep);
  const int64_t rows = weights.rows, cols = weights.cols, active = gradNormalized.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const float* dy = gradNormalized.data<float>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  int32_t* last = lastStep ? lastStep->data<int32_t>() : nullptr;
  if (idx) checkIndices(idx, active, rows);
  if (active == 0 || cols == 0) return;
  constexpr int kThreads = 256;
  const unsigned blocks = gridFor(active * 32, kThreads);
  cudaStream_t s = cudaStream();
  const int32_t next = static_cast<int32_t>(step + 1);
  PFC_CUDA_FLOAT_SWITCH(normalized.dtype, "sgdNormalizedUpdate (cuda) normalized", {
    const bool vec = cols % 4 == 0 && aligned(w, 16) && aligned(v, 16) && aligned(dy, 16) &&
                     aligned(normalized.raw(), 4 * sizeof(T));
    if (vec) {
      launchKernel(sgdNormalizedKernel<T, true>, blocks, kThreads, 0, s, w, v, dy, normalized.data<T>(), norms.data<float>(),
                                                                idx, active, rows, cols, p, last, next);
    } else {
      launchKernel(sgdNormalizedKernel<T, false>, blocks, kThreads, 0, s, w, v, dy, normalized.data<T>(), norms.data<float>(),
                                                                 idx, active, rows, cols, p, last, next);
    }
  });
  PFC_CUDA_LAUNCH_CHECK();
}

void sgdIdleRows(const Tensor& weights, const Tensor& momentum, const Tensor& activeIndices, const SgdParams& p) {
  const char* op = "sgdIdleRows (cuda)";
  requireCuda(op, "activeIndices", activeIndices);
  const int64_t rows = weights.rows, cols = weights.cols, active = activeIndices.rows;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const int32_t* idx = activeIndices.data<int32_t>();
  checkIndices(idx, active, rows);
  if (rows == 0 || cols == 0) return;
  constexpr int kThreads = 256;
  const unsigned blocks = gridFor(rows * 32, kThreads);
  cudaStream_t s = cudaStream();
  if (cols % 4 == 0 && aligned(w, 16) && aligned(v, 16)) {
    launchKernel(sgdIdleRowsKernel<true>, blocks, kThreads, 0, s, w, v, idx, active, rows, cols, p);
  } else {
    launchKernel(sgdIdleRowsKernel<false>, blocks, kThreads, 0, s, w, v, idx, active, rows, cols, p);
  }
  PFC_CUDA_LAUNCH_CHECK();
}

void sgdCatchUp(const Tensor& weights, const Tensor& momentum, const Tensor& lastStep, const Tensor* indices,
                int64_t step, const SgdIdlePowers& powers) {
  const char* op = "sgdCatchUp (cuda)";
  requireCuda(op, "momentum", momentum);
  requireCuda(op, "lastStep", lastStep);
  if (indices) requireCuda(op, "indices", *indices);
  const int64_t rows = weights.rows, cols = weights.cols;
  const int64_t n = indices ? indices->rows : rows;
  if (n == 0 || cols == 0) return;
  float* w = weights.data<float>();
  float* v = momentum.data<float>();
  const int32_t* idx = indices ? indices->data<int32_t>() : nullptr;
  if (idx) checkIndices(idx, n, rows);  // a repeated row would be caught up twice
  constexpr int kThreads = 256;
  const unsigned blocks = gridFor(n * 32, kThreads);
  cudaStream_t s = cudaStream();
  int* err = deviceErrorWord();
  const int32_t to = static_cast<int32_t>(step);
  if (cols % 4 == 0 && aligned(w, 16) && aligned(v, 16)) {
    launchKernel(sgdCatchUpKernel<true>, blocks, kThreads, 0, s, w, v, lastStep.data<int32_t>(), idx, n, rows, cols, to, powers,
                                                       err);
  } else {
    launchKernel(sgdCatchUpKernel<false>, blocks, kThreads, 0, s, w, v, lastStep.data<int32_t>(), idx, n, rows, cols, to,
                                                        powers, err);
  }
  PFC_CUDA_LAUNCH_CHECK();
}

}  // namespace pfc::cuda
