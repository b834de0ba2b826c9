// The MPI communicator (see mpi_comm.h) over pfc_mpi.so, loaded from the addon's own folder on
// first use: the addon itself never links libmpi (mpi_plugin.h says why).
#include "comm/mpi_comm.h"

#include <dlfcn.h>

#include <mutex>
#include <vector>

#include "comm/mpi_plugin.h"
#include "ops/rows.h"

namespace pfc::mpi {
namespace {

struct State {
  bool initialized = false;
  bool finalized = false;
  InitInfo info;
};

State& state() {
  static State s;
  return s;
}

struct Loaded {
  const PfcMpiPlugin* plugin = nullptr;
  std::string path;    // where pfc_mpi.so is (or would be)
  std::string reason;  // why it is not usable; empty when it is
};

// The folder of the file this function is compiled into (the addon).
std::string addonFolder() {
  Dl_info where{};
  if (!dladdr(reinterpret_cast<void*>(&addonFolder), &where) || !where.dli_fname) return ".";
  const std::string file = where.dli_fname;
  const size_t slash = file.find_last_of('/');
  return slash == std::string::npos ? "." : file.substr(0, slash);
}

const Loaded& loaded() {
  static std::once_flag once;
  static Loaded l;
  std::call_once(once, [] {
    l.path = addonFolder() + "/pfc_mpi.so";
#ifndef PFC_MPI_PLUGIN_BUILT
    l.reason = "this build has no MPI communicator (CMake did not find MPI or PFC_WITH_MPI was OFF); install an MPI "
               "(Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin) and rebuild with 'npm run build:native'";
    return;
#endif
    // RTLD_GLOBAL: libmpi and its dependencies join global scope, as Open MPI's plugins need.
    void* handle = dlopen(l.path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      const char* why = dlerror();
      l.reason = std::string("cannot load ") + l.path + ": " + (why ? why : "unknown loader error");
      return;
    }
    using Entry = const PfcMpiPlugin* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "pfc_mpi_plugin"));
    const PfcMpiPlugin* p = entry ? entry() : nullptr;
    if (!p || p->abi != PFC_MPI_PLUGIN_ABI) {
      l.reason = l.path + " is from another build (rebuild with 'npm run build:native')";
      return;
    }
    l.plugin = p;  // stays loaded for the life of the process (libmpi must not be unloaded)
  });
  return l;
}

const PfcMpiPlugin& plugin(const char* op) {
  const Loaded& l = loaded();
  if (!l.plugin) PFC_THROW(Unavailable, std::string(op) + ": MPI is unavailable: " + l.reason);
  return *l.plugin;
}

[[noreturn]] void throwMpi(const PfcMpiPlugin& p, const char* file, int line) {
  throw PfcError(ErrorCode::Comm,
                 std::string("MPI: ") + p.lastError() + " (rank " +
                     std::to_string(state().initialized ? state().info.rank : -1) + ")",
                 file, line);
}

#define PFC_MPI_CHECK(p, expr)                          \
  do {                                                  \
    if ((expr) != 0) throwMpi((p), __FILE__, __LINE__); \
  } while (0)

const PfcMpiPlugin& running(const char* op) {
  const State& s = state();
  if (!s.initialized) PFC_THROW(Invalid, std::string(op) + ": MPI is not initialized (call mpiInit first)");
  if (s.finalized) PFC_THROW(Invalid, std::string(op) + ": MPI was already finalized");
  return plugin(op);
}

int mpiType(const char* op, DType dtype, bool reducing) {
  switch (dtype) {
    case DType::F32: return kPfcMpiFloat;
    case DType::I32: return kPfcMpiInt;
    case DType::BF16:
    case DType::F16:
      // Moved as raw 16-bit words; MPI has no bf16/fp16 arithmetic.
      if (!reducing) return kPfcMpiUint16;
      break;
  }
  PFC_THROW(Invalid, std::string(op) + ": MPI reductions support fp32 and int32, not " + dtypeName(dtype));
}

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

