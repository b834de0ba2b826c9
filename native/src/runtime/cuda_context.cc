// The process-wide CUDA context of the core: device choice, the one stream, TF32 switch,
// timing events, scratch and staging buffers, and the device error word (see cuda_context.h).
#include "runtime/cuda_context.h"

#include <cuda_runtime_api.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "core/memory.h"

namespace pfc {

namespace {

std::mutex g_mutex;  // guards everything below
std::atomic<int> g_ordinal{0};  // read without the mutex (by the probe)
cudaStream_t g_stream = nullptr;
bool g_streamCreated = false;
int g_smCount = 0;
std::atomic<bool> g_allowTf32{false};

std::vector<cudaEvent_t> g_events;  // id -> event (nullptr: free slot)

void* g_scratch = nullptr;
int64_t g_scratchBytes = 0;
void* g_staging = nullptr;
int64_t g_stagingBytes = 0;

int* g_errorHost = nullptr;  // mapped pinned host word
int* g_errorDevice = nullptr;

const char* deviceErrorMessage(int code) {
  switch (code) {
    case kDevErrGatherIndex: return "gatherRows: an index is out of range (found on the device)";
    case kDevErrScatterIndex: return "scatterAddRows: an index is out of range (found on the device)";
    case kDevErrNormalizeIndex: return "normalizeRows: an index is out of range (found on the device)";
    case kDevErrMarginLabel: return "marginSoftmaxStats: a label is outside the active centres (found on the device)";
    case kDevErrSgdIndices:
      // Also set by sgdCatchUp and normalizeRows' catch-up, which report a row ahead of the step with it.
      return "sgdUpdate / sgdIdleRows / sgdCatchUp / normalizeRows (catch-up): indices must be sorted, unique and inside "
             "the shard, "
             "and no row may be ahead of the step (found on the device)";
    default: return "a CUDA kernel reported an invalid input (found on the device)";
  }
}

// Caller holds g_mutex.
void ensureStreamLocked() {
  if (g_streamCreated) return;
  requireCudaUsable();
  const int ordinal = g_ordinal.load();
  PFC_CUDA_CHECK(cudaSetDevice(ordinal));
  PFC_CUDA_CHECK(cudaDeviceGetAttribute(&g_smCount, cudaDevAttrMultiProcessorCount, ordinal));
  PFC_CUDA_CHECK(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
  void* host = nullptr;
  PFC_CUDA_CHECK(cudaHostAlloc(&host, sizeof(int), cudaHostAllocMapped | cudaHostAllocPortable));
  g_errorHost = static_cast<int*>(host);
  *reinterpret_cast<volatile int*>(g_errorHost) = 0;
  void* dev = nullptr;
  PFC_CUDA_CHECK(cudaHostGetDevicePointer(&dev, host, 0));
  g_errorDevice = static_cast<int*>(dev);
  g_streamCreated = true;
}

}  // namespace

void selectCudaDevice(int ordinal) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_streamCreated && ordinal != g_ordinal.load())
    PFC_THROW(Invalid, "selectCudaDevice: device " + std::to_string(g_ordinal.load()) +
                           " is already in use; select the device before the first CUDA op");
  if (ordinal < 0) PFC_THROW(Invalid, "selectCudaDevice: negative device ordinal");
  g_ordinal.store(ordinal);
  invalidateCudaProbe();
  // Sets the current device of this thread only when the device exists; the probe says why not.
  int count = 0;
  if (cudaGetDeviceCount(&count) == cudaSuccess && ordinal < count) {
    PFC_CUDA_CHECK(cudaSetDevice(ordinal));
  } else {
    cudaGetLastError();
  }
}

int cudaDeviceOrdinal() { return g_ordinal.load(); }

cudaStream_t cudaStream() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ensureStreamLocked();
  return g_stream;
}

int cudaSmCount() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ensureStreamLocked();
  return g_smCount;
}

bool cudaStreamCreated() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_streamCreated;
}

void setAllowTf32(bool allow) { g_allowTf32.store(allow); }
bool allowTf32() { return g_allowTf32.load(); }

