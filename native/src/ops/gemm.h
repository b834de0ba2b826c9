// C = alpha * op(A) op(B) + beta * C, row-major, op = transpose or not.
// CPU: OpenBLAS sgemm; fp32, or bf16 inputs (converted to fp32, exactly) with an fp32 or bf16
// output (rounded once, at the end), fp32 accumulation.
// CUDA: cuBLAS (loaded at run time), fp32 or bf16/fp16 inputs with fp32 accumulation.
#pragma once
#include "core/tensor.h"

namespace pfc {

void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
void setCpuThreads(int threads);
int cpuThreads();
const char* blasInfo();

namespace cpu {
// The bf16 GEMM converts blocks of at most kBf16GemmBlock x kBf16GemmBlock of A, B and C to fp32
// in one buffer of this many bytes, taken from the tagged allocator ('workspace') for the call:
// the same size for every bf16 GEMM, whatever its shape, so the memory model is one constant.
constexpr int64_t kBf16GemmBlock = 512;
constexpr int64_t kBf16GemmWorkspaceBytes = 3 * kBf16GemmBlock * kBf16GemmBlock * 4;
void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
}
namespace cuda {
void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
}

}  // namespace pfc
