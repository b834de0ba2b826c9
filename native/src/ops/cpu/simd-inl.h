// Loops shared by the Highway kernels of ops/cpu, included once per SIMD target (Highway's
// per-target header convention, hence the guard below). Each walks [begin, end) in whole
// vectors of `d`, then the remaining elements one at a time through a one-lane descriptor of
// the same target: the tail runs the same instructions (FMA or not, Highway's Exp) as the
// body, so an element's result does not depend on where it sits in its row.
#if defined(PFC_OPS_CPU_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef PFC_OPS_CPU_SIMD_INL_H_
#undef PFC_OPS_CPU_SIMD_INL_H_
#else
#define PFC_OPS_CPU_SIMD_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// op(dx, i) for each vector (or single lane) starting at i.
template <class D, class Op>
HWY_INLINE void ForEachVector(D d, int64_t begin, int64_t end, const Op& op) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = begin;
  for (; i + N <= end; i += N) op(d, i);
  const hn::CappedTag<hn::TFromD<D>, 1> d1;
  for (; i < end; ++i) op(d1, i);
}

// The sum over [begin, end) of the lanes of term(dx, i); two accumulators keep the adds apart.
template <class D, class Term>
HWY_INLINE hn::TFromD<D> SumOver(D d, int64_t begin, int64_t end, const Term& term) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto acc0 = hn::Zero(d), acc1 = hn::Zero(d);
  int64_t i = begin;
  for (; i + 2 * N <= end; i += 2 * N) {
    acc0 = hn::Add(acc0, term(d, i));
    acc1 = hn::Add(acc1, term(d, i + N));
  }
  for (; i + N <= end; i += N) acc0 = hn::Add(acc0, term(d, i));
  hn::TFromD<D> sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(acc0, acc1)));
  const hn::CappedTag<hn::TFromD<D>, 1> d1;
  for (; i < end; ++i) sum += hn::GetLane(term(d1, i));
  return sum;
}

// The largest lane of term(dx, i) over [begin, end), or `init` when it is larger.
template <class D, class Term>
HWY_INLINE hn::TFromD<D> MaxOver(D d, int64_t begin, int64_t end, hn::TFromD<D> init, const Term& term) {
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  auto acc = hn::Set(d, init);
  int64_t i = begin;
  for (; i + N <= end; i += N) acc = hn::Max(acc, term(d, i));
  hn::TFromD<D> best = hn::GetLane(hn::MaxOfLanes(d, acc));
  const hn::CappedTag<hn::TFromD<D>, 1> d1;
  for (; i < end; ++i) {
    const hn::TFromD<D> x = hn::GetLane(term(d1, i));
    best = x > best ? x : best;
  }
  return best;
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#endif  // PFC_OPS_CPU_SIMD_INL_H_
