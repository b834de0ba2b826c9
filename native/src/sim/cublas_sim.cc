// cuBLAS stand-in of the simulated device (sim/libraries.h).
#include <cblas.h>

#include <cstring>
#include <vector>

#include "sim/cuda_sim.h"
#include "sim/libraries.h"

namespace pfc::sim {
namespace {

using cublas::Handle;
using cublas::Status;
constexpr Status kOk = 0, kInvalidValue = 7, kNotSupported = 15;

struct HandleState {
  int mathMode = 0;
  void* workspace = nullptr;
  size_t workspaceBytes = 0;
};

float roundTf32(float x) {
  // TF32 keeps 10 mantissa bits: round the low 13 bits of fp32 to nearest even.
  uint32_t u = floatBits(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return x;
  u += 0xfffu + ((u >> 13) & 1u);
  return bitsFloat(u & ~0x1fffu);
}

bool widen(const void* src, cudaDataType type, int64_t count, float* out) {
  switch (type) {
    case CUDA_R_32F: std::memcpy(out, src, count * sizeof(float)); return true;
    case CUDA_R_16BF:
      for (int64_t i = 0; i < count; ++i) out[i] = bf16ToFloat(static_cast<const uint16_t*>(src)[i]);
      return true;
    case CUDA_R_16F:
      for (int64_t i = 0; i < count; ++i) out[i] = halfToFloat(static_cast<const uint16_t*>(src)[i]);
      return true;
    default: return false;
  }
}

// Elements a column-major operand of `cols` columns and leading dimension ld spans.
int64_t span(int64_t rows, int64_t cols, int64_t ld) { return cols == 0 || rows == 0 ? 0 : (cols - 1) * ld + rows; }

Status gemm(Handle h, int transa, int transb, int64_t m, int64_t n, int64_t k, const void* alpha, const void* A,
            cudaDataType at, int64_t lda, const void* B, cudaDataType bt, int64_t ldb, const void* beta, void* C,
            cudaDataType ct, int64_t ldc, int computeType, int) {
  if (!h) return 1;  // CUBLAS_STATUS_NOT_INITIALIZED
  if (m < 0 || n < 0 || k < 0 || (transa != 0 && transa != 1) || (transb != 0 && transb != 1)) return kInvalidValue;
  const int64_t aRows = transa ? k : m, aCols = transa ? m : k;
  const int64_t bRows = transb ? n : k, bCols = transb ? k : n;
  if (lda < std::max<int64_t>(1, aRows) || ldb < std::max<int64_t>(1, bRows) || ldc < std::max<int64_t>(1, m))
    return kInvalidValue;
  if (at != bt) return kNotSupported;
  if (at == CUDA_R_32F ? ct != CUDA_R_32F : (ct != CUDA_R_32F && ct != at)) return kNotSupported;
  if (computeType != cublas::kCompute32F && computeType != cublas::kCompute32FFastTF32) return kNotSupported;
  if (m == 0 || n == 0) return kOk;
  const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  std::vector<float> a(span(aRows, aCols, lda)), b(span(bRows, bCols, ldb));
  if (!widen(A, at, static_cast<int64_t>(a.size()), a.data()) || !widen(B, bt, static_cast<int64_t>(b.size()), b.data()))
    return kNotSupported;
  if (at == CUDA_R_32F && computeType == cublas::kCompute32FFastTF32) {
    for (float& x : a) x = roundTf32(x);
    for (float& x : b) x = roundTf32(x);
  }
  const CBLAS_TRANSPOSE ta = transa ? CblasTrans : CblasNoTrans, tb = transb ? CblasTrans : CblasNoTrans;
  if (ct == CUDA_R_32F) {
    if (k == 0) {
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < m; ++i) {
          float& c = static_cast<float*>(C)[j * ldc + i];
          c = be == 0.0f ? 0.0f : be * c;
        }
      return kOk;
    }
    cblas_sgemm(CblasColMajor, ta, tb, m, n, k, al, a.data(), lda, b.data(), ldb, be, static_cast<float*>(C), ldc);
    return kOk;
  }
  // 16-bit output: fp32 results, rounded once, a block of columns at a time (the output may be
  // past 2^31 elements: the 64-bit API's case).
  uint16_t* out = static_cast<uint16_t*>(C);
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(m, 1));
  std::vector<float> c(static_cast<size_t>(m) * std::min(block, n));
  for (int64_t j0 = 0; j0 < n; j0 += block) {
    const int64_t cols = std::min(block, n - j0);
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < m; ++i) {
        const uint16_t v = out[(j0 + j) * ldc + i];
        c[j * m + i] = be == 0.0f ? 0.0f : be * (ct == CUDA_R_16BF ? bf16ToFloat(v) : halfToFloat(v));
      }
    if (k > 0) {
      // Columns j0.. of op(B): column j0 of B, or row j0 of a transposed B.
      const float* bBlock = b.data() + (transb ? j0 : j0 * ldb);
      cblas_sgemm(CblasColMajor, ta, tb, m, cols, k, al, a.data(), lda, bBlock, ldb, 1.0f, c.data(), m);
    }
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < m; ++i)
        out[(j0 + j) * ldc + i] = ct == CUDA_R_16BF ? floatToBf16(c[j * m + i]) : floatToHalf(c[j * m + i]);
  }
  return kOk;
}