int64_t deviceUsedBytes() {
  requireCudaUsable();
  size_t freeBytes = 0, totalBytes = 0;
  PFC_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
  return static_cast<int64_t>(totalBytes) - static_cast<int64_t>(freeBytes);
}

int64_t createEvent() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ensureStreamLocked();
  cudaEvent_t ev = nullptr;
  PFC_CUDA_CHECK(cudaEventCreate(&ev));
  for (size_t i = 0; i < g_events.size(); ++i) {
    if (!g_events[i]) {
      g_events[i] = ev;
      return static_cast<int64_t>(i);
    }
  }
  g_events.push_back(ev);
  return static_cast<int64_t>(g_events.size() - 1);
}

static cudaEvent_t eventLocked(int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(g_events.size()) || !g_events[id])
    PFC_THROW(Invalid, "unknown CUDA event id " + std::to_string(id));
  return g_events[id];
}

void recordEvent(int64_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  PFC_CUDA_CHECK(cudaEventRecord(eventLocked(id), g_stream));
}

float elapsedMs(int64_t start, int64_t end) {
  cudaEvent_t a, b;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    a = eventLocked(start);
    b = eventLocked(end);
  }
  PFC_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0.0f;
  PFC_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  return ms;
}

void destroyEvent(int64_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  cudaEvent_t ev = eventLocked(id);
  g_events[id] = nullptr;
  PFC_CUDA_CHECK(cudaEventDestroy(ev));
}

void* cudaScratch(int64_t bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ensureStreamLocked();
  if (bytes <= g_scratchBytes && g_scratch) return g_scratch;
  // Grow to the request rounded up to 2 MiB. Kernels queued on the stream may still use the old
  // buffer: finish them first (as cudaHostStaging does) rather than rely on cudaFree's implicit
  // synchronization, which the runtime documents nowhere.
  const int64_t grain = int64_t(2) << 20;
  const int64_t want = (bytes + grain - 1) / grain * grain;
  if (g_scratch) {
    PFC_CUDA_CHECK(cudaStreamSynchronize(g_stream));
    deallocate(Device::Cuda, Category::Workspace, g_scratch, g_scratchBytes);
    g_scratch = nullptr;
    g_scratchBytes = 0;
  }
  g_scratch = allocate(Device::Cuda, Category::Workspace, want);
  g_scratchBytes = want;
  return g_scratch;
}

void releaseCudaScratch() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_streamCreated) return;
  PFC_CUDA_CHECK(cudaStreamSynchronize(g_stream));  // no queued kernel still uses them
  if (g_scratch) deallocate(Device::Cuda, Category::Workspace, g_scratch, g_scratchBytes);
  g_scratch = nullptr;
  g_scratchBytes = 0;
  if (g_staging) PFC_CUDA_CHECK(cudaFreeHost(g_staging));
  g_staging = nullptr;
  g_stagingBytes = 0;
}

void* cudaHostStaging(int64_t bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ensureStreamLocked();
  if (bytes <= g_stagingBytes && g_staging) return g_staging;
  if (g_staging) {
    // The stream may still write into the old buffer: finish first.
    PFC_CUDA_CHECK(cudaStreamSynchronize(g_stream));
    PFC_CUDA_CHECK(cudaFreeHost(g_staging));
    g_staging = nullptr;
    g_stagingBytes = 0;
  }
  const int64_t want = bytes < 4096 ? 4096 : bytes;
  PFC_CUDA_CHECK(cudaHostAlloc(&g_staging, static_cast<size_t>(want), cudaHostAllocDefault));
  g_stagingBytes = want;
  return g_staging;
}

int* deviceErrorWord() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ensureStreamLocked();
  return g_errorDevice;
}

void checkDeviceErrors() {
  int code = 0;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_errorHost) return;
    volatile int* word = g_errorHost;
    code = *word;
    *word = 0;
  }
  if (code != kDevErrNone) PFC_THROW(Invalid, deviceErrorMessage(code));
}

void synchronizeCudaStream() {
  cudaStream_t s;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_streamCreated) return;  // nothing was ever queued
    s = g_stream;
  }
  PFC_CUDA_CHECK(cudaStreamSynchronize(s));
  checkDeviceErrors();
}

}  // namespace pfc
