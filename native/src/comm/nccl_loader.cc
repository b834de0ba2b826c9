// NCCL through dlopen (see nccl_loader.h).
#include "comm/nccl_loader.h"

#ifdef PFC_CUDA_SIM
#include "sim/libraries.h"
#endif

#include <mutex>

#include "core/error.h"
#include "runtime/lib_search.h"

namespace pfc::nccl {

namespace {

std::mutex g_mutex;
bool g_loaded = false;
Api g_api;

template <typename Fn>
void bind(void* lib, const char* name, Fn* slot, std::string* missing) {
  *slot = reinterpret_cast<Fn>(findSymbol(lib, name));
  if (!*slot) *missing += std::string(missing->empty() ? "" : ", ") + name;
}

}  // namespace

const Api& api() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_loaded) return g_api;
#ifdef PFC_CUDA_SIM
  g_api = sim::ncclStandIn();
  g_loaded = true;
  return g_api;
#endif
  std::string tried;
  const LoadedLibrary lib = openFirstLibrary({"libnccl.so.2", "libnccl.so"}, {"nvidia/nccl/lib", "nvidia/cu13/lib"},
                                             &tried);
  if (!lib.handle) PFC_THROW(Unavailable, "NCCL not found: " + tried + " (set LD_LIBRARY_PATH to the folder holding it)");
  Api a;
  std::string missing;
  bind(lib.handle, "ncclGetVersion", &a.getVersion, &missing);
  bind(lib.handle, "ncclGetUniqueId", &a.getUniqueId, &missing);
  bind(lib.handle, "ncclCommInitRank", &a.commInitRank, &missing);
  bind(lib.handle, "ncclAllGather", &a.allGather, &missing);
  bind(lib.handle, "ncclAllReduce", &a.allReduce, &missing);
  bind(lib.handle, "ncclReduceScatter", &a.reduceScatter, &missing);
  bind(lib.handle, "ncclBroadcast", &a.broadcast, &missing);
  bind(lib.handle, "ncclCommDestroy", &a.commDestroy, &missing);
  bind(lib.handle, "ncclGetErrorString", &a.getErrorString, &missing);
  bind(lib.handle, "ncclCommGetAsyncError", &a.commGetAsyncError, &missing);
  if (!missing.empty()) PFC_THROW(Unavailable, "NCCL at " + lib.path + " lacks " + missing + " (NCCL 2.7 or newer is needed)");
  a.getLastError = reinterpret_cast<const char* (*)(Comm)>(findSymbol(lib.handle, "ncclGetLastError"));
  a.commAbort = reinterpret_cast<Result (*)(Comm)>(findSymbol(lib.handle, "ncclCommAbort"));
  a.path = lib.path;
  a.library = lib.handle;
  g_api = a;
  g_loaded = true;
  return g_api;
}

int version() {
  const Api& a = api();
  int v = 0;
  PFC_NCCL_CHECK(a.getVersion(&v), nullptr, "ncclGetVersion");
  return v;
}

void checkResult(Result r, Comm comm, const std::string& what, const char* file, int line) {
  if (r == kSuccess || r == kInProgress) return;
  std::string msg = "NCCL: ";
  const char* text = g_api.getErrorString ? g_api.getErrorString(r) : nullptr;
  msg += text ? text : ("error " + std::to_string(r));
  if (g_api.getLastError) {
    const char* last = g_api.getLastError(comm);
    if (last && *last) msg += std::string(": ") + last;
  }
  msg += " in " + what;
  throw PfcError(ErrorCode::Comm, msg, file, line);
}

}  // namespace pfc::nccl
