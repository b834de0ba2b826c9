// cuBLAS through dlopen (see cublas_loader.h).
#include "runtime/cublas_loader.h"

#ifdef PFC_CUDA_SIM
#include "sim/libraries.h"
#endif

#include <mutex>

#include "core/error.h"
#include "core/memory.h"
#include "runtime/cuda_context.h"
#include "runtime/lib_search.h"

namespace pfc::cublas {

namespace {

std::mutex g_mutex;
bool g_loaded = false;
Api g_api;
Handle g_handle = nullptr;
void* g_workspace = nullptr;

const char* statusName(Status s) {
  switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

template <typename Fn>
void bind(void* lib, const char* name, Fn* slot, std::string* missing) {
  *slot = reinterpret_cast<Fn>(findSymbol(lib, name));
  if (!*slot) *missing += std::string(missing->empty() ? "" : ", ") + name;
}

// Caller holds g_mutex.
void loadLocked() {
  if (g_loaded) return;
#ifdef PFC_CUDA_SIM
  g_api = sim::cublasStandIn();
  g_loaded = true;
  return;
#endif
  const std::vector<std::string> names = {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"};
  std::string tried;
  const LoadedLibrary lib = openFirstLibrary(names, {"nvidia/cu13/lib", "nvidia/cublas/lib"}, &tried);
  if (!lib.handle)
    PFC_THROW(Unavailable, "cuBLAS not found: " + tried + " (set LD_LIBRARY_PATH to the folder holding it)");
  Api a;
  std::string missing;
  bind(lib.handle, "cublasCreate_v2", &a.create, &missing);
  bind(lib.handle, "cublasSetStream_v2", &a.setStream, &missing);
  bind(lib.handle, "cublasGemmEx", &a.gemmEx, &missing);
  bind(lib.handle, "cublasSetMathMode", &a.setMathMode, &missing);
  bind(lib.handle, "cublasDestroy_v2", &a.destroy, &missing);
  bind(lib.handle, "cublasGetVersion_v2", &a.getVersion, &missing);
  if (!missing.empty())
    PFC_THROW(Unavailable, "cuBLAS at " + lib.path + " lacks " + missing + " (a cuBLAS 11 or newer is needed)");
  a.getStatusString = reinterpret_cast<const char* (*)(Status)>(findSymbol(lib.handle, "cublasGetStatusString"));
  a.getProperty = reinterpret_cast<decltype(a.getProperty)>(findSymbol(lib.handle, "cublasGetProperty"));
  a.setWorkspace = reinterpret_cast<decltype(a.setWorkspace)>(findSymbol(lib.handle, "cublasSetWorkspace_v2"));
  a.gemmEx64 = reinterpret_cast<decltype(a.gemmEx64)>(findSymbol(lib.handle, "cublasGemmEx_64"));
  a.path = lib.path;
  a.library = lib.handle;
  g_api = a;
  g_loaded = true;  // the library stays loaded for the life of the process
}

}  // namespace

void checkStatus(Status status, const std::string& what, const char* file, int line) {
  if (status == 0) return;
  std::string msg = std::string("cuBLAS error ") + statusName(status);
  if (g_api.getStatusString) {
    const char* text = g_api.getStatusString(status);
    if (text) msg += std::string(": ") + text;
  }
  msg += " in " + what;
  throw PfcError(status == 3 ? ErrorCode::OutOfMemory : ErrorCode::Backend, msg, file, line);
}

const Api& api() {
  std::lock_guard<std::mutex> lock(g_mutex);
  loadLocked();
  return g_api;
}

Handle handle() {
  cudaStream_t stream = cudaStream();  // the device is usable and current
  std::lock_guard<std::mutex> lock(g_mutex);
  loadLocked();
  if (!g_handle) {
    Handle h = nullptr;
    PFC_CUBLAS_CHECK(g_api.create(&h), "cublasCreate");
    const Status st = g_api.setStream(h, stream);
    if (st != 0) {
      g_api.destroy(h);
      PFC_CUBLAS_CHECK(st, "cublasSetStream");
    }
    if (g_api.setWorkspace) {
      void* workspace = nullptr;
      try {
        workspace = allocate(Device::Cuda, Category::Workspace, kWorkspaceBytes);
      } catch (...) {
        g_api.destroy(h);
        throw;
      }
      const Status ws = g_api.setWorkspace(h, workspace, static_cast<size_t>(kWorkspaceBytes));
      if (ws != 0) {
        g_api.destroy(h);
        deallocate(Device::Cuda, Category::Workspace, workspace, kWorkspaceBytes);
        PFC_CUBLAS_CHECK(ws, "cublasSetWorkspace");
      }
      g_workspace = workspace;
    }
    g_handle = h;
  }
  return g_handle;
}

bool hasHandle() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_handle != nullptr;
}

std::string propertyVersion() {
  const Api& a = api();
  if (!a.getProperty) return "";
  int major = 0, minor = 0, patch = 0;  // libraryPropertyType: MAJOR_VERSION 0, MINOR 1, PATCH 2
  if (a.getProperty(0, &major) != 0 || a.getProperty(1, &minor) != 0 || a.getProperty(2, &patch) != 0) return "";
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

int version() {
  Handle h = handle();
  int v = 0;
  PFC_CUBLAS_CHECK(g_api.getVersion(h, &v), "cublasGetVersion");
  return v;
}

void releaseHandle() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_handle) {
    g_api.destroy(g_handle);
    g_handle = nullptr;
  }
  if (g_workspace) {
    // cublasDestroy synchronizes the device, so no GEMM still uses the workspace.
    deallocate(Device::Cuda, Category::Workspace, g_workspace, kWorkspaceBytes);
    g_workspace = nullptr;
  }
}

}  // namespace pfc::cublas
