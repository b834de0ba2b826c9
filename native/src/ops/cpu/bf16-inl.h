// Loads and stores of fp32 or bf16 rows as Highway fp32 vectors, included once per SIMD target
// (Highway's per-target header convention, hence the guard below). A kernel written with
// LoadF/StoreF runs on either storage type with the same fp32 instructions; the bf16 store
// rounds exactly as ops/cpu/bf16.h's floatToBf16 (to nearest even, NaN to 0x7FFF), so vector
// bodies and one-lane tails (simd-inl.h) round alike.
#if defined(PFC_OPS_CPU_BF16_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef PFC_OPS_CPU_BF16_INL_H_
#undef PFC_OPS_CPU_BF16_INL_H_
#else
#define PFC_OPS_CPU_BF16_INL_H_
#endif

#include <hwy/highway.h>

#include "ops/cpu/bf16.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {

template <class DF>
HWY_INLINE hwy::HWY_NAMESPACE::Vec<DF> LoadF(DF df, const float* p) {
  return hwy::HWY_NAMESPACE::LoadU(df, p);
}

// bf16 -> fp32 is exact: the 16 bits become the top half of the fp32 word.
template <class DF>
HWY_INLINE hwy::HWY_NAMESPACE::Vec<DF> LoadF(DF df, const Bf16* p) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::RebindToUnsigned<DF> du32;
  const hn::Rebind<uint16_t, DF> du16;
  const auto bits = hn::PromoteTo(du32, hn::LoadU(du16, reinterpret_cast<const uint16_t*>(p)));
  return hn::BitCast(df, hn::ShiftLeft<16>(bits));
}

template <class DF>
HWY_INLINE void StoreF(DF df, hwy::HWY_NAMESPACE::Vec<DF> v, float* p) {
  hwy::HWY_NAMESPACE::StoreU(v, df, p);
}

template <class DF>
HWY_INLINE void StoreF(DF df, hwy::HWY_NAMESPACE::Vec<DF> v, Bf16* p) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::RebindToUnsigned<DF> du32;
  const hn::RebindToSigned<DF> di32;
  const hn::Rebind<uint16_t, DF> du16;
  const auto u = hn::BitCast(du32, v);
  const auto lsb = hn::And(hn::ShiftRight<16>(u), hn::Set(du32, 1u));
  auto r = hn::ShiftRight<16>(hn::Add(u, hn::Add(hn::Set(du32, 0x7FFFu), lsb)));
  r = hn::IfThenElse(hn::RebindMask(du32, hn::IsNaN(v)), hn::Set(du32, 0x7FFFu), r);
  // Every lane is below 2^16 now: the saturating demotion keeps it as it is.
  hn::StoreU(hn::DemoteTo(du16, hn::BitCast(di32, r)), du16, reinterpret_cast<uint16_t*>(p));
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#endif  // PFC_OPS_CPU_BF16_INL_H_
