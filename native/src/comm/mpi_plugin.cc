// pfc_mpi.so: MPI on host buffers (see mpi_plugin.h). Built only when CMake finds MPI
// (native/src/mpi.cmake); the addon loads it at run time.
#include "comm/mpi_plugin.h"

#include <dlfcn.h>

// The C API only: no MPI C++ bindings (they need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

namespace {

MPI_Comm g_comm = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN
thread_local std::string g_error;

// Largest element count passed to one MPI call (counts are int).
constexpr int64_t kChunk = int64_t{1} << 30;

int fail(int code, const char* call) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  g_error = MPI_Error_string(code, text, &length) == MPI_SUCCESS ? std::string(text, static_cast<size_t>(length))
                                                                : "MPI error code " + std::to_string(code);
  g_error += std::string(" in ") + call;
  return code == MPI_SUCCESS ? MPI_ERR_OTHER : code;
}

int failText(const std::string& text) {
  g_error = text;
  return MPI_ERR_OTHER;
}

#define PFC_MPI_TRY(call, expr)               \
  do {                                        \
    const int rc_ = (expr);                   \
    if (rc_ != MPI_SUCCESS) return fail(rc_, call); \
  } while (0)

MPI_Datatype typeOf(int type) {
  switch (type) {
    case kPfcMpiFloat: return MPI_FLOAT;
    case kPfcMpiInt: return MPI_INT;
    default: return MPI_UINT16_T;  // bf16 / fp16 moved as raw 16-bit words
  }
}

size_t sizeOf(int type) { return type == kPfcMpiUint16 ? 2 : 4; }

std::string libmpiPath() {
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &where) && where.dli_fname) return where.dli_fname;
  return "";
}

