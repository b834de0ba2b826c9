// The simulated device's runtime API (sim/cuda_sim.h): device memory is host memory (256-byte
// aligned, as cudaMalloc's), copies and memsets run at once (the one stream is synchronous),
// events read the host clock (their times say nothing about a GPU), and the device is one
// "GPU" with the host's memory as its capacity and, for launch planning, an H100/H200's 132
// multiprocessors unless PFC_SIM_SM_COUNT says otherwise.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "sim/cuda_sim.h"

namespace pfc::sim {
namespace {

std::mutex g_mutex;
cudaError_t g_lastError = cudaSuccess;
std::string g_lastFault;
std::map<void*, size_t> g_allocations;
size_t g_allocated = 0;

struct Event {
  double ms = 0;
  bool recorded = false;
};

size_t hostMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(size) : size_t(1) << 34;
}

cudaError_t fail(cudaError_t err) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_lastError = err;
  return err;
}

}  // namespace

void setLaunchError(cudaError_t err, const std::string& why) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_lastError = err;
  g_lastFault = why;
}

std::string lastLaunchFault() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_lastFault;
}

int smCount() {
  static const int count = [] {
    const char* v = std::getenv("PFC_SIM_SM_COUNT");
    const int n = v ? std::atoi(v) : 0;
    return n > 0 && n <= 1024 ? n : 132;
  }();
  return count;
}

}  // namespace pfc::sim

using namespace pfc::sim;

cudaError_t cudaGetLastError() {
  std::lock_guard<std::mutex> lock(g_mutex);
  const cudaError_t err = g_lastError;
  g_lastError = cudaSuccess;
  return err;
}
cudaError_t cudaPeekAtLastError() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_lastError;
}

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotReady: return "cudaErrorNotReady";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  // A failed launch carries the simulator's reason (kept until the next failure).
  static thread_local std::string text;
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorInvalidConfiguration:
    case cudaErrorLaunchFailure:
      text = std::string(err == cudaErrorLaunchFailure ? "unspecified launch failure" : "invalid configuration argument") +
             " (simulated device: " + lastLaunchFault() + ")";
      return text.c_str();
  }
  return "unknown error";
}

cudaError_t cudaDriverGetVersion(int* v) {
  *v = 0;  // no driver: the device is simulated
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::strncpy(prop->name, "cuda-sim (CUDA kernels on the host CPU; timings mean nothing)", sizeof(prop->name) - 1);
  prop->totalGlobalMem = hostMemoryBytes();
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = smCount();
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  if (attr != cudaDevAttrMultiProcessorCount) return fail(cudaErrorInvalidValue);
  *value = smCount();
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_allocated + bytes > hostMemoryBytes()) {
      g_lastError = cudaErrorMemoryAllocation;
      return cudaErrorMemoryAllocation;
    }
  }
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (!p) return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_allocations[p] = bytes;
  g_allocated += bytes;
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_allocations.find(ptr);
    if (it == g_allocations.end()) {
      g_lastError = cudaErrorInvalidValue;
      return cudaErrorInvalidValue;
    }
    g_allocated -= it->second;
    g_allocations.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  *ptr = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaHostGetDevicePointer(void** device, void* host, unsigned) {
  *device = host;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* freeBytes, size_t* totalBytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  *totalBytes = hostMemoryBytes();
  *freeBytes = *totalBytes - g_allocated;
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (bytes) std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) { return cudaMemset(dst, value, bytes); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static int token;  // one synchronous stream; any non-null handle will do
  *s = reinterpret_cast<cudaStream_t>(&token);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }  // synchronous: always done
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(new Event());
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<Event*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  Event* ev = reinterpret_cast<Event*>(e);
  ev->ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  ev->recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  const Event* a = reinterpret_cast<Event*>(start);
  const Event* b = reinterpret_cast<Event*>(end);
  if (!a->recorded || !b->recorded) return fail(cudaErrorInvalidResourceHandle);
  *ms = static_cast<float>(b->ms - a->ms);
  return cudaSuccess;
}

#include <cstdio>

#include "sim/mutants.h"

namespace pfc::sim {

Mutant activeMutant() {
  static const Mutant chosen = [] {
    const char* v = std::getenv("PFC_SIM_MUTANT");
    if (!v || !*v) return Mutant::None;
    const std::pair<const char*, Mutant> names[] = {
        {"no-idle-decay", Mutant::NoIdleDecay},     {"tile-offset-by-one", Mutant::TileOffsetByOne},
        {"sum-for-max", Mutant::SumForMax},         {"last-chunk-dropped", Mutant::LastChunkDropped},
        {"no-catch-up", Mutant::NoCatchUp},         {"transposed-gemm", Mutant::TransposedGemm},
        {"merge-drops-chunk", Mutant::MergeDropsChunk},     {"missing-barrier", Mutant::MissingBarrier},
        {"lane-exits", Mutant::LaneExits},
    };
    for (const auto& [name, m] : names)
      if (std::strcmp(v, name) == 0) return m;
    std::fprintf(stderr, "PFC_SIM_MUTANT: unknown fault '%s'; none injected\n", v);
    return Mutant::None;
  }();
  return chosen;
}

}  // namespace pfc::sim
