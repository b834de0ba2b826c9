// The process-wide CUDA context of the core (CUDA builds only): the one stream every kernel,
// copy, cuBLAS call and NCCL collective runs on, the TF32 switch for fp32 GEMMs, timing
// events, a grow-only scratch buffer for kernels that need temporary device memory, the
// device-side error word that kernels set instead of trapping (bad index, bad label), and
// PFC_CUDA_CHECK, which turns a CUDA error into PfcError with file and line (never exit()).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/error.h"

namespace pfc {

// Throws PfcError: cudaErrorMemoryAllocation -> OutOfMemory ("CUDA out of memory: ..."),
// anything else -> Backend ("CUDA error <name>: <string> in <expr>"). Clears the error state.
[[noreturn]] void throwCudaError(cudaError_t err, const char* expr, const char* file, int line);

// Selects the device used by this process (default 0; real mode: the rank's local GPU).
// Must be called before the first CUDA allocation or op.
void selectCudaDevice(int ordinal);
int cudaDeviceOrdinal();

// The stream of the core, created on first use (throws Unavailable when no device is usable).
cudaStream_t cudaStream();
// Number of multiprocessors of the selected device (for launch sizing).
int cudaSmCount();

// fp32 GEMMs on TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32) when true. Default false.
void setAllowTf32(bool allow);
bool allowTf32();

// Device memory in use as the device reports it (total - free), to compare with nvidia-smi.
int64_t deviceUsedBytes();

// Timing events recorded on the core's stream. Ids are small integers; destroyEvent frees one.
int64_t createEvent();
void recordEvent(int64_t id);
float elapsedMs(int64_t start, int64_t end);  // synchronizes on `end`
void destroyEvent(int64_t id);

// Device scratch of at least `bytes`, accounted as Workspace, reused across calls and grown
// when needed. Valid until the next call (one op uses it at a time, all on the one stream).
void* cudaScratch(int64_t bytes);
// Frees the scratch and staging buffers (the next op allocates them again), so that each
// benchmark cell accounts its own.
void releaseCudaScratch();
// Pinned host staging of at least `bytes` (small device->host results), same reuse rule.
void* cudaHostStaging(int64_t bytes);

// Device error word: kernels that find an invalid input (index out of range, unsorted
// indices) store a code into it with atomicCAS and skip the bad element. checkDeviceErrors()
// reads and clears it, throwing PfcError(Invalid) naming the op; it is called after every
// host synchronization of the core (synchronizeDevice, copies to the host, scalar results).
enum DeviceErrorCode : int {
  kDevErrNone = 0,
  kDevErrGatherIndex = 1,
  kDevErrScatterIndex = 2,
  kDevErrNormalizeIndex = 3,
  kDevErrMarginLabel = 4,
  kDevErrSgdIndices = 5,
};
int* deviceErrorWord();  // device-visible pointer (mapped pinned host memory)
void checkDeviceErrors();

// Synchronizes the core's stream and checks the device error word.
void synchronizeCudaStream();

// Internal to the runtime (device_cuda.cc <-> cuda_context.cc).
void requireCudaUsable();         // throws Unavailable with the probe's reason
bool cudaStreamCreated();         // false until the first op: nothing can be pending
void invalidateCudaProbe();       // after selectCudaDevice: probe the new device again

}  // namespace pfc

#define PFC_CUDA_CHECK(expr)                                               \
  do {                                                                     \
    const cudaError_t pfc_cuda_err_ = (expr);                              \
    if (pfc_cuda_err_ != cudaSuccess)                                      \
      ::pfc::throwCudaError(pfc_cuda_err_, #expr, __FILE__, __LINE__);     \
  } while (0)

// After a kernel launch: reports launch-configuration errors at the launch site.
#define PFC_CUDA_LAUNCH_CHECK() PFC_CUDA_CHECK(cudaGetLastError())
