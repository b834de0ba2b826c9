// The op families, exported one function each. Arguments arrive already validated by the
// TypeScript layer; shapes are still checked here since a wrong one would corrupt memory.
#include "bind/binding.h"
#include "ops/gemm.h"
#include "ops/normalize.h"
#include "ops/random.h"
#include "ops/rows.h"
#include "ops/sampling.h"
#include "ops/sgd.h"
#include "ops/softmax.h"

namespace pfc::bind {

static uint64_t u64Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const double v = numberArg(info, i, name);
  if (v < 0 || v > 9007199254740991.0) PFC_THROW(Invalid, std::string(name) + " must be a non-negative safe integer");
  return static_cast<uint64_t>(v);
}

static MarginParams marginArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsObject()) PFC_THROW(Invalid, "margin must be an object {s, m1, m2, m3}");
  Napi::Object o = info[i].As<Napi::Object>();
  auto get = [&](const char* k) {
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) PFC_THROW(Invalid, std::string("margin.") + k + " must be a number");
    return v.As<Napi::Number>().FloatValue();
  };
  return MarginParams{get("s"), get("m1"), get("m2"), get("m3")};
}

// {lr, momentum, weightDecay} and, for sgdUpdate, dense.
static SgdParams sgdArg(const Napi::CallbackInfo& info, size_t i, bool withDense) {
  if (i >= info.Length() || !info[i].IsObject()) PFC_THROW(Invalid, "sgd params must be an object");
  Napi::Object o = info[i].As<Napi::Object>();
  auto num = [&](const char* k) {
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) PFC_THROW(Invalid, std::string("sgd params.") + k + " must be a number");
    return v.As<Napi::Number>().FloatValue();
  };
  bool dense = false;
  if (withDense) {
    Napi::Value d = o.Get("dense");
    if (!d.IsBoolean()) PFC_THROW(Invalid, "sgdUpdate: params.dense must be a boolean");
    dense = d.As<Napi::Boolean>().Value();
  }
  return SgdParams{num("lr"), num("momentum"), num("weightDecay"), dense};
}

// Optional {offset, active}: the logits are a tile of the active columns (the logit-free step);
// absent, they are the whole row {0, cols}.
static LogitColumns columnsArg(const Napi::CallbackInfo& info, size_t i, int64_t cols) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return LogitColumns{0, cols};
  if (!info[i].IsObject()) PFC_THROW(Invalid, "columns must be an object {offset, active}");
  Napi::Object o = info[i].As<Napi::Object>();
  auto num = [&](const char* k) {
    Napi::Value v = o.Get(k);
    if (!v.IsNumber()) PFC_THROW(Invalid, std::string("columns.") + k + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d)))
      PFC_THROW(Invalid, std::string("columns.") + k + " must be a non-negative integer");
    return static_cast<int64_t>(d);
  };
  return LogitColumns{num("offset"), num("active")};
}

