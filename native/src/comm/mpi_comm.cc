// The MPI communicator (see mpi_comm.h). Compiled only when CMake found MPI (native/src/mpi.cmake).
#include "comm/mpi_comm.h"

#include <dlfcn.h>

// The C API only: no MPI C++ bindings (they need libmpi_cxx, which the addon does not link).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/rows.h"

namespace pfc::mpi {
namespace {

struct State {
  bool initialized = false;
  bool finalized = false;
  MPI_Comm comm = MPI_COMM_NULL;  // a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN
  InitInfo info;
};

State& state() {
  static State s;
  return s;
}

std::string errorString(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error code " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

int worldRank() {
  const State& s = state();
  return s.initialized ? s.info.rank : -1;
}

[[noreturn]] void throwMpi(int code, const char* call, const char* file, int line) {
  throw PfcError(ErrorCode::Comm,
                 "MPI: " + errorString(code) + " in " + call + " (rank " + std::to_string(worldRank()) + ")", file,
                 line);
}

#define PFC_MPI_CHECK(call, expr)                                 \
  do {                                                            \
    const int rc_ = (expr);                                       \
    if (rc_ != MPI_SUCCESS) throwMpi(rc_, call, __FILE__, __LINE__); \
  } while (0)

MPI_Comm comm(const char* op) {
  const State& s = state();
  if (!s.initialized) PFC_THROW(Invalid, std::string(op) + ": MPI is not initialized (call mpiInit first)");
  if (s.finalized) PFC_THROW(Invalid, std::string(op) + ": MPI was already finalized");
  return s.comm;
}

MPI_Datatype mpiType(const char* op, DType dtype, bool reducing) {
  switch (dtype) {
    case DType::F32: return MPI_FLOAT;
    case DType::I32: return MPI_INT;
    case DType::BF16:
    case DType::F16:
      // Moved as raw 16-bit words; MPI has no bf16/fp16 arithmetic.
      if (!reducing) return MPI_UINT16_T;
      break;
  }
  PFC_THROW(Invalid, std::string(op) + ": MPI reductions support fp32 and int32, not " + dtypeName(dtype));
}

// Largest element count passed to one MPI call (counts are int).
constexpr int64_t kChunk = int64_t{1} << 30;

// A tensor's bytes in host memory: the tensor itself on the CPU, a staging copy for a device
// tensor (plain host memory, not tracked: the device's accounting is unchanged).
class HostBuffer {
 public:
  HostBuffer(const Tensor& t, bool copyIn) : tensor_(t) {
    if (t.device() == Device::Cpu) {
      data_ = t.raw();
      return;
    }
    staging_.resize(static_cast<size_t>(t.bytes()));
    data_ = staging_.data();
    if (copyIn) copyTensor(t, Tensor::borrow(Device::Cpu, data_, t.dtype, t.rows, t.cols));
  }
  void* data() const { return data_; }
  char* bytes() const { return static_cast<char*>(data_); }
  // Copies a staged result back to the device.
  void flush() {
    if (!staging_.empty()) copyTensor(Tensor::borrow(Device::Cpu, data_, tensor_.dtype, tensor_.rows, tensor_.cols), tensor_);
  }

 private:
  const Tensor& tensor_;
  std::vector<char> staging_;
  void* data_ = nullptr;
};

void requireMatching(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype != b.dtype || a.cols != b.cols || a.device() != b.device())
    PFC_THROW(Invalid, std::string(op) + ": " + a.describe() + " and " + b.describe() + " differ in type, columns or device");
}

}  // namespace

InitInfo init() {
  State& s = state();
  if (s.finalized) PFC_THROW(Invalid, "mpiInit: MPI was already finalized in this process");
  if (s.initialized) return s.info;

  // Promote the already-loaded libmpi (and its dependencies) to global symbol scope so Open MPI's
  // dlopen'ed plugins find its symbols. dladdr names the file the addon was linked against.
  std::string library;
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &where) && where.dli_fname) library = where.dli_fname;
  void* handle = library.empty() ? nullptr : dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  if (!handle) {
    for (const char* soname : {"libmpi.so.40", "libmpi.so.12", "libmpi.so"}) {
      handle = dlopen(soname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
      if (handle) {
        library = soname;
        break;
      }
    }
  }
  if (!handle) {
    const char* why = dlerror();
    PFC_THROW(Unavailable, "MPI: cannot promote libmpi to global symbol scope (" + (library.empty() ? std::string("libmpi not found in this process") : library) + ")" + (why ? std::string(": ") + why : ""));
  }
  // The handle stays open for the life of the process (libmpi must not be unloaded).

  int already = 0;
  MPI_Initialized(&already);
  int provided = MPI_THREAD_SINGLE;
  if (!already) {
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) throwMpi(rc, "MPI_Init_thread", __FILE__, __LINE__);
  } else {
    MPI_Query_thread(&provided);
  }
  // Errors come back as codes (turned into PfcError) instead of aborting the job.
  PFC_MPI_CHECK("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_Comm dup = MPI_COMM_NULL;
  PFC_MPI_CHECK("MPI_Comm_dup", MPI_Comm_dup(MPI_COMM_WORLD, &dup));
  PFC_MPI_CHECK("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN));

  InitInfo info;
  PFC_MPI_CHECK("MPI_Comm_rank", MPI_Comm_rank(dup, &info.rank));
  PFC_MPI_CHECK("MPI_Comm_size", MPI_Comm_size(dup, &info.size));
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(version, &length) == MPI_SUCCESS) {
    info.version.assign(version, static_cast<size_t>(length));
    const size_t eol = info.version.find_first_of("\r\n");
    if (eol != std::string::npos) info.version.resize(eol);
    while (!info.version.empty() && (info.version.back() == ' ' || info.version.back() == '\0')) info.version.pop_back();
  }
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  info.version += " (MPI " + std::to_string(major) + "." + std::to_string(minor) + ")";
  info.library = library;
  info.threadLevel = provided;
  s.comm = dup;
  s.info = info;
  s.initialized = true;
  return info;
}

