// CPU twin of ops/cuda/softmax.cu. The row loops are Highway kernels, compiled once per SIMD
// target (this file includes itself through foreach_target.h) and dispatched at run time
// (ops/cpu/simd.h); OpenMP splits the rows outside them. Logits are fp32 or bf16 storage
// (ops/cpu/bf16.h) with fp32 math: read as fp32, the gradient rounded once where it is stored.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/softmax.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/cpu/bf16-inl.h"
#include "ops/cpu/simd-inl.h"
#include "ops/softmax.h"

HWY_BEFORE_NAMESPACE();
namespace pfc::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Folds z_j = scale * clamp(x_j), j in [a, b), into the running (max m, sum of exp(z - m)).
// Chunks small enough for L1: the chunk's max, then its exps against the updated max, so the
// cosines are read once from memory and the online rescale costs one exp per chunk.
template <typename T>
void FoldRangeT(const T* x, int64_t a, int64_t b, float scale, float* m, float* sum) {
  const hn::ScalableTag<float> d;
  constexpr int64_t kChunk = 512;
  const auto logit = [&](auto dx, int64_t j) {
    return hn::Mul(hn::Set(dx, scale), hn::Clamp(LoadF(dx, x + j), hn::Set(dx, -1.0f), hn::Set(dx, 1.0f)));
  };
  for (int64_t c0 = a; c0 < b; c0 += kChunk) {
    const int64_t c1 = std::min(b, c0 + kChunk);
    const float cm = MaxOver(d, c0, c1, -std::numeric_limits<float>::infinity(), logit);
    if (cm > *m) {
      *sum *= std::exp(*m - cm);  // 0 while m is -inf
      *m = cm;
    }
    const float mx = *m;
    *sum += SumOver(d, c0, c1, [&](auto dx, int64_t j) { return hn::Exp(dx, hn::Sub(logit(dx, j), hn::Set(dx, mx))); });
  }
}

void FoldRange(const float* x, int64_t a, int64_t b, float scale, float* m, float* sum) { FoldRangeT(x, a, b, scale, m, sum); }
void FoldRangeBf16(const Bf16* x, int64_t a, int64_t b, float scale, float* m, float* sum) { FoldRangeT(x, a, b, scale, m, sum); }

// row_j = exp(scale * clamp(row_j) - m) * k for j < cols, in place; [cols, ld) set to 0.
template <typename T>
void SoftmaxGradRowT(T* row, int64_t cols, int64_t ld, float scale, float m, float k) {
  const hn::ScalableTag<float> d;
  ForEachVector(d, 0, cols, [&](auto dx, int64_t j) {
    const auto c = hn::Clamp(LoadF(dx, row + j), hn::Set(dx, -1.0f), hn::Set(dx, 1.0f));
    const auto z = hn::MulSub(hn::Set(dx, scale), c, hn::Set(dx, m));
    StoreF(dx, hn::Mul(hn::Exp(dx, z), hn::Set(dx, k)), row + j);
  });
  std::fill(row + cols, row + ld, T{});  // +0 in either storage
}
void SoftmaxGradRow(float* row, int64_t cols, int64_t ld, float scale, float m, float k) { SoftmaxGradRowT(row, cols, ld, scale, m, k); }
void SoftmaxGradRowBf16(Bf16* row, int64_t cols, int64_t ld, float scale, float m, float k) {
  SoftmaxGradRowT(row, cols, ld, scale, m, k);
}

}  // namespace HWY_NAMESPACE
}  // namespace pfc::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace pfc::cpu {

HWY_EXPORT(FoldRange);
HWY_EXPORT(FoldRangeBf16);
HWY_EXPORT(SoftmaxGradRow);
HWY_EXPORT(SoftmaxGradRowBf16);

