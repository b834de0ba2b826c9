#include <cstring>

#include "bind/binding.h"
#include "ops/rows.h"

namespace pfc::bind {

Napi::FunctionReference* TensorWrap::constructor = nullptr;

Napi::Function TensorWrap::define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeTensor",
                                    {InstanceAccessor<&TensorWrap::rows>("rows"),
                                     InstanceAccessor<&TensorWrap::cols>("cols"),
                                     InstanceAccessor<&TensorWrap::dtype>("dtype"),
                                     InstanceAccessor<&TensorWrap::device>("device"),
                                     InstanceAccessor<&TensorWrap::category>("category"),
                                     InstanceAccessor<&TensorWrap::isFreed>("freed"),
                                     InstanceMethod<&TensorWrap::view>("view"),
                                     InstanceMethod<&TensorWrap::reshape>("reshape"),
                                     InstanceMethod<&TensorWrap::read>("read"),
                                     InstanceMethod<&TensorWrap::write>("write"),
                                     InstanceMethod<&TensorWrap::free>("free")});
  constructor = new Napi::FunctionReference(Napi::Persistent(ctor));
  return ctor;
}

bool TensorWrap::isTensor(const Napi::Value& v) {
  return v.IsObject() && constructor && v.As<Napi::Object>().InstanceOf(constructor->Value());
}

// new NativeTensor(device, category, dtype, rows, cols) allocates; a view is made by wrap().
TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  if (info.Length() == 0) return;  // filled in by wrap()
  guard(info, [&]() -> Napi::Value {
    const Device device = deviceFromName(stringArg(info, 0, "device"));
    Category category;
    const std::string categoryName = stringArg(info, 1, "category");
    if (!categoryFromName(categoryName.c_str(), &category))
      PFC_THROW(Invalid, "unknown memory category '" + categoryName + "'");
    DType dtype;
    const std::string dtypeName = stringArg(info, 2, "dtype");
    if (!dtypeFromName(dtypeName, &dtype)) PFC_THROW(Invalid, "unknown dtype '" + dtypeName + "'");
    const double rows = numberArg(info, 3, "rows"), cols = numberArg(info, 4, "cols");
    tensor = Tensor::create(device, category, dtype, static_cast<int64_t>(rows), static_cast<int64_t>(cols));
    return info.Env().Undefined();
  });
}

Napi::Object TensorWrap::wrap(Napi::Env env, const Tensor& t) {
  Napi::Object obj = constructor->New({});
  Unwrap(obj)->tensor = t;
  return obj;
}

Napi::Value TensorWrap::rows(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tensor.rows));
}
Napi::Value TensorWrap::cols(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(tensor.cols));
}
Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtypeName(tensor.dtype));
}
Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tensor.storage && tensor.device() == Device::Cuda ? "cuda" : "cpu");
}
Napi::Value TensorWrap::category(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tensor.storage ? categoryName(tensor.storage->category) : "workspace");
}
Napi::Value TensorWrap::isFreed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor.storage || !tensor.storage->data);
}

Napi::Value TensorWrap::view(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const int64_t start = static_cast<int64_t>(numberArg(info, 0, "start"));
    const int64_t count = static_cast<int64_t>(numberArg(info, 1, "count"));
    return wrap(info.Env(), tensor.rowView(start, count));
  });
}

Napi::Value TensorWrap::reshape(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    const int64_t rows = static_cast<int64_t>(numberArg(info, 0, "rows"));
    const int64_t cols = static_cast<int64_t>(numberArg(info, 1, "cols"));
    return wrap(info.Env(), tensor.reshapeView(rows, cols));
  });
}

// Copies the tensor into a new Float32Array / Int32Array (from the device if needed).
// Half-precision storage is returned as the raw 16-bit values in a Uint16Array.
Napi::Value TensorWrap::read(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const size_t n = static_cast<size_t>(tensor.numel());
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, static_cast<size_t>(tensor.bytes()));
    if (tensor.device() == Device::Cpu) {
      std::memcpy(buffer.Data(), tensor.raw(), buffer.ByteLength());
    } else {
      // The ArrayBuffer, borrowed as a host tensor, receives the copy from the device.
      copyTensor(tensor, Tensor::borrow(Device::Cpu, buffer.Data(), tensor.dtype, tensor.rows, tensor.cols));
    }
    switch (tensor.dtype) {
      case DType::F32: return Napi::Float32Array::New(env, n, buffer, 0);
      case DType::I32: return Napi::Int32Array::New(env, n, buffer, 0);
      default: return Napi::TypedArrayOf<uint16_t>::New(env, n, buffer, 0, napi_uint16_array);
    }
  });
}

Napi::Value TensorWrap::write(const Napi::CallbackInfo& info) {
  return guard(info, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsTypedArray()) PFC_THROW(Invalid, "write: expected a typed array");
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    const size_t bytes = array.ByteLength();
    if (static_cast<int64_t>(bytes) != tensor.bytes())
      PFC_THROW(Invalid, "write: " + std::to_string(bytes) + " bytes given for " + tensor.describe());
    const napi_typedarray_type type = array.TypedArrayType();
    const bool ok = (tensor.dtype == DType::F32 && type == napi_float32_array) ||
                    (tensor.dtype == DType::I32 && type == napi_int32_array) ||
                    ((tensor.dtype == DType::BF16 || tensor.dtype == DType::F16) && type == napi_uint16_array);
    if (!ok) PFC_THROW(Invalid, "write: typed array does not match " + tensor.describe());
    void* src = static_cast<char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    if (tensor.device() == Device::Cpu) {
      std::memcpy(tensor.raw(), src, bytes);
    } else {
      copyTensor(Tensor::borrow(Device::Cpu, src, tensor.dtype, tensor.rows, tensor.cols), tensor);
    }
    return info.Env().Undefined();
  });
}

// Frees the storage now (and for every view of it), so memory accounting does not wait for GC.
Napi::Value TensorWrap::free(const Napi::CallbackInfo& info) {
  if (tensor.storage) tensor.storage->release();
  return info.Env().Undefined();
}

void registerTensor(Napi::Env env, Napi::Object exports) { exports.Set("NativeTensor", TensorWrap::define(env)); }

}  // namespace pfc::bind
