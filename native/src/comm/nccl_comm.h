// A communicator over NCCL (GPU ranks, real mode): one per process, built from the rank, the
// number of ranks and NCCL's 128-byte unique id (made by rank 0 with ncclNewUniqueId() and
// broadcast over MPI). Collectives run on the core's CUDA stream and are asynchronous like
// every other op; synchronizeDevice(Cuda) waits for them. Tensors are device tensors of
// fp32, bf16, fp16 or int32, contiguous (row views are). Failures are PfcError(Comm, "NCCL: ...").
#pragma once
#include <cstdint>
#include <vector>

#include "comm/nccl_loader.h"
#include "core/tensor.h"

namespace pfc {

constexpr int kNcclUniqueIdBytes = nccl::kUniqueIdBytes;

// A new NCCL unique id, kNcclUniqueIdBytes bytes.
std::vector<uint8_t> ncclNewUniqueId();
// NCCL's version code (e.g. 22809), loading the library if needed.
int ncclVersionCode();

class NcclCommunicator {
 public:
  enum class Op { Sum, Max };

  NcclCommunicator(int rank, int size, const std::vector<uint8_t>& uniqueId);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // recv (size * send.numel() elements) = the send tensors of every rank, in rank order.
  void allGather(const Tensor& send, const Tensor& recv);
  // In place: tensor = op over ranks.
  void allReduce(const Tensor& tensor, Op op);
  // recv (send.numel() / size elements) = this rank's block of the sum over ranks of send.
  void reduceScatter(const Tensor& send, const Tensor& recv);
  // In place: tensor = root's tensor.
  void broadcast(const Tensor& tensor, int root);
  // Throws if NCCL reported an asynchronous failure (a peer died, a network error).
  void checkAsyncError();
  // Waits for the core's stream like synchronizeCudaStream, but checks NCCL's asynchronous error
  // every millisecond meanwhile: a failed or vanished peer aborts the communicator and throws
  // PfcError(Comm) with NCCL's message, and so does a wait past timeoutSeconds (0: no limit),
  // instead of hanging the process.
  void synchronize(double timeoutSeconds);
  // Frees the communicator now (also done by the destructor); later calls throw.
  void destroy();

 private:
  nccl::Comm comm() const;
  nccl::Comm comm_ = nullptr;
  int rank_;
  int size_;
};

}  // namespace pfc
