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
// The bf16 GEMM converts blocks of A, B (and C when it is bf16) to fp32 in one buffer of this
// many bytes, taken from the tagged allocator ('workspace') for the call: the same size for
// every bf16 GEMM, whatever its shape, so the memory model adds one constant. The blocks are
// as large as the buffer allows: OpenBLAS pays a fixed cost per call (packing, waking its
// threads), which narrow blocks multiply.
constexpr int64_t kBf16GemmWorkspaceBytes = int64_t(16) << 20;
void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
}
namespace cuda {
void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta);
}

}  // namespace pfc