bool initialized() { return state().initialized; }
bool finalized() { return state().finalized; }

void allGather(const Tensor& send, const Tensor& recv) {
  const char* op = "mpiAllGather";
  MPI_Comm c = comm(op);
  const int size = state().info.size;
  requireMatching(op, send, recv);
  if (recv.rows != send.rows * size)
    PFC_THROW(Invalid, std::string(op) + ": receive buffer " + recv.describe() + " does not hold " + std::to_string(size) +
                           " x " + send.describe());
  MPI_Datatype type = mpiType(op, send.dtype, false);
  HostBuffer in(send, true), out(recv, false);
  const int64_t count = send.numel();
  if (count <= INT_MAX) {
    PFC_MPI_CHECK("MPI_Allgather", MPI_Allgather(in.data(), static_cast<int>(count), type, out.data(),
                                                 static_cast<int>(count), type, c));
  } else {
    // Past int counts: one row as a contiguous datatype.
    MPI_Datatype row = MPI_DATATYPE_NULL;
    PFC_MPI_CHECK("MPI_Type_contiguous", MPI_Type_contiguous(static_cast<int>(send.cols), type, &row));
    PFC_MPI_CHECK("MPI_Type_commit", MPI_Type_commit(&row));
    const int rc = MPI_Allgather(in.data(), static_cast<int>(send.rows), row, out.data(), static_cast<int>(send.rows), row, c);
    MPI_Type_free(&row);
    if (rc != MPI_SUCCESS) throwMpi(rc, "MPI_Allgather", __FILE__, __LINE__);
  }
  out.flush();
}

void allReduce(const Tensor& tensor, ReduceOp reduce) {
  const char* op = "mpiAllReduce";
  MPI_Comm c = comm(op);
  MPI_Datatype type = mpiType(op, tensor.dtype, true);
  HostBuffer buffer(tensor, true);
  const int64_t count = tensor.numel();
  const int64_t esize = dtypeSize(tensor.dtype);
  for (int64_t start = 0; start < count; start += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - start));
    PFC_MPI_CHECK("MPI_Allreduce", MPI_Allreduce(MPI_IN_PLACE, buffer.bytes() + start * esize, n, type,
                                                 reduce == ReduceOp::Sum ? MPI_SUM : MPI_MAX, c));
  }
  buffer.flush();
}

void reduceScatter(const Tensor& send, const Tensor& recv) {
  const char* op = "mpiReduceScatter";
  MPI_Comm c = comm(op);
  const int size = state().info.size;
  const int rank = state().info.rank;
  requireMatching(op, send, recv);
  if (send.rows != recv.rows * size)
    PFC_THROW(Invalid, std::string(op) + ": send buffer " + send.describe() + " is not " + std::to_string(size) +
                           " x " + recv.describe());
  MPI_Datatype type = mpiType(op, send.dtype, true);
  HostBuffer in(send, true), out(recv, false);
  const int64_t count = recv.numel();
  const int64_t esize = dtypeSize(send.dtype);
  if (count <= INT_MAX) {
    PFC_MPI_CHECK("MPI_Reduce_scatter_block",
                  MPI_Reduce_scatter_block(in.data(), out.data(), static_cast<int>(count), type, MPI_SUM, c));
  } else {
    // Past int counts: rank r's block is reduced to rank r, chunk by chunk.
    for (int root = 0; root < size; ++root) {
      for (int64_t start = 0; start < count; start += kChunk) {
        const int n = static_cast<int>(std::min(kChunk, count - start));
        char* src = in.bytes() + (root * count + start) * esize;
        char* dst = root == rank ? out.bytes() + start * esize : nullptr;
        PFC_MPI_CHECK("MPI_Reduce", MPI_Reduce(src, dst, n, type, MPI_SUM, root, c));
      }
    }
  }
  out.flush();
}

void broadcast(const Tensor& tensor, int root) {
  const char* op = "mpiBroadcast";
  MPI_Comm c = comm(op);
  MPI_Datatype type = mpiType(op, tensor.dtype, false);
  HostBuffer buffer(tensor, true);
  const int64_t count = tensor.numel();
  const int64_t esize = dtypeSize(tensor.dtype);
  if (count == 0) {
    // Still one call, so an invalid root is reported the same way on every rank.
    PFC_MPI_CHECK("MPI_Bcast", MPI_Bcast(buffer.data(), 0, type, root, c));
  }
  for (int64_t start = 0; start < count; start += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - start));
    PFC_MPI_CHECK("MPI_Bcast", MPI_Bcast(buffer.bytes() + start * esize, n, type, root, c));
  }
  buffer.flush();
}

void barrier() { PFC_MPI_CHECK("MPI_Barrier", MPI_Barrier(comm("mpiBarrier"))); }

void abort(int code) {
  const State& s = state();
  if (!s.initialized || s.finalized) PFC_THROW(Invalid, "mpiAbort: MPI is not initialized (or already finalized)");
  PFC_MPI_CHECK("MPI_Abort", MPI_Abort(MPI_COMM_WORLD, code));
}

void finalize() {
  State& s = state();
  if (!s.initialized || s.finalized) return;
  if (s.comm != MPI_COMM_NULL) MPI_Comm_free(&s.comm);
  s.finalized = true;
  PFC_MPI_CHECK("MPI_Finalize", MPI_Finalize());
}

}  // namespace pfc::mpi
