// One row's idle SGD steps (lazy-dense), a Highway kernel shared by the catch-up (sgd.cc) and
// the normalization's fused catch-up (normalize.cc): (v, w) <- M^k (v, w) per element in
// float64, with m = M^k from sgdIdleMatrix (ops/sgd.h). Included once per SIMD target by
// those files; the guard below follows Highway's per-target header convention.
#if defined(PFC_OPS_CPU_IDLE_STEPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef PFC_OPS_CPU_IDLE_STEPS_INL_H_
#undef PFC_OPS_CPU_IDLE_STEPS_INL_H_
#else
#define PFC_OPS_CPU_IDLE_STEPS_INL_H_
#endif

#include <hwy/highway.h>

#include "ops/cpu/simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {

inline void ApplyIdleSteps(float* w, float* v, int64_t cols, const double m[4]) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<double> dd;
  ForEachVector(dd, 0, cols, [&](auto dx, int64_t c) {
    const hn::Rebind<float, decltype(dx)> df;  // as many floats as doubles
    const auto vc = hn::PromoteTo(dx, hn::LoadU(df, v + c));
    const auto wc = hn::PromoteTo(dx, hn::LoadU(df, w + c));
    hn::StoreU(hn::DemoteTo(df, hn::MulAdd(hn::Set(dx, m[0]), vc, hn::Mul(hn::Set(dx, m[1]), wc))), df, v + c);
    hn::StoreU(hn::DemoteTo(df, hn::MulAdd(hn::Set(dx, m[2]), vc, hn::Mul(hn::Set(dx, m[3]), wc))), df, w + c);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#endif  // PFC_OPS_CPU_IDLE_STEPS_INL_H_