Status gemmEx(Handle h, int ta, int tb, int m, int n, int k, const void* alpha, const void* A, cudaDataType at, int lda,
              const void* B, cudaDataType bt, int ldb, const void* beta, void* C, cudaDataType ct, int ldc, int compute,
              int algo) {
  return gemm(h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, compute, algo);
}

Status gemmEx64(Handle h, int ta, int tb, int64_t m, int64_t n, int64_t k, const void* alpha, const void* A,
                cudaDataType at, int64_t lda, const void* B, cudaDataType bt, int64_t ldb, const void* beta, void* C,
                cudaDataType ct, int64_t ldc, int compute, int algo) {
  return gemm(h, ta, tb, m, n, k, alpha, A, at, lda, B, bt, ldb, beta, C, ct, ldc, compute, algo);
}

Status create(Handle* h) {
  *h = reinterpret_cast<Handle>(new HandleState());
  return kOk;
}
Status destroy(Handle h) {
  delete reinterpret_cast<HandleState*>(h);
  return kOk;
}
Status setStream(Handle h, cudaStream_t) { return h ? kOk : 1; }
Status setMathMode(Handle h, int mode) {
  if (!h) return 1;
  reinterpret_cast<HandleState*>(h)->mathMode = mode;
  return kOk;
}
Status setWorkspace(Handle h, void* workspace, size_t bytes) {
  if (!h) return 1;
  reinterpret_cast<HandleState*>(h)->workspace = workspace;
  reinterpret_cast<HandleState*>(h)->workspaceBytes = bytes;
  return kOk;
}
Status getVersion(Handle, int* v) {
  *v = 0;  // no cuBLAS: OpenBLAS stands in
  return kOk;
}
const char* statusString(Status s) { return s == kInvalidValue ? "an invalid argument (simulated cuBLAS)" : "simulated cuBLAS"; }

}  // namespace

cublas::Api cublasStandIn() {
  cublas::Api a;
  a.create = create;
  a.setStream = setStream;
  a.gemmEx = gemmEx;
  a.setMathMode = setMathMode;
  a.destroy = destroy;
  a.getVersion = getVersion;
  a.getStatusString = statusString;
  a.getProperty = nullptr;
  a.setWorkspace = setWorkspace;
  a.gemmEx64 = gemmEx64;
  a.path = "OpenBLAS standing in for cuBLAS (simulated device)";
  return a;
}

}  // namespace pfc::sim
