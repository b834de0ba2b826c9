// The simulated device's execution layer: runs a CUDA kernel's source, compiled by the host
// compiler, on the calling CPU thread. Blocks run one after another; the threads of a block run
// as fibers that switch only at __syncthreads and warp shuffles, so a block-wide barrier, a
// butterfly over a warp and a per-block `__shared__` array (a function-local static: blocks never
// overlap) behave as on the device, deterministically. Atomics are plain read-modify-writes
// (one fiber runs at a time). What the device would reject (a block over 1024 threads, a grid
// past its limits, a barrier some threads of the block never reach, a shuffle whose lanes
// diverge) fails the launch with the reason, as cudaGetLastError would report it.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>

#include "sim/vector_types.h"

// The built-in variables of the running fiber (set by the scheduler before each resume).
extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
constexpr int warpSize = 32;

namespace pfc::sim {

// Runs `body` once per thread of every block of the grid. Returns "" or why the launch failed
// (invalid configuration, a barrier or shuffle that could not complete).
std::string runGrid(dim3 grid, dim3 block, size_t dynamicShared, const std::function<void()>& body);

// Block-wide barrier of the running fiber.
void syncThreads();
// Exchanges 8 bytes with the lanes of this warp: writes `mine`, waits for every live lane named
// in `mask`, returns lane `src`'s value.
uint64_t warpExchange(unsigned mask, uint64_t mine, int src);
// Lane of the running fiber in its warp.
int laneId();
// Records a fault of the running kernel (reported when the launch ends).
void fault(const std::string& what);

// Kernel launches seen by this process (for tests: the sim really ran the kernels).
int64_t launchCount();

template <typename T>
inline uint64_t toBits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a type over 8 bytes");
  uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  return u;
}
template <typename T>
inline T fromBits(uint64_t u) {
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}

}  // namespace pfc::sim

inline void __syncthreads() { pfc::sim::syncThreads(); }

template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
  const int lane = pfc::sim::laneId();
  const int src = (lane & ~(width - 1)) | ((lane ^ laneMask) & (width - 1));
  return pfc::sim::fromBits<T>(pfc::sim::warpExchange(mask, pfc::sim::toBits(v), src));
}
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int srcLane, int width = 32) {
  const int lane = pfc::sim::laneId();
  const int src = (lane & ~(width - 1)) | (srcLane & (width - 1));
  return pfc::sim::fromBits<T>(pfc::sim::warpExchange(mask, pfc::sim::toBits(v), src));
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = pfc::sim::laneId();
  const int inWidth = lane & (width - 1);
  const int src = inWidth + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return pfc::sim::fromBits<T>(pfc::sim::warpExchange(mask, pfc::sim::toBits(v), src));
}

// Atomics: one fiber runs at a time, so a plain read-modify-write is atomic.
template <typename T>
inline T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <typename T>
inline T atomicMax(T* address, T value) {
  const T old = *address;
  if (value > old) *address = value;
  return old;
}
template <typename T>
inline T atomicCAS(T* address, T compare, T value) {
  const T old = *address;
  if (old == compare) *address = value;
  return old;
}
template <typename T>
inline T atomicExch(T* address, T value) {
  const T old = *address;
  *address = value;
  return old;
}
inline void __threadfence() {}

template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = pfc::sim::laneId();
  const int inWidth = lane & (width - 1);
  const int src = inWidth >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : lane;
  return pfc::sim::fromBits<T>(pfc::sim::warpExchange(mask, pfc::sim::toBits(v), src));
}
