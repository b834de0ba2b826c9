// Row movement: gather rows by index, scatter-add rows by index, copy between tensors (and
// between host and device). Indices are int32 row numbers into the larger tensor.
#pragma once
#include "core/tensor.h"

namespace pfc {

void gatherRows(const Tensor& src, const Tensor& indices, const Tensor& dst);      // dst[k] = src[idx[k]]
void scatterAddRows(const Tensor& src, const Tensor& indices, const Tensor& dst);  // dst[idx[k]] += src[k]
void copyTensor(const Tensor& src, const Tensor& dst);                             // same shape and dtype

namespace cpu {
void gatherRows(const Tensor& src, const Tensor& indices, const Tensor& dst);
void scatterAddRows(const Tensor& src, const Tensor& indices, const Tensor& dst);
void copyTensor(const Tensor& src, const Tensor& dst);
}  // namespace cpu
namespace cuda {
void gatherRows(const Tensor& src, const Tensor& indices, const Tensor& dst);
void scatterAddRows(const Tensor& src, const Tensor& indices, const Tensor& dst);
void copyTensor(const Tensor& src, const Tensor& dst);  // any direction: host<->device, device<->device
}  // namespace cuda

}  // namespace pfc
