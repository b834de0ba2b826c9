// CUDA-only exports (compiled when the CUDA backend is): device selection, events for step
// timing, the device's used-memory figure, TF32, library versions, and the NCCL communicator.
#include <map>
#include <memory>

#include "bind/binding.h"
#include "comm/nccl_comm.h"
#include "runtime/cublas_loader.h"
#include "runtime/cuda_context.h"

namespace pfc::bind {

static std::map<int64_t, std::unique_ptr<NcclCommunicator>> g_nccl;
static int64_t g_ncclNext = 1;

static NcclCommunicator& ncclHandle(const Napi::CallbackInfo& info) {
  const int64_t id = static_cast<int64_t>(numberArg(info, 0, "communicator"));
  auto it = g_nccl.find(id);
  if (it == g_nccl.end()) PFC_THROW(Invalid, "unknown or destroyed NCCL communicator");
  return *it->second;
}

void registerCuda(Napi::Env env, Napi::Object exports) {
  PFC_EXPORT(exports, env, "cudaSelectDevice", {
    selectCudaDevice(static_cast<int>(numberArg(info, 0, "ordinal")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "cudaCreateEvent", { return Napi::Number::New(info.Env(), static_cast<double>(createEvent())); });
  PFC_EXPORT(exports, env, "cudaRecordEvent", {
    recordEvent(static_cast<int64_t>(numberArg(info, 0, "event")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "cudaElapsedMs", {
    return Napi::Number::New(info.Env(), elapsedMs(static_cast<int64_t>(numberArg(info, 0, "start")),
                                                   static_cast<int64_t>(numberArg(info, 1, "end"))));
  });
  PFC_EXPORT(exports, env, "cudaDestroyEvent", {
    destroyEvent(static_cast<int64_t>(numberArg(info, 0, "event")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "cudaSetAllowTf32", {
    setAllowTf32(boolArg(info, 0, "allow"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "cudaDeviceUsedBytes", {
    return Napi::Number::New(info.Env(), static_cast<double>(deviceUsedBytes()));
  });
  // Frees the cuBLAS handle with its workspace and the kernels' scratch: a cell that starts after
  // it accounts every byte it needs (the next GEMM and kernel allocate them again).
  PFC_EXPORT(exports, env, "cudaReleaseWorkspaces", {
    cublas::releaseHandle();
    releaseCudaScratch();
    return info.Env().Undefined();
  });
  exports.Set("cublasWorkspaceBytes", Napi::Number::New(env, static_cast<double>(cublas::kWorkspaceBytes)));
  PFC_EXPORT(exports, env, "cublasVersion", { return Napi::Number::New(info.Env(), cublas::version()); });
  PFC_EXPORT(exports, env, "ncclVersion", { return Napi::Number::New(info.Env(), ncclVersionCode()); });
  PFC_EXPORT(exports, env, "ncclNewUniqueId", {
    const std::vector<uint8_t> id = ncclNewUniqueId();
    Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), id.size());
    std::copy(id.begin(), id.end(), out.Data());
    return out;
  });
  PFC_EXPORT(exports, env, "ncclInit", {
    const int rank = static_cast<int>(numberArg(info, 0, "rank"));
    const int size = static_cast<int>(numberArg(info, 1, "size"));
    if (info.Length() < 3 || !info[2].IsTypedArray()) PFC_THROW(Invalid, "ncclInit: unique id must be a Uint8Array");
    Napi::Uint8Array idArray = info[2].As<Napi::Uint8Array>();
    std::vector<uint8_t> id(idArray.Data(), idArray.Data() + idArray.ElementLength());
    const int64_t handle = g_ncclNext++;
    g_nccl[handle] = std::make_unique<NcclCommunicator>(rank, size, id);
    return Napi::Number::New(info.Env(), static_cast<double>(handle));
  });
  PFC_EXPORT(exports, env, "ncclSynchronize", {
    ncclHandle(info).synchronize(numberArg(info, 1, "timeoutSeconds"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "ncclAllGather", {
    ncclHandle(info).allGather(tensorArg(info, 1, "send"), tensorArg(info, 2, "recv"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "ncclAllReduce", {
    const std::string op = stringArg(info, 2, "op");
    if (op != "sum" && op != "max") PFC_THROW(Invalid, "ncclAllReduce: op must be sum or max");
    ncclHandle(info).allReduce(tensorArg(info, 1, "tensor"), op == "sum" ? NcclCommunicator::Op::Sum : NcclCommunicator::Op::Max);
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "ncclReduceScatter", {
    ncclHandle(info).reduceScatter(tensorArg(info, 1, "send"), tensorArg(info, 2, "recv"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "ncclBroadcast", {
    ncclHandle(info).broadcast(tensorArg(info, 1, "tensor"), static_cast<int>(numberArg(info, 2, "root")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "ncclDestroy", {
    g_nccl.erase(static_cast<int64_t>(numberArg(info, 0, "communicator")));
    return info.Env().Undefined();
  });
}

}  // namespace pfc::bind
