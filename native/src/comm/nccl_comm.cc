// NCCL communicator (see nccl_comm.h).
#include "comm/nccl_comm.h"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "runtime/cuda_context.h"

namespace pfc {

static int ncclTypeOf(const char* op, DType t) {
  switch (t) {
    case DType::F32: return nccl::kFloat32;
    case DType::BF16: return nccl::kBfloat16;
    case DType::F16: return nccl::kFloat16;
    case DType::I32: return nccl::kInt32;
  }
  PFC_THROW(Invalid, std::string(op) + ": unsupported dtype");
}

static void requireCuda(const char* op, const char* arg, const Tensor& t) {
  if (t.device() != Device::Cuda)
    PFC_THROW(Invalid, std::string(op) + ": " + arg + " must be a CUDA tensor, got " + t.describe());
}

std::vector<uint8_t> ncclNewUniqueId() {
  const nccl::Api& api = nccl::api();
  nccl::UniqueId id;
  std::memset(&id, 0, sizeof(id));
  PFC_NCCL_CHECK(api.getUniqueId(&id), nullptr, "ncclGetUniqueId");
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(id.internal),
                              reinterpret_cast<const uint8_t*>(id.internal) + nccl::kUniqueIdBytes);
}

int ncclVersionCode() { return nccl::version(); }

NcclCommunicator::NcclCommunicator(int rank, int size, const std::vector<uint8_t>& uniqueId)
    : rank_(rank), size_(size) {
  PFC_CHECK(size >= 1 && rank >= 0 && rank < size,
            "NcclCommunicator: rank " + std::to_string(rank) + " outside 0.." + std::to_string(size - 1));
  PFC_CHECK(uniqueId.size() == static_cast<size_t>(nccl::kUniqueIdBytes),
            "NcclCommunicator: the unique id must be " + std::to_string(nccl::kUniqueIdBytes) + " bytes, got " +
                std::to_string(uniqueId.size()));
  const nccl::Api& api = nccl::api();
  cudaStream();  // the device is usable and current before NCCL binds to it
  nccl::UniqueId id;
  std::memcpy(id.internal, uniqueId.data(), nccl::kUniqueIdBytes);
  nccl::Comm c = nullptr;
  PFC_NCCL_CHECK(api.commInitRank(&c, size, id, rank), nullptr,
                 "ncclCommInitRank (rank " + std::to_string(rank) + " of " + std::to_string(size) + ")");
  comm_ = c;
}

NcclCommunicator::~NcclCommunicator() {
  // Never throws: the result of a destroy at teardown has nowhere to go.
  if (comm_) nccl::api().commDestroy(comm_);
  comm_ = nullptr;
}

void NcclCommunicator::destroy() {
  if (!comm_) return;
  nccl::Comm c = comm_;
  comm_ = nullptr;
  PFC_NCCL_CHECK(nccl::api().commDestroy(c), nullptr, "ncclCommDestroy");
}

nccl::Comm NcclCommunicator::comm() const {
  if (!comm_) PFC_THROW(Comm, "NCCL: the communicator was destroyed");
  return comm_;
}

void NcclCommunicator::allGather(const Tensor& send, const Tensor& recv) {
  const char* op = "allGather (nccl)";
  requireCuda(op, "send", send);
  requireCuda(op, "recv", recv);
  PFC_CHECK(send.dtype == recv.dtype, std::string(op) + ": send and recv differ in dtype");
  PFC_CHECK(recv.numel() == send.numel() * size_,
            std::string(op) + ": recv must hold " + std::to_string(size_) + " x " + std::to_string(send.numel()) +
                " elements, got " + recv.describe());
  const nccl::Comm c = comm();
  PFC_NCCL_CHECK(nccl::api().allGather(send.raw(), recv.raw(), static_cast<size_t>(send.numel()),
                                       ncclTypeOf(op, send.dtype), c, cudaStream()),
                 c, "ncclAllGather");
}

void NcclCommunicator::allReduce(const Tensor& tensor, Op reduceOp) {
  const char* op = "allReduce (nccl)";
  requireCuda(op, "tensor", tensor);
  const nccl::Comm c = comm();
  PFC_NCCL_CHECK(nccl::api().allReduce(tensor.raw(), tensor.raw(), static_cast<size_t>(tensor.numel()),
                                       ncclTypeOf(op, tensor.dtype), reduceOp == Op::Max ? nccl::kMax : nccl::kSum, c,
                                       cudaStream()),
                 c, "ncclAllReduce");
}

void NcclCommunicator::reduceScatter(const Tensor& send, const Tensor& recv) {
  const char* op = "reduceScatter (nccl)";
  requireCuda(op, "send", send);
  requireCuda(op, "recv", recv);
  PFC_CHECK(send.dtype == recv.dtype, std::string(op) + ": send and recv differ in dtype");
  PFC_CHECK(send.numel() == recv.numel() * size_,
            std::string(op) + ": send must hold " + std::to_string(size_) + " x " + std::to_string(recv.numel()) +
                " elements, got " + send.describe());
  const nccl::Comm c = comm();
  PFC_NCCL_CHECK(nccl::api().reduceScatter(send.raw(), recv.raw(), static_cast<size_t>(recv.numel()),
                                           ncclTypeOf(op, send.dtype), nccl::kSum, c, cudaStream()),
                 c, "ncclReduceScatter");
}

void NcclCommunicator::broadcast(const Tensor& tensor, int root) {
  const char* op = "broadcast (nccl)";
  requireCuda(op, "tensor", tensor);
  PFC_CHECK(root >= 0 && root < size_, std::string(op) + ": root " + std::to_string(root) + " is not a rank");
  const nccl::Comm c = comm();
  PFC_NCCL_CHECK(nccl::api().broadcast(tensor.raw(), tensor.raw(), static_cast<size_t>(tensor.numel()),
                                       ncclTypeOf(op, tensor.dtype), root, c, cudaStream()),
                 c, "ncclBroadcast");
}

void NcclCommunicator::checkAsyncError() {
  const nccl::Comm c = comm();
  nccl::Result async = nccl::kSuccess;
  PFC_NCCL_CHECK(nccl::api().commGetAsyncError(c, &async), c, "ncclCommGetAsyncError");
  PFC_NCCL_CHECK(async, c, "an earlier collective (asynchronous error)");
}

void NcclCommunicator::synchronize(double timeoutSeconds) {
  const nccl::Comm c = comm();
  const nccl::Api& api = nccl::api();
  cudaStream_t stream = cudaStream();
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const cudaError_t state = cudaStreamQuery(stream);
    if (state == cudaSuccess) break;
    if (state != cudaErrorNotReady) PFC_CUDA_CHECK(state);
    nccl::Result async = nccl::kSuccess;
    PFC_NCCL_CHECK(api.commGetAsyncError(c, &async), c, "ncclCommGetAsyncError");
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool late = timeoutSeconds > 0 && waited > timeoutSeconds;
    if (async != nccl::kSuccess && async != nccl::kInProgress) {
      if (api.commAbort) api.commAbort(c);
      comm_ = nullptr;
      PFC_NCCL_CHECK(async, nullptr, "a collective (asynchronous error; the communicator was aborted)");
    }
    if (late) {
      if (api.commAbort) api.commAbort(c);
      comm_ = nullptr;
      PFC_THROW(Comm, "NCCL: a collective did not finish within " + std::to_string(timeoutSeconds) +
                          " s (a peer failed or hangs); the communicator was aborted");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  checkDeviceErrors();
}

}  // namespace pfc
