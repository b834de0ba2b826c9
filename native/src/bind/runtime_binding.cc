// Process-wide runtime: build information, threads, memory accounting, device queries.
#include "bind/binding.h"

#ifdef PFC_CUDA_SIM
#include "sim/exec.h"
#endif
#include "ops/cpu/simd.h"
#include "ops/gemm.h"
#include "runtime/device.h"
#include "runtime/libraries.h"

namespace pfc::bind {

static Napi::Object countersObject(Napi::Env env, const MemoryCounters& c) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Object current = Napi::Object::New(env), peak = Napi::Object::New(env), atPeak = Napi::Object::New(env);
  for (int k = 0; k < kNumCategories; ++k) {
    const char* name = categoryName(static_cast<Category>(k));
    current.Set(name, static_cast<double>(c.current[k]));
    peak.Set(name, static_cast<double>(c.peak[k]));
    atPeak.Set(name, static_cast<double>(c.atTotalPeak[k]));
  }
  out.Set("current", current);
  out.Set("peak", peak);
  out.Set("atTotalPeak", atPeak);
  out.Set("total", static_cast<double>(c.total));
  out.Set("totalPeak", static_cast<double>(c.totalPeak));
  out.Set("budget", static_cast<double>(c.budget));
  out.Set("allocations", static_cast<double>(c.allocations));
  return out;
}

void registerRuntime(Napi::Env env, Napi::Object exports) {
  PFC_EXPORT(exports, env, "buildInfo", {
    Napi::Env e = info.Env();
    Napi::Object out = Napi::Object::New(e);
    out.Set("blas", blasInfo());
#ifdef PFC_WITH_CUDA
    out.Set("cuda", true);
#else
    out.Set("cuda", false);
#endif
#ifdef PFC_MPI_PLUGIN_BUILT
    out.Set("mpi", true);  // pfc_mpi.so was built; whether libmpi loads here, libraries() says
#else
    out.Set("mpi", false);
#endif
    out.Set("compiler", __VERSION__);
    out.Set("simd", cpu::simdTarget());
    const std::vector<std::string> targets = cpu::simdTargetsAvailable();
    Napi::Array available = Napi::Array::New(e, targets.size());
    for (size_t i = 0; i < targets.size(); ++i) available.Set(static_cast<uint32_t>(i), targets[i]);
    out.Set("simdTargets", available);
#ifdef PFC_CUDA_SIM
    out.Set("simulated", true);  // the CUDA device of this addon is the host (sim/)
#else
    out.Set("simulated", false);
#endif
    return out;
  });
#ifdef PFC_CUDA_SIM
  PFC_EXPORT(exports, env, "simLaunchCount", {
    return Napi::Number::New(info.Env(), static_cast<double>(sim::launchCount()));
  });
#endif
  // Caps the CPU kernels' SIMD target ('best' lifts the cap); returns the target now used.
  PFC_EXPORT(exports, env, "setSimdTarget", {
    return Napi::String::New(info.Env(), cpu::restrictSimdTarget(info[0].As<Napi::String>().Utf8Value()));
  });
  PFC_EXPORT(exports, env, "libraries", {
    // Never throws: a missing library is an answer.
    Napi::Env e = info.Env();
    const std::vector<LibraryInfo> libs = runtimeLibraries();
    Napi::Array out = Napi::Array::New(e, libs.size());
    for (size_t i = 0; i < libs.size(); ++i) {
      Napi::Object o = Napi::Object::New(e);
      o.Set("name", libs[i].name);
      o.Set("found", libs[i].found);
      o.Set("path", libs[i].path);
      o.Set("version", libs[i].version);
      o.Set("note", libs[i].note);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  });
  PFC_EXPORT(exports, env, "setThreads", {
    setCpuThreads(static_cast<int>(numberArg(info, 0, "threads")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "threads", { return Napi::Number::New(info.Env(), cpuThreads()); });
  PFC_EXPORT(exports, env, "memoryStats", {
    return countersObject(info.Env(), MemoryTracker::instance().snapshot(deviceFromName(stringArg(info, 0, "device"))));
  });
  PFC_EXPORT(exports, env, "resetMemoryPeaks", {
    MemoryTracker::instance().resetPeaks(deviceFromName(stringArg(info, 0, "device")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "setMemoryBudget", {
    MemoryTracker::instance().setBudget(deviceFromName(stringArg(info, 0, "device")),
                                        static_cast<int64_t>(numberArg(info, 1, "bytes")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "cudaProbe", {
    // Never throws: "no CUDA device" is an answer, not an error.
    const CudaProbe p = probeCuda();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("usable", p.usable);
    out.Set("reason", p.reason);
    out.Set("name", p.name);
    out.Set("totalBytes", static_cast<double>(p.totalBytes));
    out.Set("driverVersion", p.driverVersion);
    out.Set("runtimeVersion", p.runtimeVersion);
    out.Set("smCount", p.smCount);
    return out;
  });
  PFC_EXPORT(exports, env, "synchronize", {
    synchronizeDevice(deviceFromName(stringArg(info, 0, "device")));
    return info.Env().Undefined();
  });
}

}  // namespace pfc::bind
