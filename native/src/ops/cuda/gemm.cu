/*
C = alpha * op(A) op(B) + beta * C on the device through cuBLAS (dlopen'ed, runtime/cublas_loader.h).
Row-major C (m x n) is column-major C^T, and C^T = op(B)^T op(A)^T, so cublasGemmEx is called
with the operands swapped: (opB, opA, n, m, k, B, ldb = b.cols, A, lda = a.cols, C, ldc = n).
  a, b fp32        -> c fp32, CUBLAS_COMPUTE_32F (CUBLAS_COMPUTE_32F_FAST_TF32 with setAllowTf32(true))
  a, b bf16        -> c fp32 or bf16, fp32 accumulation (CUBLAS_COMPUTE_32F)
  a, b fp16        -> c fp32 or fp16, fp32 accumulation
No kernels of our own: cuBLAS runs on the core's stream.
*/
#include <climits>

#include "ops/cuda/cuda_util.cuh"
#include "ops/gemm.h"
#include "runtime/cublas_loader.h"

namespace pfc::cuda {

static cudaDataType cudaTypeOf(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::BF16: return CUDA_R_16BF;
    case DType::F16: return CUDA_R_16F;
    default: PFC_THROW(Invalid, std::string("gemm (cuda): unsupported dtype ") + dtypeName(t));
  }
}

void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta) {
  const char* op = "gemm (cuda)";
  PFC_CHECK(a.dtype == b.dtype, std::string(op) + ": a and b differ in dtype: " + a.describe() + " vs " + b.describe());
  PFC_CHECK(a.dtype != DType::I32, std::string(op) + ": int32 inputs are not supported");
  if (a.dtype == DType::F32) {
    requireDType(op, "c", c, DType::F32);
  } else {
    PFC_CHECK(c.dtype == DType::F32 || c.dtype == a.dtype,
              std::string(op) + ": c must be fp32 or " + dtypeName(a.dtype) + ", got " + c.describe());
  }
  const int64_t m = c.rows, n = c.cols, k = transA ? a.rows : a.cols;
  if (m == 0 || n == 0) return;
  for (int64_t v : {m, n, k, a.cols, b.cols})
    PFC_CHECK(v <= INT_MAX, std::string(op) + ": a dimension exceeds the 32-bit range of cuBLAS");

  cublas::Handle h = cublas::handle();
  const cublas::Api& api = cublas::api();
  const bool tf32 = a.dtype == DType::F32 && allowTf32();
  PFC_CUBLAS_CHECK(api.setMathMode(h, tf32 ? cublas::kTf32TensorOpMath : cublas::kDefaultMath), "cublasSetMathMode");
  const int computeType = tf32 ? cublas::kCompute32FFastTF32 : cublas::kCompute32F;
  const int lda = static_cast<int>(std::max<int64_t>(a.cols, 1));
  const int ldb = static_cast<int>(std::max<int64_t>(b.cols, 1));
  const int ldc = static_cast<int>(n);
  const cublas::Status status = api.gemmEx(h, transB ? cublas::kOpT : cublas::kOpN, transA ? cublas::kOpT : cublas::kOpN,
                                   static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b.raw(),
                                   cudaTypeOf(b.dtype), ldb, a.raw(), cudaTypeOf(a.dtype), lda, &beta, c.raw(),
                                   cudaTypeOf(c.dtype), ldc, computeType, cublas::kGemmDefault);
  PFC_CUBLAS_CHECK(status, "cublasGemmEx (m=" + std::to_string(m) + ", n=" + std::to_string(n) +
                               ", k=" + std::to_string(k) + ", " + dtypeName(a.dtype) + " -> " + dtypeName(c.dtype) + ")");
}

}  // namespace pfc::cuda
