// Shared pieces of the CUDA kernels: fp32 <-> storage conversions (fp32, bf16, fp16 storage
// with fp32 math), 128-bit packed loads and stores (llm.c's Packed128), warp and block
// reductions, the row-chunk walker used by the long-row kernels (scalar head up to 16-byte
// alignment, 128-bit body, scalar tail), launch planning, and the device error report.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/tensor.h"
#include "runtime/cuda_context.h"

// A fault injected by the mutation test on the simulated device (sim/mutants.h); always false
// for nvcc, so GPU builds carry none.
#if defined(__CUDACC__)
#define PFC_MUTANT(name) false
#else
#include "sim/mutants.h"
#define PFC_MUTANT(name) (::pfc::sim::mutant(::pfc::sim::Mutant::name))
#endif

namespace pfc::cuda_detail {

// ----------------------------------------------------------------------------------------------
// Conversions: math is fp32, storage may be narrower.

__device__ __forceinline__ float toF(float x) { return x; }
__device__ __forceinline__ float toF(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float toF(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T fromF(float x);
template <>
__device__ __forceinline__ float fromF<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 fromF<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __forceinline__ __half fromF<__half>(float x) { return __float2half_rn(x); }

// The value the storage type will hold for x (identity for fp32).
template <typename T>
__device__ __forceinline__ float roundTo(float x) { return toF(fromF<T>(x)); }

// ----------------------------------------------------------------------------------------------
// 128-bit packs.

template <typename T>
struct alignas(16) Packed128 {
  static constexpr int kSize = static_cast<int>(16 / sizeof(T));
  T payload[kSize];
  __device__ __forceinline__ static Packed128 load(const T* p) {
    Packed128 out;
    *reinterpret_cast<int4*>(out.payload) = *reinterpret_cast<const int4*>(p);
    return out;
  }
  __device__ __forceinline__ void store(T* p) const {
    *reinterpret_cast<int4*>(p) = *reinterpret_cast<const int4*>(payload);
  }
  __device__ __forceinline__ T& operator[](int i) { return payload[i]; }
  __device__ __forceinline__ const T& operator[](int i) const { return payload[i]; }
};

// Four consecutive elements as fp32 (4-element aligned); fp32 rows use one 128-bit access.
template <typename T>
__device__ __forceinline__ void store4(T* p, float4 v) {
  p[0] = fromF<T>(v.x);
  p[1] = fromF<T>(v.y);
  p[2] = fromF<T>(v.z);
  p[3] = fromF<T>(v.w);
}
template <>
__device__ __forceinline__ void store4<float>(float* p, float4 v) {
  *reinterpret_cast<float4*>(p) = v;
}
template <>
__device__ __forceinline__ void store4<__nv_bfloat16>(__nv_bfloat16* p, float4 v) {
  __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
  int2 packed;
  packed.x = *reinterpret_cast<int*>(&lo);
  packed.y = *reinterpret_cast<int*>(&hi);
  *reinterpret_cast<int2*>(p) = packed;
}
template <>
__device__ __forceinline__ void store4<__half>(__half* p, float4 v) {
  __half2 lo = __floats2half2_rn(v.x, v.y), hi = __floats2half2_rn(v.z, v.w);
  int2 packed;
  packed.x = *reinterpret_cast<int*>(&lo);
  packed.y = *reinterpret_cast<int*>(&hi);
  *reinterpret_cast<int2*>(p) = packed;
}

template <typename T>
__device__ __forceinline__ float4 load4(const T* p) {
  return make_float4(toF(p[0]), toF(p[1]), toF(p[2]), toF(p[3]));
}
template <>
__device__ __forceinline__ float4 load4<float>(const float* p) {
  return *reinterpret_cast<const float4*>(p);
}
template <>
__device__ __forceinline__ float4 load4<__nv_bfloat16>(const __nv_bfloat16* p) {
  const int2 raw = *reinterpret_cast<const int2*>(p);
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}
template <>
__device__ __forceinline__ float4 load4<__half>(const __half* p) {
  const int2 raw = *reinterpret_cast<const int2*>(p);
  const float2 lo = __half22float2(*reinterpret_cast<const __half2*>(&raw.x));
  const float2 hi = __half22float2(*reinterpret_cast<const __half2*>(&raw.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}

// ----------------------------------------------------------------------------------------------
// Reductions.

__device__ __forceinline__ float warpReduceSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warpReduceSum(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpReduceMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide reductions (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. Safe to call repeatedly (the leading barrier protects the shared slots).
__device__ __forceinline__ float blockReduceSum(float v) {
  __shared__ float shared[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpReduceSum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : 0.0f;
  return warpReduceSum(v);
}
__device__ __forceinline__ double blockReduceSumD(double v) {
  __shared__ double shared[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpReduceSum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : 0.0;
  return warpReduceSum(v);
}
__device__ __forceinline__ float blockReduceMax(float v) {
  __shared__ float shared[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warpReduceMax(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : -INFINITY;
  return warpReduceMax(v);
}

// ----------------------------------------------------------------------------------------------
// In-place walk over row[c0, c1) by `count` cooperating threads (this one is `id`):
// y = f(j, x) for every element j, stored back in T. Elements are visited once; the body uses
// 128-bit loads and stores.
template <typename T, typename F>
__device__ __forceinline__ void rowChunkApply(T* row, int64_t c0, int64_t c1, int id, int count, F f) {
  constexpr int V = Packed128<T>::kSize;
  if (c1 <= c0) return;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(row + c0);
  const int64_t misaligned = static_cast<int64_t>((addr & 15u) / sizeof(T));
  int64_t a0 = c0 + (misaligned ? (V - misaligned) : 0);
  if ((addr % sizeof(T)) != 0) a0 = c1;  // not even element-aligned: scalar only
  if (a0 > c1) a0 = c1;
  for (int64_t j = c0 + id; j < a0; j += count) row[j] = fromF<T>(f(j, toF(row[j])));
  const int64_t packs = (c1 - a0) / V;
  for (int64_t q = id; q < packs; q += count) {
    const int64_t j0 = a0 + q * V;
    Packed128<T> pk = Packed128<T>::load(row + j0);
#pragma unroll
    for (int e = 0; e < V; ++e) pk[e] = fromF<T>(f(j0 + e, toF(pk[e])));
    pk.store(row + j0);
  }
  for (int64_t j = a0 + packs * V + id; j < c1; j += count) row[j] = fromF<T>(f(j, toF(row[j])));
}

// Read-only twin of rowChunkApply: f(j, x) for every element j of row[c0, c1), once each.
template <typename T, typename F>
__device__ __forceinline__ void rowChunkVisit(const T* row, int64_t c0, int64_t c1, int id, int count, F f) {
  constexpr int V = Packed128<T>::kSize;
  if (c1 <= c0) return;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(row + c0);
  const int64_t misaligned = static_cast<int64_t>((addr & 15u) / sizeof(T));
  int64_t a0 = c0 + (misaligned ? (V - misaligned) : 0);
  if ((addr % sizeof(T)) != 0) a0 = c1;
  if (a0 > c1) a0 = c1;
  for (int64_t j = c0 + id; j < a0; j += count) f(j, toF(row[j]));
  const int64_t packs = (c1 - a0) / V;
  for (int64_t q = id; q < packs; q += count) {
    const int64_t j0 = a0 + q * V;
    const Packed128<T> pk = Packed128<T>::load(row + j0);
#pragma unroll
    for (int e = 0; e < V; ++e) f(j0 + e, toF(pk[e]));
  }
  for (int64_t j = a0 + packs * V + id; j < c1; j += count) f(j, toF(row[j]));
}

// ----------------------------------------------------------------------------------------------
// Device error report (see runtime/cuda_context.h): first code wins, later ones are dropped.
__device__ __forceinline__ void reportError(int* word, int code) {
  volatile int* w = word;
  if (*w == 0) *w = code;
}

// ----------------------------------------------------------------------------------------------
// Host side.

// Every kernel launch of the .cu files: <<<>>> for nvcc; for the host compiler (the simulated
// device, sim/exec.h) the grid runs now, each thread calling the kernel with its own copy of the
// arguments converted to the kernel's parameter types, as the launch would pass them. A launch
// the device would refuse, or a kernel fault the simulator finds, is left for
// PFC_CUDA_LAUNCH_CHECK (cudaGetLastError) at the call site.
template <typename... P, typename... A>
inline void launchKernel(void (*kernel)(P...), dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
                         A&&... args) {
#if defined(__CUDACC__)
  kernel<<<grid, block, sharedBytes, stream>>>(std::forward<A>(args)...);
#else
  (void)stream;
  static_assert(sizeof...(P) == sizeof...(A), "launchKernel: argument count differs from the kernel's");
  const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
  const std::string fault = sim::runGrid(grid, block, sharedBytes, [&] {
    std::tuple<std::decay_t<P>...> mine = params;  // by-value parameters: each thread its own copy
    std::apply(kernel, mine);
  });
  if (!fault.empty()) sim::setLaunchError(fault.rfind("invalid configuration", 0) == 0 ? cudaErrorInvalidConfiguration : cudaErrorLaunchFailure, fault);
#endif
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Grid for elementwise grid-stride kernels: enough blocks to fill the device a few times.
inline unsigned gridFor(int64_t work, int threads) {
  const int64_t cap = static_cast<int64_t>(cudaSmCount()) * 32;
  int64_t blocks = ceilDiv(work, threads);
  if (blocks > cap) blocks = cap;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks);
}

// Launch plan of a kernel that walks rows split in `splits` chunks: block (x, y) handles
// chunk x of rows y, y + gridDim.y, ... One block per row when there are enough rows to fill
// the device; long rows of a small batch are split so every SM has work.
struct RowPlan {
  dim3 grid;
  int threads = 256;
  int64_t chunk = 0;
  int splits = 1;
};

inline RowPlan planRows(int64_t rows, int64_t cols, int elemBytes) {
  RowPlan plan;
  plan.threads = cols >= 8192 ? 512 : cols >= 2048 ? 256 : cols >= 256 ? 128 : 64;
  const int64_t vec = 16 / elemBytes;
  const int64_t wantBlocks = static_cast<int64_t>(cudaSmCount()) * (2048 / plan.threads);
  int64_t splits = 1;
  if (rows < wantBlocks && cols > 0) {
    const int64_t minChunk = static_cast<int64_t>(plan.threads) * vec * 4;  // >= 4 packs per thread
    splits = std::min<int64_t>(ceilDiv(wantBlocks, std::max<int64_t>(rows, 1)), std::max<int64_t>(1, cols / minChunk));
    splits = std::max<int64_t>(1, std::min<int64_t>(splits, 1024));
  }
  int64_t chunk = ceilDiv(std::max<int64_t>(cols, 1), splits);
  chunk = ceilDiv(chunk, 64) * 64;  // chunk starts keep the row's alignment phase
  splits = ceilDiv(std::max<int64_t>(cols, 1), chunk);
  plan.chunk = chunk;
  plan.splits = static_cast<int>(splits);
  plan.grid = dim3(static_cast<unsigned>(splits), static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(rows, 1), 65535)));
  return plan;
}

inline bool aligned(const void* p, int bytes) { return (reinterpret_cast<uintptr_t>(p) % bytes) == 0; }

// The dispatcher picks the CUDA kernel from an op's first tensor and checks only some of the
// others; a host pointer that reaches a kernel is an illegal address, which poisons the CUDA
// context for the rest of the process. So each launcher checks every tensor it passes on.
inline void requireCuda(const char* op, const char* arg, const Tensor& t) {
  if (t.device() != Device::Cuda)
    PFC_THROW(Invalid, std::string(op) + ": " + arg + " must be a CUDA tensor like the others, got " + t.describe());
}

}  // namespace pfc::cuda_detail

// Runs the body with T = float / __nv_bfloat16 / __half for a floating dtype, or throws.
#define PFC_CUDA_FLOAT_SWITCH(dtype, opName, ...)                                                   \
  do {                                                                                             \
    switch (dtype) {                                                                               \
      case ::pfc::DType::F32: {                                                                    \
        using T = float;                                                                           \
        __VA_ARGS__;                                                                               \
        break;                                                                                     \
      }                                                                                            \
      case ::pfc::DType::BF16: {                                                                   \
        using T = __nv_bfloat16;                                                                   \
        __VA_ARGS__;                                                                               \
        break;                                                                                     \
      }                                                                                            \
      case ::pfc::DType::F16: {                                                                    \
        using T = __half;                                                                          \
        __VA_ARGS__;                                                                               \
        break;                                                                                     \
      }                                                                                            \
      default:                                                                                     \
        PFC_THROW(Invalid, std::string(opName) + ": expected fp32, bf16 or fp16, got " + dtypeName(dtype)); \
    }                                                                                              \
  } while (0)