namespace {
void foldRange(const float* x, int64_t a, int64_t b, float scale, float* m, float* sum) {
  HWY_DYNAMIC_DISPATCH(FoldRange)(x, a, b, scale, m, sum);
}
void foldRange(const Bf16* x, int64_t a, int64_t b, float scale, float* m, float* sum) {
  HWY_DYNAMIC_DISPATCH(FoldRangeBf16)(x, a, b, scale, m, sum);
}
void softmaxGradRow(float* row, int64_t cols, int64_t ld, float scale, float m, float k) {
  HWY_DYNAMIC_DISPATCH(SoftmaxGradRow)(row, cols, ld, scale, m, k);
}
void softmaxGradRow(Bf16* row, int64_t cols, int64_t ld, float scale, float m, float k) {
  HWY_DYNAMIC_DISPATCH(SoftmaxGradRowBf16)(row, cols, ld, scale, m, k);
}

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The label's column within this tile, or -1 when the tile does not hold it.
int64_t tileColumn(int32_t label, int64_t cols, const LogitColumns& tile) {
  return label >= 0 && label >= tile.offset && label < tile.offset + cols ? label - tile.offset : -1;
}

template <typename T>
void marginSoftmaxStatsAs(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                          const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                          const Tensor& targetLogit, const LogitColumns& tile) {
  const int64_t rows = logits.rows, ld = logits.cols;
  const T* z = logits.data<T>();
  const int32_t* lab = labels.data<int32_t>();
  float* tc = targetCos.data<float>();
  float* lmx = localMax.data<float>();
  float* mx = rowMax.data<float>();
  float* sum = rowSum.data<float>();
  float* tl = targetLogit.data<float>();
  // A later tile folds into the statistics the earlier tiles left (online softmax).
  const bool first = tile.offset == 0;
  for (int64_t i = 0; i < rows; ++i)
    PFC_CHECK(lab[i] < tile.active, "marginSoftmaxStats: label " + std::to_string(lab[i]) + " outside " +
                                        std::to_string(tile.active) + " active centres");
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    const T* x = z + i * ld;
    const int64_t t = tileColumn(lab[i], cols, tile);
    float m = first ? kNegInf : lmx[i], s = first ? 0.0f : sum[i];
    // The target column is left out of the vector loops and folded in with its margin.
    foldRange(x, 0, t >= 0 ? t : cols, p.s, &m, &s);
    if (t >= 0) {
      foldRange(x, t + 1, cols, p.s, &m, &s);
      const float c = clampCos(loadScalar(x + t));
      const float v = p.s * marginTarget(c, p);
      if (v > m) {
        s = s * std::exp(m - v) + 1.0f;
        m = v;
      } else {
        s += std::exp(v - m);
      }
      tc[i] = c;
      tl[i] = v;
    } else if (first) {
      tc[i] = 0.0f;
      tl[i] = 0.0f;
    }
    lmx[i] = m;
    mx[i] = m;
    sum[i] = s;
  }
}

template <typename T>
void marginSoftmaxGradAs(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                         const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,
                         const LogitColumns& tile) {
  const int64_t rows = logits.rows, ld = logits.cols;
  T* z = logits.data<T>();
  const int32_t* lab = labels.data<int32_t>();
  const float* mx = rowMax.data<float>();
  const float* sum = rowSum.data<float>();
  const float* tc = targetCos.data<float>();
  const float sg = p.s * gradScale;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < rows; ++i) {
    T* row = z + i * ld;
    const float m = mx[i];
    const float k = sg / sum[i];
    softmaxGradRow(row, cols, ld, p.s, m, k);
    const int64_t t = tileColumn(lab[i], cols, tile);
    if (t >= 0) {
      const float v = p.s * marginTarget(tc[i], p);
      storeScalar(row + t, (std::exp(v - m) * k - sg) * marginTargetGrad(tc[i], p));
    }
  }
}
}  // namespace

void marginSoftmaxStats(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                        const Tensor& targetCos, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                        const Tensor& targetLogit, const LogitColumns& tile) {
  switch (logits.dtype) {
    case DType::F32: return marginSoftmaxStatsAs<float>(logits, cols, labels, p, targetCos, localMax, rowMax, rowSum, targetLogit, tile);
    case DType::BF16: return marginSoftmaxStatsAs<Bf16>(logits, cols, labels, p, targetCos, localMax, rowMax, rowSum, targetLogit, tile);
    default: PFC_THROW(Invalid, "marginSoftmaxStats (cpu): logits must be fp32 or bf16, got " + logits.describe());
  }
}

void rescaleRowStats(const Tensor& labels, const Tensor& localMax, const Tensor& rowMax, const Tensor& rowSum,
                     const Tensor& targetLogit) {
  const int32_t* lab = labels.data<int32_t>();
  const float* lmx = localMax.data<float>();
  const float* mx = rowMax.data<float>();
  float* sum = rowSum.data<float>();
  float* tl = targetLogit.data<float>();
  for (int64_t i = 0; i < labels.rows; ++i) {
    sum[i] = lmx[i] == kNegInf ? 0.0f : sum[i] * std::exp(lmx[i] - mx[i]);
    tl[i] = lab[i] >= 0 ? tl[i] - mx[i] : 0.0f;
  }
}

double crossEntropyLossSum(const Tensor& rowSum, const Tensor& targetLogit) {
  const float* sum = rowSum.data<float>();
  const float* tl = targetLogit.data<float>();
  double total = 0.0;
  for (int64_t i = 0; i < rowSum.rows; ++i) total += std::log(static_cast<double>(sum[i])) - tl[i];
  return total;
}

void marginSoftmaxGrad(const Tensor& logits, int64_t cols, const Tensor& labels, const MarginParams& p,
                       const Tensor& rowMax, const Tensor& rowSum, const Tensor& targetCos, float gradScale,
                       const LogitColumns& tile) {
  switch (logits.dtype) {
    case DType::F32: return marginSoftmaxGradAs<float>(logits, cols, labels, p, rowMax, rowSum, targetCos, gradScale, tile);
    case DType::BF16: return marginSoftmaxGradAs<Bf16>(logits, cols, labels, p, rowMax, rowSum, targetCos, gradScale, tile);
    default: PFC_THROW(Invalid, "marginSoftmaxGrad (cpu): logits must be fp32 or bf16, got " + logits.describe());
  }
}

}  // namespace pfc::cpu
#endif  // HWY_ONCE
