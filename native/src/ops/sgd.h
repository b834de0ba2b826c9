// SGD with momentum and weight decay (PyTorch's convention, no dampening, no Nesterov):
//   v <- mu * v + (g + lambda * w);  w <- w - lr * v
// on the class centres W (C_r x D) and their momentum V, with the gradient given only for the
// active rows (grad: A x D, row k belongs to centre indices[k]; no indices: row k is centre k).
//   sparse (Partial FC v1, the seed): only active rows and their momentum change.
//   dense (Partial FC v2, arcface_torch): every row changes, with g = 0 for inactive rows.
#pragma once
#include "core/tensor.h"

namespace pfc {

struct SgdParams {
  float lr;
  float momentum;
  float weightDecay;
  bool dense;
};

void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p);

namespace cpu {
void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p);
}
namespace cuda {
void sgdUpdate(const Tensor& weights, const Tensor& momentum, const Tensor& grad, const Tensor* indices,
               const SgdParams& p);
}

}  // namespace pfc
