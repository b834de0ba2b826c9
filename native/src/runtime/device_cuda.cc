// Built with the CUDA backend: probing the device (never throws; any CUDA error, such as
// "driver version is insufficient" on a machine without a GPU, means "no usable device" and
// says why), the cudaMalloc/cudaFree allocator installed on the first successful probe,
// device synchronization, and CUDA errors as PfcError.
#include <cuda_runtime_api.h>

#include <mutex>
#include <string>

#include "core/memory.h"
#include "runtime/cuda_context.h"
#include "runtime/device.h"

namespace pfc {

void throwCudaError(cudaError_t err, const char* expr, const char* file, int line) {
  const std::string name = cudaGetErrorName(err);
  const std::string text = cudaGetErrorString(err);
  cudaGetLastError();  // clear the (non-sticky) error state
  if (err == cudaErrorMemoryAllocation)
    throw PfcError(ErrorCode::OutOfMemory, "CUDA out of memory: " + text + " (" + expr + ")", file, line);
  throw PfcError(ErrorCode::Backend, "CUDA error " + name + ": " + text + " (" + expr + ")", file, line);
}

namespace {

std::mutex g_probeMutex;
bool g_probed = false;
CudaProbe g_probe;
bool g_allocatorInstalled = false;

void* cudaAlloc(int64_t bytes) {
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, static_cast<size_t>(bytes));
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t freeBytes = 0, totalBytes = 0;
    std::string state;
    if (cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess)
      state = " (" + std::to_string(freeBytes) + " bytes free of " + std::to_string(totalBytes) + ")";
    cudaGetLastError();
    PFC_THROW(OutOfMemory, "CUDA out of memory: cudaMalloc of " + std::to_string(bytes) + " bytes failed" + state);
  }
  if (err != cudaSuccess) throwCudaError(err, "cudaMalloc", __FILE__, __LINE__);
  return ptr;
}

void cudaRelease(void* ptr) {
  // Called from destructors: never throws. A failure here leaves the error for the next check.
  if (cudaFree(ptr) != cudaSuccess) cudaGetLastError();
}

CudaProbe runProbe() {
  CudaProbe p;
  cudaDriverGetVersion(&p.driverVersion);  // 0 when no driver is installed
  cudaRuntimeGetVersion(&p.runtimeVersion);
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    p.reason = std::string("no usable CUDA device: ") + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) +
               " from cudaGetDeviceCount)";
    cudaGetLastError();
    return p;
  }
  const int ordinal = cudaDeviceOrdinal();
  if (count == 0) {
    p.reason = "no usable CUDA device: the driver reports no device";
    return p;
  }
  if (ordinal >= count) {
    p.reason = "no usable CUDA device: device " + std::to_string(ordinal) + " was selected but only " +
               std::to_string(count) + " are visible";
    return p;
  }
  cudaDeviceProp prop;
  err = cudaGetDeviceProperties(&prop, ordinal);
  if (err != cudaSuccess) {
    p.reason = std::string("no usable CUDA device: ") + cudaGetErrorString(err) + " (" + cudaGetErrorName(err) +
               " from cudaGetDeviceProperties)";
    cudaGetLastError();
    return p;
  }
  p.name = prop.name;
  p.totalBytes = static_cast<int64_t>(prop.totalGlobalMem);
  p.smCount = prop.multiProcessorCount;
  if (prop.major < 8) {
    p.reason = "no usable CUDA device: " + p.name + " has compute capability " + std::to_string(prop.major) + "." +
               std::to_string(prop.minor) + "; this build targets sm_80 and newer";
    return p;
  }
  p.usable = true;
  return p;
}

}  // namespace

CudaProbe probeCuda() {
  std::lock_guard<std::mutex> lock(g_probeMutex);
  if (g_probed) return g_probe;
  try {
    g_probe = runProbe();
  } catch (const std::exception& e) {
    g_probe = CudaProbe{};
    g_probe.reason = std::string("no usable CUDA device: ") + e.what();
  } catch (...) {
    g_probe = CudaProbe{};
    g_probe.reason = "no usable CUDA device: the probe failed";
  }
  g_probed = true;
  if (g_probe.usable && !g_allocatorInstalled) {
    installDeviceAllocator(Device::Cuda, DeviceAllocator{cudaAlloc, cudaRelease});
    g_allocatorInstalled = true;
  }
  return g_probe;
}

void invalidateCudaProbe() {
  std::lock_guard<std::mutex> lock(g_probeMutex);
  g_probed = false;
}

void requireCudaUsable() {
  const CudaProbe p = probeCuda();
  if (!p.usable) PFC_THROW(Unavailable, p.reason);
}

void synchronizeDevice(Device device) {
  if (device == Device::Cpu) return;
  synchronizeCudaStream();
}

}  // namespace pfc
