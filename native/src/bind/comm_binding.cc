// The MPI communicator's functions (real mode on CPU ranks). Always registered: when MPI cannot
// be loaded (a build without it, or a machine without libmpi), mpiAvailable() says why and
// every other function throws PFC_UNAVAILABLE with the same reason.
#include "bind/binding.h"
#include "comm/mpi_comm.h"

namespace pfc::bind {

static mpi::ReduceOp reduceOpArg(const Napi::CallbackInfo& info, size_t i) {
  const std::string op = stringArg(info, i, "op");
  if (op == "sum") return mpi::ReduceOp::Sum;
  if (op == "max") return mpi::ReduceOp::Max;
  PFC_THROW(Invalid, "mpiAllReduce: unknown reduction '" + op + "' (expected sum or max)");
}

static int intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const double v = numberArg(info, i, name);
  if (v != static_cast<double>(static_cast<int>(v)))
    PFC_THROW(Invalid, std::string("argument '") + name + "' must be an integer");
  return static_cast<int>(v);
}

void registerComm(Napi::Env env, Napi::Object exports) {
  PFC_EXPORT(exports, env, "mpiAvailable", {
    Napi::Object out = Napi::Object::New(info.Env());
    const std::string reason = mpi::unavailableReason();
    out.Set("available", reason.empty());
    out.Set("reason", reason);
    out.Set("initialized", mpi::initialized());
    out.Set("finalized", mpi::finalized());
    return out;
  });
  PFC_EXPORT(exports, env, "mpiInit", {
    const mpi::InitInfo i = mpi::init();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("rank", i.rank);
    out.Set("size", i.size);
    out.Set("version", i.version);
    out.Set("library", i.library);
    out.Set("threadLevel", i.threadLevel);
    return out;
  });
  PFC_EXPORT(exports, env, "mpiAllGather", {
    mpi::allGather(tensorArg(info, 0, "send"), tensorArg(info, 1, "recv"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "mpiAllReduce", {
    mpi::allReduce(tensorArg(info, 0, "tensor"), reduceOpArg(info, 1));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "mpiReduceScatter", {
    mpi::reduceScatter(tensorArg(info, 0, "send"), tensorArg(info, 1, "recv"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "mpiBroadcast", {
    mpi::broadcast(tensorArg(info, 0, "tensor"), intArg(info, 1, "root"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "mpiBarrier", {
    mpi::barrier();
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "mpiAbort", {
    mpi::abort(intArg(info, 0, "code"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "mpiFinalize", {
    mpi::finalize();
    return info.Env().Undefined();
  });
}

}  // namespace pfc::bind