void copyText(const std::string& text, char* out, int len) {
  if (!out || len <= 0) return;
  const size_t n = std::min(text.size(), static_cast<size_t>(len - 1));
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

void describe(char* version, int versionLen, char* library, int libraryLen) {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  std::string v;
  if (MPI_Get_library_version(text, &length) == MPI_SUCCESS) {
    v.assign(text, static_cast<size_t>(length));
    const size_t eol = v.find_first_of("\r\n");
    if (eol != std::string::npos) v.resize(eol);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
  }
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  v += " (MPI " + std::to_string(major) + "." + std::to_string(minor) + ")";
  copyText(v, version, versionLen);
  copyText(libmpiPath(), library, libraryLen);
}

int init(int* rank, int* size, int* threadLevel) {
  // Open MPI's own plugins (mca_*.so) resolve libmpi's symbols globally: make sure libmpi is in
  // global scope, whatever scope the loader of this library used.
  const std::string library = libmpiPath();
  if (library.empty() || !dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
    const char* why = dlerror();
    return failText("cannot promote libmpi (" + (library.empty() ? std::string("not found in this process") : library) +
                    ") to global symbol scope" + (why ? std::string(": ") + why : ""));
  }
  int already = 0;
  MPI_Initialized(&already);
  int provided = MPI_THREAD_SINGLE;
  if (!already) {
    PFC_MPI_TRY("MPI_Init_thread", MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
  } else {
    MPI_Query_thread(&provided);
  }
  // Errors come back as codes instead of aborting the job.
  PFC_MPI_TRY("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_Comm dup = MPI_COMM_NULL;
  PFC_MPI_TRY("MPI_Comm_dup", MPI_Comm_dup(MPI_COMM_WORLD, &dup));
  PFC_MPI_TRY("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN));
  PFC_MPI_TRY("MPI_Comm_rank", MPI_Comm_rank(dup, rank));
  PFC_MPI_TRY("MPI_Comm_size", MPI_Comm_size(dup, size));
  *threadLevel = provided;
  g_comm = dup;
  return MPI_SUCCESS;
}

int allGather(const void* send, void* recv, int64_t count, int64_t rowLen, int type) {
  MPI_Datatype t = typeOf(type);
  if (count <= INT_MAX) {
    PFC_MPI_TRY("MPI_Allgather", MPI_Allgather(send, static_cast<int>(count), t, recv, static_cast<int>(count), t, g_comm));
    return MPI_SUCCESS;
  }
  // Past int counts: one row as a contiguous datatype.
  MPI_Datatype row = MPI_DATATYPE_NULL;
  PFC_MPI_TRY("MPI_Type_contiguous", MPI_Type_contiguous(static_cast<int>(rowLen), t, &row));
  PFC_MPI_TRY("MPI_Type_commit", MPI_Type_commit(&row));
  const int rows = static_cast<int>(count / rowLen);
  const int rc = MPI_Allgather(send, rows, row, recv, rows, row, g_comm);
  MPI_Type_free(&row);
  return rc == MPI_SUCCESS ? rc : fail(rc, "MPI_Allgather");
}

int allReduce(void* buffer, int64_t count, int type, int op) {
  char* bytes = static_cast<char*>(buffer);
  for (int64_t start = 0; start < count; start += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - start));
    PFC_MPI_TRY("MPI_Allreduce", MPI_Allreduce(MPI_IN_PLACE, bytes + start * sizeOf(type), n, typeOf(type),
                                               op == kPfcMpiSum ? MPI_SUM : MPI_MAX, g_comm));
  }
  return MPI_SUCCESS;
}

int reduceScatter(const void* send, void* recv, int64_t count, int type) {
  if (count <= INT_MAX) {
    PFC_MPI_TRY("MPI_Reduce_scatter_block",
                MPI_Reduce_scatter_block(send, recv, static_cast<int>(count), typeOf(type), MPI_SUM, g_comm));
    return MPI_SUCCESS;
  }
  // Past int counts: rank r's block is reduced to rank r, chunk by chunk.
  int size = 1, rank = 0;
  MPI_Comm_size(g_comm, &size);
  MPI_Comm_rank(g_comm, &rank);
  const size_t esize = sizeOf(type);
  for (int root = 0; root < size; ++root) {
    for (int64_t start = 0; start < count; start += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, count - start));
      const char* src = static_cast<const char*>(send) + (root * count + start) * esize;
      char* dst = root == rank ? static_cast<char*>(recv) + start * esize : nullptr;
      PFC_MPI_TRY("MPI_Reduce", MPI_Reduce(src, dst, n, typeOf(type), MPI_SUM, root, g_comm));
    }
  }
  return MPI_SUCCESS;
}

int broadcast(void* buffer, int64_t count, int type, int root) {
  char* bytes = static_cast<char*>(buffer);
  // At least one call, so an invalid root is reported the same way on every rank.
  for (int64_t start = 0; start < count || start == 0; start += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - start));
    PFC_MPI_TRY("MPI_Bcast", MPI_Bcast(bytes + start * sizeOf(type), n, typeOf(type), root, g_comm));
    if (count == 0) break;
  }
  return MPI_SUCCESS;
}

int barrier() {
  PFC_MPI_TRY("MPI_Barrier", MPI_Barrier(g_comm));
  return MPI_SUCCESS;
}

int abortJob(int code) {
  PFC_MPI_TRY("MPI_Abort", MPI_Abort(MPI_COMM_WORLD, code));
  return MPI_SUCCESS;
}

int finalize() {
  if (g_comm != MPI_COMM_NULL) MPI_Comm_free(&g_comm);
  PFC_MPI_TRY("MPI_Finalize", MPI_Finalize());
  return MPI_SUCCESS;
}

const char* lastError() { return g_error.c_str(); }

const PfcMpiPlugin kPlugin = {PFC_MPI_PLUGIN_ABI, describe,  init,    allGather, allReduce, reduceScatter,
                              broadcast,          barrier,   abortJob, finalize, lastError};

}  // namespace

extern "C" __attribute__((visibility("default"))) const PfcMpiPlugin* pfc_mpi_plugin() { return &kPlugin; }
