// NCCL stand-in of the simulated device (sim/libraries.h): one rank.
#include <cstring>

#include "sim/cuda_sim.h"
#include "sim/libraries.h"

namespace pfc::sim {
namespace {

using nccl::Comm;
using nccl::Result;
constexpr Result kOk = 0, kInvalidArgument = 4, kInvalidUsage = 5;

struct OneRank {
  int rank = 0;
};

size_t typeBytes(int dtype) {
  switch (dtype) {
    case nccl::kInt8:
    case nccl::kUint8: return 1;
    case nccl::kFloat16:
    case nccl::kBfloat16: return 2;
    case nccl::kInt32:
    case nccl::kFloat32: return 4;
    case nccl::kFloat64: return 8;
    default: return 0;
  }
}

Result copy(const void* send, void* recv, size_t count, int dtype, Comm comm) {
  const size_t bytes = typeBytes(dtype);
  if (!comm) return kInvalidArgument;
  if (bytes == 0) return kInvalidArgument;
  if (send != recv && count) std::memmove(recv, send, count * bytes);
  return kOk;
}

Result getVersion(int* v) {
  *v = 0;
  return kOk;
}
Result getUniqueId(nccl::UniqueId* id) {
  std::memset(id, 0, sizeof(*id));
  return kOk;
}
Result commInitRank(Comm* comm, int nranks, nccl::UniqueId, int rank) {
  if (nranks != 1 || rank != 0) return kInvalidUsage;
  *comm = reinterpret_cast<Comm>(new OneRank());
  return kOk;
}
Result allGather(const void* send, void* recv, size_t count, int dtype, Comm comm, cudaStream_t) {
  return copy(send, recv, count, dtype, comm);
}
Result allReduce(const void* send, void* recv, size_t count, int dtype, int op, Comm comm, cudaStream_t) {
  if (op < nccl::kSum || op > nccl::kAvg) return kInvalidArgument;
  return copy(send, recv, count, dtype, comm);
}
Result reduceScatter(const void* send, void* recv, size_t count, int dtype, int op, Comm comm, cudaStream_t) {
  if (op < nccl::kSum || op > nccl::kAvg) return kInvalidArgument;
  return copy(send, recv, count, dtype, comm);
}
Result broadcast(const void* send, void* recv, size_t count, int dtype, int root, Comm comm, cudaStream_t) {
  if (root != 0) return kInvalidArgument;
  return copy(send, recv, count, dtype, comm);
}
Result commDestroy(Comm comm) {
  delete reinterpret_cast<OneRank*>(comm);
  return kOk;
}
const char* errorString(Result r) {
  switch (r) {
    case kOk: return "no error";
    case kInvalidArgument: return "invalid argument (simulated NCCL)";
    case kInvalidUsage: return "invalid usage (simulated NCCL: one rank only; real mode needs GPUs)";
    default: return "unknown result (simulated NCCL)";
  }
}
Result commGetAsyncError(Comm, Result* async) {
  *async = kOk;
  return kOk;
}

}  // namespace

nccl::Api ncclStandIn() {
  nccl::Api a;
  a.getVersion = getVersion;
  a.getUniqueId = getUniqueId;
  a.commInitRank = commInitRank;
  a.allGather = allGather;
  a.allReduce = allReduce;
  a.reduceScatter = reduceScatter;
  a.broadcast = broadcast;
  a.commDestroy = commDestroy;
  a.getErrorString = errorString;
  a.commGetAsyncError = commGetAsyncError;
  a.commAbort = commDestroy;
  a.path = "a one-rank stand-in for NCCL (simulated device)";
  return a;
}

}  // namespace pfc::sim