std::string unavailableReason() { return loaded().reason; }

LibraryDescription describeLibrary() {
  const PfcMpiPlugin& p = plugin("mpiDescribe");
  char version[512] = {0}, library[1024] = {0};
  p.describe(version, sizeof version, library, sizeof library);
  return {version, library};
}

InitInfo init() {
  State& s = state();
  if (s.finalized) PFC_THROW(Invalid, "mpiInit: MPI was already finalized in this process");
  if (s.initialized) return s.info;
  const PfcMpiPlugin& p = plugin("mpiInit");
  InitInfo info;
  PFC_MPI_CHECK(p, p.init(&info.rank, &info.size, &info.threadLevel));
  const LibraryDescription d = describeLibrary();
  info.version = d.version;
  info.library = d.library;
  s.info = info;
  s.initialized = true;
  return info;
}

bool initialized() { return state().initialized; }
bool finalized() { return state().finalized; }

void allGather(const Tensor& send, const Tensor& recv) {
  const char* op = "mpiAllGather";
  const PfcMpiPlugin& p = running(op);
  const int size = state().info.size;
  requireMatching(op, send, recv);
  if (recv.rows != send.rows * size)
    PFC_THROW(Invalid, std::string(op) + ": receive buffer " + recv.describe() + " does not hold " + std::to_string(size) +
                           " x " + send.describe());
  const int type = mpiType(op, send.dtype, false);
  HostBuffer in(send, true), out(recv, false);
  PFC_MPI_CHECK(p, p.allGather(in.data(), out.data(), send.numel(), send.cols, type));
  out.flush();
}

void allReduce(const Tensor& tensor, ReduceOp reduce) {
  const char* op = "mpiAllReduce";
  const PfcMpiPlugin& p = running(op);
  const int type = mpiType(op, tensor.dtype, true);
  HostBuffer buffer(tensor, true);
  PFC_MPI_CHECK(p, p.allReduce(buffer.data(), tensor.numel(), type, reduce == ReduceOp::Sum ? kPfcMpiSum : kPfcMpiMax));
  buffer.flush();
}

void reduceScatter(const Tensor& send, const Tensor& recv) {
  const char* op = "mpiReduceScatter";
  const PfcMpiPlugin& p = running(op);
  const int size = state().info.size;
  requireMatching(op, send, recv);
  if (send.rows != recv.rows * size)
    PFC_THROW(Invalid, std::string(op) + ": send buffer " + send.describe() + " is not " + std::to_string(size) +
                           " x " + recv.describe());
  const int type = mpiType(op, send.dtype, true);
  HostBuffer in(send, true), out(recv, false);
  PFC_MPI_CHECK(p, p.reduceScatter(in.data(), out.data(), recv.numel(), type));
  out.flush();
}

void broadcast(const Tensor& tensor, int root) {
  const char* op = "mpiBroadcast";
  const PfcMpiPlugin& p = running(op);
  const int type = mpiType(op, tensor.dtype, false);
  HostBuffer buffer(tensor, true);
  PFC_MPI_CHECK(p, p.broadcast(buffer.data(), tensor.numel(), type, root));
  buffer.flush();
}

void barrier() {
  const PfcMpiPlugin& p = running("mpiBarrier");
  PFC_MPI_CHECK(p, p.barrier());
}

void abort(int code) {
  const State& s = state();
  if (!s.initialized || s.finalized) PFC_THROW(Invalid, "mpiAbort: MPI is not initialized (or already finalized)");
  const PfcMpiPlugin& p = plugin("mpiAbort");
  PFC_MPI_CHECK(p, p.abort(code));
}

void finalize() {
  State& s = state();
  if (!s.initialized || s.finalized) return;
  s.finalized = true;
  const PfcMpiPlugin& p = plugin("mpiFinalize");
  PFC_MPI_CHECK(p, p.finalize());
}

}  // namespace pfc::mpi
