// NCCL loaded at run time with dlopen (libnccl.so.2, libnccl.so), so one build runs with or
// without it; nothing here includes nccl.h. The types and enum values used are declared below
// with the values of nccl.h. A missing library is PfcError(Unavailable, "NCCL not found:
// tried ... (set LD_LIBRARY_PATH to the folder holding it)").
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

namespace pfc::nccl {

struct CommImpl;  // ncclComm
using Comm = CommImpl*;
using Result = int;  // ncclResult_t: 0 = ncclSuccess, 7 = ncclInProgress
constexpr Result kSuccess = 0;
constexpr Result kInProgress = 7;

constexpr int kUniqueIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
struct UniqueId {
  char internal[kUniqueIdBytes];
};

enum DataType : int { kInt8 = 0, kUint8 = 1, kInt32 = 2, kFloat16 = 6, kFloat32 = 7, kFloat64 = 8, kBfloat16 = 9 };
enum RedOp : int { kSum = 0, kProd = 1, kMax = 2, kMin = 3, kAvg = 4 };

struct Api {
  Result (*getVersion)(int*) = nullptr;
  Result (*getUniqueId)(UniqueId*) = nullptr;
  Result (*commInitRank)(Comm*, int nranks, UniqueId id, int rank) = nullptr;
  Result (*allGather)(const void* send, void* recv, size_t sendCount, int dtype, Comm, cudaStream_t) = nullptr;
  Result (*allReduce)(const void* send, void* recv, size_t count, int dtype, int op, Comm, cudaStream_t) = nullptr;
  Result (*reduceScatter)(const void* send, void* recv, size_t recvCount, int dtype, int op, Comm,
                          cudaStream_t) = nullptr;
  Result (*broadcast)(const void* send, void* recv, size_t count, int dtype, int root, Comm, cudaStream_t) = nullptr;
  Result (*commDestroy)(Comm) = nullptr;
  const char* (*getErrorString)(Result) = nullptr;
  Result (*commGetAsyncError)(Comm, Result*) = nullptr;
  const char* (*getLastError)(Comm) = nullptr;  // optional (NCCL 2.13+)
  Result (*commAbort)(Comm) = nullptr;          // optional: frees a communicator whose peers are gone
  std::string path;
  void* library = nullptr;  // the dlopen handle
};

// Loads the library on first use; throws Unavailable when it is missing or incomplete.
const Api& api();
// NCCL's version code (for example 22809 for 2.28.9).
int version();

// Throws PfcError(Comm, "NCCL: <ncclGetErrorString>[: <ncclGetLastError>] in <what>") unless
// the result is success (or in-progress for a non-blocking communicator).
void checkResult(Result r, Comm comm, const std::string& what, const char* file, int line);

}  // namespace pfc::nccl

#define PFC_NCCL_CHECK(expr, comm, what) ::pfc::nccl::checkResult((expr), (comm), (what), __FILE__, __LINE__)