void registerOps(Napi::Env env, Napi::Object exports) {
  PFC_EXPORT(exports, env, "fillRandom", {
    const std::string dist = stringArg(info, 4, "distribution");
    if (dist != "uniform" && dist != "normal") PFC_THROW(Invalid, "distribution must be uniform or normal");
    FillParams p{u64Arg(info, 1, "seed"), u64Arg(info, 2, "stream"), u64Arg(info, 3, "counterOffset"),
                 dist == "uniform" ? Distribution::Uniform : Distribution::Normal,
                 static_cast<float>(numberArg(info, 5, "a")), static_cast<float>(numberArg(info, 6, "b"))};
    fillRandom(tensorArg(info, 0, "tensor"), p);
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "fillLabels", {
    fillLabels(tensorArg(info, 0, "labels"), u64Arg(info, 1, "seed"), u64Arg(info, 2, "stream"),
               u64Arg(info, 3, "counterOffset"), static_cast<int64_t>(numberArg(info, 4, "numClasses")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "fillConstant", {
    fillConstant(tensorArg(info, 0, "tensor"), static_cast<float>(numberArg(info, 1, "value")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "gatherRows", {
    gatherRows(tensorArg(info, 0, "src"), tensorArg(info, 1, "indices"), tensorArg(info, 2, "dst"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "scatterAddRows", {
    scatterAddRows(tensorArg(info, 0, "src"), tensorArg(info, 1, "indices"), tensorArg(info, 2, "dst"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "copyTensor", {
    copyTensor(tensorArg(info, 0, "src"), tensorArg(info, 1, "dst"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "normalizeRows", {
    const Tensor& src = tensorArg(info, 0, "src");
    const Tensor* indices = optionalTensorArg(info, 1, "indices");
    const Tensor& dst = tensorArg(info, 2, "dst");
    const Tensor& norms = tensorArg(info, 3, "norms");
    if (info.Length() < 5 || info[4].IsUndefined() || info[4].IsNull()) {
      normalizeRows(src, indices, dst, norms);
      return info.Env().Undefined();
    }
    // catchUp: {momentum, lastStep, step, sgd: {lr, momentum, weightDecay}}
    if (!info[4].IsObject()) PFC_THROW(Invalid, "normalizeRows: catchUp must be an object");
    Napi::Object o = info[4].As<Napi::Object>();
    Napi::Value m = o.Get("momentum"), l = o.Get("lastStep"), st = o.Get("step"), sg = o.Get("sgd");
    if (!TensorWrap::isTensor(m) || !TensorWrap::isTensor(l))
      PFC_THROW(Invalid, "normalizeRows: catchUp.momentum and catchUp.lastStep must be tensors");
    if (!st.IsNumber()) PFC_THROW(Invalid, "normalizeRows: catchUp.step must be a number");
    if (!sg.IsObject()) PFC_THROW(Invalid, "normalizeRows: catchUp.sgd must be an object");
    Napi::Object so = sg.As<Napi::Object>();
    auto rate = [&](const char* k) {
      Napi::Value v = so.Get(k);
      if (!v.IsNumber()) PFC_THROW(Invalid, std::string("normalizeRows: catchUp.sgd.") + k + " must be a number");
      return v.As<Napi::Number>().FloatValue();
    };
    const SgdParams sgd{rate("lr"), rate("momentum"), rate("weightDecay"), false};
    const Tensor& momentum = Napi::ObjectWrap<TensorWrap>::Unwrap(m.As<Napi::Object>())->tensor;
    const Tensor& lastStep = Napi::ObjectWrap<TensorWrap>::Unwrap(l.As<Napi::Object>())->tensor;
    normalizeRows(src, indices, dst, norms, &momentum, &lastStep, static_cast<int64_t>(st.As<Napi::Number>().DoubleValue()),
                  &sgd);
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "normalizeRowsBackward", {
    normalizeRowsBackward(tensorArg(info, 0, "grad"), tensorArg(info, 1, "normalized"), tensorArg(info, 2, "norms"));
    return info.Env().Undefined();
  });
  // The CPU's bf16 GEMM takes this from 'workspace' for each call (ops/gemm.h).
  exports.Set("cpuBf16GemmWorkspaceBytes", Napi::Number::New(env, static_cast<double>(cpu::kBf16GemmWorkspaceBytes)));
  PFC_EXPORT(exports, env, "gemm", {
    gemm(tensorArg(info, 0, "a"), boolArg(info, 1, "transA"), tensorArg(info, 2, "b"), boolArg(info, 3, "transB"),
         tensorArg(info, 4, "c"), static_cast<float>(numberArg(info, 5, "alpha")),
         static_cast<float>(numberArg(info, 6, "beta")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "marginSoftmaxStats", {
    const int64_t cols = static_cast<int64_t>(numberArg(info, 1, "cols"));
    marginSoftmaxStats(tensorArg(info, 0, "logits"), cols, tensorArg(info, 2, "labels"), marginArg(info, 3),
                       tensorArg(info, 4, "targetCos"), tensorArg(info, 5, "localMax"), tensorArg(info, 6, "rowMax"),
                       tensorArg(info, 7, "rowSum"), tensorArg(info, 8, "targetLogit"), columnsArg(info, 9, cols));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "rescaleRowStats", {
    rescaleRowStats(tensorArg(info, 0, "labels"), tensorArg(info, 1, "localMax"), tensorArg(info, 2, "rowMax"),
                    tensorArg(info, 3, "rowSum"), tensorArg(info, 4, "targetLogit"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "crossEntropyLossSum", {
    return Napi::Number::New(info.Env(),
                             crossEntropyLossSum(tensorArg(info, 0, "rowSum"), tensorArg(info, 1, "targetLogit")));
  });
  PFC_EXPORT(exports, env, "marginSoftmaxGrad", {
    const int64_t cols = static_cast<int64_t>(numberArg(info, 1, "cols"));
    marginSoftmaxGrad(tensorArg(info, 0, "logits"), cols, tensorArg(info, 2, "labels"), marginArg(info, 3),
                      tensorArg(info, 4, "rowMax"), tensorArg(info, 5, "rowSum"), tensorArg(info, 6, "targetCos"),
                      static_cast<float>(numberArg(info, 7, "gradScale")), columnsArg(info, 8, cols));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "sampleCentres", {
    if (info.Length() < 2 || !info[1].IsObject()) PFC_THROW(Invalid, "sampleCentres: spec must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    auto num = [&](const char* k) {
      Napi::Value v = o.Get(k);
      if (!v.IsNumber()) PFC_THROW(Invalid, std::string("sampleCentres: spec.") + k + " must be a number");
      return v.As<Napi::Number>().DoubleValue();
    };
    SampleSpec spec{static_cast<int64_t>(num("shardOffset")), static_cast<int64_t>(num("shardSize")),
                    static_cast<int64_t>(num("numSampled")), static_cast<uint64_t>(num("seed")),
                    static_cast<uint64_t>(num("stream"))};
    const int64_t active = sampleCentres(tensorArg(info, 0, "labels"), spec, tensorArg(info, 2, "keys"),
                                         tensorArg(info, 3, "indices"), tensorArg(info, 4, "remapped"));
    return Napi::Number::New(info.Env(), static_cast<double>(active));
  });
  PFC_EXPORT(exports, env, "shardLabels", {
    shardLabels(tensorArg(info, 0, "labels"), static_cast<int64_t>(numberArg(info, 1, "shardOffset")),
                static_cast<int64_t>(numberArg(info, 2, "shardSize")), tensorArg(info, 3, "remapped"));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "sgdUpdate", {
    const SgdParams p = sgdArg(info, 4, true);
    sgdUpdate(tensorArg(info, 0, "weights"), tensorArg(info, 1, "momentum"), tensorArg(info, 2, "grad"),
              optionalTensorArg(info, 3, "indices"), p);
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "sgdNormalizedUpdate", {
    const SgdParams p = sgdArg(info, 6, false);
    sgdNormalizedUpdate(tensorArg(info, 0, "weights"), tensorArg(info, 1, "momentum"),
                        tensorArg(info, 2, "gradNormalized"), tensorArg(info, 3, "normalized"),
                        tensorArg(info, 4, "norms"), optionalTensorArg(info, 5, "indices"), p,
                        optionalTensorArg(info, 7, "lastStep"), static_cast<int64_t>(numberArg(info, 8, "step")));
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "sgdIdleRows", {
    const SgdParams p = sgdArg(info, 3, false);
    sgdIdleRows(tensorArg(info, 0, "weights"), tensorArg(info, 1, "momentum"), tensorArg(info, 2, "activeIndices"), p);
    return info.Env().Undefined();
  });
  PFC_EXPORT(exports, env, "sgdCatchUp", {
    const SgdParams p = sgdArg(info, 5, false);
    sgdCatchUp(tensorArg(info, 0, "weights"), tensorArg(info, 1, "momentum"), tensorArg(info, 2, "lastStep"),
               optionalTensorArg(info, 3, "indices"), static_cast<int64_t>(numberArg(info, 4, "step")), p);
    return info.Env().Undefined();
  });
}

}  // namespace pfc::bind
