#include "ops/gemm.h"

#include <cblas.h>
#include <omp.h>
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

void gemm(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta) {
  requireDType("gemm (cpu)", "a", a, DType::F32);
  requireDType("gemm (cpu)", "b", b, DType::F32);
  requireDType("gemm (cpu)", "c", c, DType::F32);
  const int m = static_cast<int>(c.rows), n = static_cast<int>(c.cols);
  const int k = static_cast<int>(transA ? a.rows : a.cols);
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a.data<float>(), static_cast<int>(a.cols), b.data<float>(), static_cast<int>(b.cols), beta,
              c.data<float>(), n);
}

}  // namespace cpu
}  // namespace pfc
