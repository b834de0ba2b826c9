#include <new>

#include "bind/binding.h"

namespace pfc::bind {

static void throwJs(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
}

Napi::Value guard(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& fn) {
  Napi::Env env = info.Env();
  try {
    return fn();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const PfcError& e) {
    throwJs(env, e.what(), errorCodeName(e.code()));
  } catch (const std::bad_alloc&) {
    throwJs(env, "out of memory: a host allocation failed", "PFC_OOM");
  } catch (const std::exception& e) {
    throwJs(env, e.what(), "PFC_ERROR");
  }
  return env.Undefined();
}

const Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !TensorWrap::isTensor(info[i]))
    PFC_THROW(Invalid, std::string("argument '") + name + "' must be a Tensor");
  return TensorWrap::Unwrap(info[i].As<Napi::Object>())->tensor;
}

const Tensor* optionalTensorArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return &tensorArg(info, i, name);
}

double numberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber())
    PFC_THROW(Invalid, std::string("argument '") + name + "' must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBoolean())
    PFC_THROW(Invalid, std::string("argument '") + name + "' must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsString())
    PFC_THROW(Invalid, std::string("argument '") + name + "' must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Device deviceFromName(const std::string& name) {
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  PFC_THROW(Invalid, "unknown device '" + name + "' (expected cpu or cuda)");
}

}  // namespace pfc::bind
