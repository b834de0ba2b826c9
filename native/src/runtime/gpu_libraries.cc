// The GPU side of runtime/libraries.h in a CUDA build: cuBLAS and NCCL (dlopen'ed), the CUDA
// driver (libcuda, loaded by the runtime) and the runtime (linked statically). No device is
// needed: versions come from calls that work without one.
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include "comm/nccl_loader.h"
#include "runtime/cublas_loader.h"
#include "runtime/libraries.h"

namespace pfc {

static std::string versionCode(int v) {
  // CUDA's encoding: 1000 * major + 10 * minor.
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10) + " (" + std::to_string(v) + ")";
}

static LibraryInfo cublasLibrary() {
  LibraryInfo l;
  l.name = "cuBLAS";
  try {
    const cublas::Api& a = cublas::api();
    l.found = true;
    l.path = libraryFile(a.library);
    if (l.path.empty()) l.path = a.path;
    l.version = cublas::propertyVersion();
    l.note = std::string("dlopen'ed") + (a.gemmEx64 ? "; 64-bit GEMM API present" : "; no cublasGemmEx_64 (cuBLAS < 12)") +
             (a.setWorkspace ? "" : "; no cublasSetWorkspace (workspace not accounted)");
  } catch (const std::exception& e) {
    l.note = e.what();
  }
  return l;
}

static LibraryInfo ncclLibrary() {
  LibraryInfo l;
  l.name = "NCCL";
  try {
    const nccl::Api& a = nccl::api();
    l.found = true;
    l.path = libraryFile(a.library);
    if (l.path.empty()) l.path = a.path;
    int v = 0;
    if (a.getVersion(&v) == nccl::kSuccess) l.version = std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100) + " (" + std::to_string(v) + ")";
    l.note = "dlopen'ed";
  } catch (const std::exception& e) {
    l.note = e.what();
  }
  return l;
}

static LibraryInfo driverLibrary() {
  LibraryInfo l;
  l.name = "CUDA driver";
  int v = 0;
  const cudaError_t rc = cudaDriverGetVersion(&v);
  // The static runtime loads libcuda.so.1 itself; NOLOAD finds that copy without loading one.
  void* handle = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) handle = dlopen("libcuda.so.1", RTLD_LAZY);
  if (handle) l.path = libraryFile(handle);
  if (rc == cudaSuccess && v > 0) {
    l.found = true;
    l.version = versionCode(v);
  } else {
    l.note = rc == cudaSuccess ? "no NVIDIA driver installed (cudaDriverGetVersion returned 0)"
                               : std::string("cudaDriverGetVersion: ") + cudaGetErrorString(rc);
  }
  if (!handle && l.note.empty()) l.note = "libcuda.so.1 not found";
  return l;
}

static LibraryInfo runtimeLibrary() {
  LibraryInfo l;
  l.name = "CUDA runtime";
  int v = 0;
  l.found = cudaRuntimeGetVersion(&v) == cudaSuccess;
  l.version = versionCode(v);
  l.note = "linked statically into the addon";
  return l;
}

void appendGpuLibraries(std::vector<LibraryInfo>& out) {
  out.push_back(cublasLibrary());
  out.push_back(ncclLibrary());
  out.push_back(driverLibrary());
  out.push_back(runtimeLibrary());
}

}  // namespace pfc
