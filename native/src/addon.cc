// The pfc-bench native core as one Node addon: tensors, op families, runtime queries and,
// when built with them, the MPI and NCCL communicators.
#include <napi.h>

#include "bind/binding.h"
#include "ops/cpu/simd.h"
#include "runtime/device.h"

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  // PFC_SIMD_MAX caps the CPU kernels' SIMD target; a bad value fails the load, naming it.
  try {
    pfc::cpu::applySimdEnvironment();
  } catch (const pfc::PfcError& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    return exports;
  }
  pfc::bind::registerTensor(env, exports);
  pfc::bind::registerOps(env, exports);
  pfc::bind::registerRuntime(env, exports);
#ifdef PFC_WITH_CUDA
  pfc::bind::registerCuda(env, exports);
#endif
  // Installs the CUDA allocator when a device is usable; cheap, creates no context, never throws.
  pfc::probeCuda();
  pfc::bind::registerComm(env, exports);
  return exports;
}

NODE_API_MODULE(pfc_core, init)
