// Shared pieces of the Node binding: the Tensor object, argument unwrapping, and the guard
// that turns every native failure into a JavaScript Error carrying a `code` (PFC_OOM, ...).
#pragma once
#include <napi.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

namespace pfc::bind {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, const Tensor& tensor);
  static bool isTensor(const Napi::Value& v);
  explicit TensorWrap(const Napi::CallbackInfo& info);
  Tensor tensor;

 private:
  static Napi::FunctionReference* constructor;
  Napi::Value rows(const Napi::CallbackInfo& info);
  Napi::Value cols(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value category(const Napi::CallbackInfo& info);
  Napi::Value view(const Napi::CallbackInfo& info);
  Napi::Value reshape(const Napi::CallbackInfo& info);
  Napi::Value read(const Napi::CallbackInfo& info);
  Napi::Value write(const Napi::CallbackInfo& info);
  Napi::Value free(const Napi::CallbackInfo& info);
  Napi::Value isFreed(const Napi::CallbackInfo& info);
};

const Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i, const char* name);
const Tensor* optionalTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name);
double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name);
bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* name);
Device deviceFromName(const std::string& name);

// Runs fn; a PfcError or any C++ exception becomes a thrown JavaScript Error.
Napi::Value guard(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& fn);

// Each binding file adds its functions to the module's exports.
void registerTensor(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);
void registerCuda(Napi::Env env, Napi::Object exports);  // CUDA builds only (cuda_binding.cc)
void registerComm(Napi::Env env, Napi::Object exports);  // MPI communicator (comm_binding.cc)

}  // namespace pfc::bind

#define PFC_EXPORT(exports, env, name, ...)                                                       \
  exports.Set(name, Napi::Function::New(                                                           \
                        env, [](const Napi::CallbackInfo& info) -> Napi::Value {                   \
                          return ::pfc::bind::guard(info, [&]() -> Napi::Value __VA_ARGS__);          \
                        },                                                                         \
                        name))
