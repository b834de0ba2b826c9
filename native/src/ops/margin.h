// The combined margin of ArcFace/CosFace/SphereFace: the target logit is
// s * (cos(m1 * theta + m2) - m3) with theta = acos(c), every other logit is s * c, where c is
// the cosine clamped to [-1, 1]. Only the math lives here: the softmax passes (ops/softmax.h)
// apply it on the fly, so margin logits are never stored.
#pragma once
#include <cmath>

#include "ops/hd.h"

namespace pfc {

struct MarginParams {
  float s;
  float m1;
  float m2;
  float m3;
};

// sin(theta) is floored so the gradient stays finite at c = +-1; the float64 reference in
// the tests uses the same floor.
constexpr float kMarginSinFloor = 1e-6f;

// Ternaries, not fmin/fmax: those keep NaN rules that stop GCC from vectorizing.
PFC_HD float clampCos(float x) { return x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x); }

PFC_HD bool marginIsCosFace(const MarginParams& p) { return p.m1 == 1.0f && p.m2 == 0.0f; }

PFC_HD float marginTarget(float c, const MarginParams& p) {
  if (marginIsCosFace(p)) return c - p.m3;
  const float theta = acosf(c);
  return cosf(p.m1 * theta + p.m2) - p.m3;
}

// d/dc of marginTarget(c).
PFC_HD float marginTargetGrad(float c, const MarginParams& p) {
  if (marginIsCosFace(p)) return 1.0f;
  const float theta = acosf(c);
  const float sinTheta = fmaxf(sqrtf(fmaxf(1.0f - c * c, 0.0f)), kMarginSinFloor);
  return p.m1 * sinf(p.m1 * theta + p.m2) / sinTheta;
}

}  // namespace pfc
