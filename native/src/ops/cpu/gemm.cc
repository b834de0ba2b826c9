#include "ops/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <string>

#include "core/memory.h"
#include "ops/cpu/bf16.h"
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

extern "C" {
// Not in every cblas.h; present in every OpenBLAS.
void openblas_set_num_threads(int);
char* openblas_get_config(void);
}

namespace pfc {

static int g_threads = 0;

// Flush denormals to zero on every thread of the pool (MXCSR is per thread, and the pool's
// threads persist). Softmax probabilities of far-off classes fall into the denormal range,
// where each multiply costs ~100 cycles: a backward pass over logits became 5x slower.
static void flushDenormalsOnAllThreads() {
#if defined(__SSE__)
  _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ | DAZ
#pragma omp parallel
  { _mm_setcsr(_mm_getcsr() | 0x8040); }
#endif
}

static const bool g_denormalsFlushed = (flushDenormalsOnAllThreads(), true);

void setCpuThreads(int threads) {
  g_threads = threads;
  openblas_set_num_threads(threads);
  omp_set_num_threads(threads);
  flushDenormalsOnAllThreads();
}

int cpuThreads() { return g_threads > 0 ? g_threads : omp_get_max_threads(); }

const char* blasInfo() { return openblas_get_config(); }

namespace cpu {

namespace {

// kBf16GemmWorkspaceBytes of fp32 scratch under 'workspace', for one call.
class ConversionBuffer {
 public:
  ConversionBuffer() : data_(static_cast<float*>(allocate(Device::Cpu, Category::Workspace, kBf16GemmWorkspaceBytes))) {}
  ~ConversionBuffer() { deallocate(Device::Cpu, Category::Workspace, data_, kBf16GemmWorkspaceBytes); }
  ConversionBuffer(const ConversionBuffer&) = delete;
  ConversionBuffer& operator=(const ConversionBuffer&) = delete;
  float* block(int i) const { return data_ + i * kBf16GemmBlock * kBf16GemmBlock; }

 private:
  float* data_;
};

// dst (rows x cols, leading dimension cols) = src[r0.., c0..] (leading dimension ld), exactly.
void toFloat(const Bf16* src, int64_t ld, int64_t r0, int64_t c0, int64_t rows, int64_t cols, float* dst) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const Bf16* s = src + (r0 + r) * ld + c0;
    float* d = dst + r * cols;
    for (int64_t q = 0; q < cols; ++q) d[q] = bf16ToFloat(s[q]);
  }
}

// bf16 A and B, fp32 or bf16 C: block by block, each op(A) (mb x kb) and op(B) (kb x nb) block
// converted to fp32 and multiplied by sgemm, accumulating over k in fp32 (in C itself when it
// is fp32, else in an fp32 block rounded to bf16 once its k loop is done, as cuBLAS rounds
// its fp32 accumulator). The layout of each block keeps its operand's transposition.
void gemmBf16(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta) {
  const int64_t m = c.rows, n = c.cols, k = transA ? a.rows : a.cols;
  if (m == 0 || n == 0) return;
  constexpr int64_t kBlock = kBf16GemmBlock;
  const ConversionBuffer buffer;
  float* aBlock = buffer.block(0);
  float* bBlock = buffer.block(1);
  float* cBlock = buffer.block(2);
  const Bf16* A = a.data<Bf16>();
  const Bf16* B = b.data<Bf16>();
  const bool cIsFloat = c.dtype == DType::F32;
  for (int64_t i0 = 0; i0 < m; i0 += kBlock) {
    const int64_t mb = std::min(kBlock, m - i0);
    for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
      const int64_t nb = std::min(kBlock, n - j0);
      float* acc = cIsFloat ? c.data<float>() + i0 * n + j0 : cBlock;
      const int64_t ldAcc = cIsFloat ? n : nb;
      // k == 0 still runs one (empty) product, which applies beta to an fp32 C.
      for (int64_t p0 = 0; p0 < std::max<int64_t>(k, 1); p0 += kBlock) {
        const int64_t kb = std::min(kBlock, k - p0);
        if (transA) {
          toFloat(A, a.cols, p0, i0, kb, mb, aBlock);  // kb x mb
        } else {
          toFloat(A, a.cols, i0, p0, mb, kb, aBlock);  // mb x kb
        }
        if (transB) {
          toFloat(B, b.cols, j0, p0, nb, kb, bBlock);  // nb x kb
        } else {
          toFloat(B, b.cols, p0, j0, kb, nb, bBlock);  // kb x nb
        }
        const float betaHere = p0 > 0 ? 1.0f : (cIsFloat ? beta : 0.0f);
        const int ldaBlock = static_cast<int>(std::max<int64_t>(transA ? mb : kb, 1));
        const int ldbBlock = static_cast<int>(std::max<int64_t>(transB ? kb : nb, 1));
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    static_cast<int>(mb), static_cast<int>(nb), static_cast<int>(kb), alpha, aBlock, ldaBlock, bBlock,
                    ldbBlock, betaHere, acc, static_cast<int>(ldAcc));
      }
      if (cIsFloat) continue;
      Bf16* out = c.data<Bf16>() + i0 * n + j0;
      // beta == 0 does not read C (it may hold anything), as in BLAS.
#pragma omp parallel for schedule(static) if (mb * nb > 65536)
      for (int64_t r = 0; r < mb; ++r)
        for (int64_t q = 0; q < nb; ++q) {
          const float prior = beta != 0.0f ? beta * bf16ToFloat(out[r * n + q]) : 0.0f;
          out[r * n + q] = floatToBf16(cBlock[r * nb + q] + prior);
        }
    }
  }
}

}  // namespace

void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta) {
  if (a.dtype == DType::BF16 && b.dtype == DType::BF16 && (c.dtype == DType::F32 || c.dtype == DType::BF16)) {
    gemmBf16(a, transA, b, transB, c, alpha, beta);
    return;
  }
  PFC_CHECK(a.dtype == DType::F32 && b.dtype == DType::F32 && c.dtype == DType::F32,
            std::string("gemm (cpu): expected fp32 a, b and c, or bf16 a and b with an fp32 or bf16 c; got ") +
                a.describe() + ", " + b.describe() + ", " + c.describe());
  const int m = static_cast<int>(c.rows), n = static_cast<int>(c.cols);
  const int k = static_cast<int>(transA ? a.rows : a.cols);
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a.data<float>(), static_cast<int>(a.cols), b.data<float>(), static_cast<int>(b.cols), beta,
              c.data<float>(), n);
}

}  // namespace cpu
}  // namespace pfc
