// C = alpha * op(A) op(B) + beta * C, row-major, op = transpose or not. CPU: OpenBLAS sgemm.
// CUDA: cuBLAS (loaded at run time), fp32 or bf16/fp16 inputs with fp32 accumulation.
#pragma once
#include "core/tensor.h"

namespace pfc {

void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
void setCpuThreads(int threads);
int cpuThreads();
const char* blasInfo();

namespace cpu {
void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
}
namespace cuda {
void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
}

}  // namespace pfc
