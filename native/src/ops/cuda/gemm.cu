/*
C = alpha * op(A) op(B) + beta * C on the device through cuBLAS (dlopen'ed, runtime/cublas_loader.h).
Row-major C (m x n) is column-major C^T, and C^T = op(B)^T op(A)^T, so cublasGemmEx is called
with the operands swapped: (opB, opA, n, m, k, B, ldb = b.cols, A, lda = a.cols, C, ldc = n).
  a, b fp32        -> c fp32, CUBLAS_COMPUTE_32F (CUBLAS_COMPUTE_32F_FAST_TF32 with setAllowTf32(true))
  a, b bf16        -> c fp32 or bf16, fp32 accumulation (CUBLAS_COMPUTE_32F)
  a, b fp16        -> c fp32 or fp16, fp32 accumulation
A product whose matrices pass 2^31 elements (model parallel's 1024 x 3.6M logits at 29M@8)
goes through cublasGemmEx_64: the 32-bit API's sizes fit, but its internal offsets are not
promised past that range.
No kernels of our own: cuBLAS runs on the core's stream, in the workspace the core gave it.
*/
#include <algorithm>
#include <climits>
#include <string>

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

// True when a size, a leading dimension or a whole matrix passes the 32-bit range.
static bool needs64BitGemm(const Tensor& a, const Tensor& b, const Tensor& c, int64_t k) {
  for (int64_t v : {c.rows, c.cols, k, a.cols, b.cols, a.numel(), b.numel(), c.numel()})
    if (v > INT_MAX) return true;
  return false;
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

  cublas::Handle h = cublas::handle();
  const cublas::Api& api = cublas::api();
  const bool tf32 = a.dtype == DType::F32 && allowTf32();
  PFC_CUBLAS_CHECK(api.setMathMode(h, tf32 ? cublas::kTf32TensorOpMath : cublas::kDefaultMath), "cublasSetMathMode");
  const int computeType = tf32 ? cublas::kCompute32FFastTF32 : cublas::kCompute32F;
  const int64_t lda = std::max<int64_t>(a.cols, 1), ldb = std::max<int64_t>(b.cols, 1), ldc = n;
  const int opA = (transB != PFC_MUTANT(TransposedGemm)) ? cublas::kOpT : cublas::kOpN;
  const int opB = transA ? cublas::kOpT : cublas::kOpN;
  const std::string what = "(m=" + std::to_string(m) + ", n=" + std::to_string(n) + ", k=" + std::to_string(k) + ", " +
                           dtypeName(a.dtype) + " -> " + dtypeName(c.dtype) + ")";
  if (needs64BitGemm(a, b, c, k)) {
    if (!api.gemmEx64)
      PFC_THROW(Unavailable, std::string(op) + ": a product past 2^31 elements " + what + " needs cublasGemmEx_64, which " +
                                 api.path + " lacks (cuBLAS 12 or newer has it)");
    PFC_CUBLAS_CHECK(api.gemmEx64(h, opA, opB, n, m, k, &alpha, b.raw(), cudaTypeOf(b.dtype), ldb, a.raw(),
                                  cudaTypeOf(a.dtype), lda, &beta, c.raw(), cudaTypeOf(c.dtype), ldc, computeType,
                                  cublas::kGemmDefault),
                     "cublasGemmEx_64 " + what);
    return;
  }
  PFC_CUBLAS_CHECK(api.gemmEx(h, opA, opB, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b.raw(),
                              cudaTypeOf(b.dtype), static_cast<int>(ldb), a.raw(), cudaTypeOf(a.dtype), static_cast<int>(lda),
                              &beta, c.raw(), cudaTypeOf(c.dtype), static_cast<int>(ldc), computeType, cublas::kGemmDefault),
                   "cublasGemmEx " + what);
}

}  // namespace pfc::cuda
