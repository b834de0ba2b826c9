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
  float* data() const { return data_; }
  static constexpr int64_t kFloats = kBf16GemmWorkspaceBytes / 4;

 private:
  float* data_;
};

// The extents of the blocks: the whole product if it fits the buffer, else the largest extent
// halved (rounded up) until it does, so the blocks of each dimension are near equal.
struct BlockShape {
  int64_t m, n, k;
};
BlockShape chooseBlocks(int64_t m, int64_t n, int64_t k, bool cBlock) {
  BlockShape b{std::max<int64_t>(m, 1), std::max<int64_t>(n, 1), std::max<int64_t>(k, 1)};
  const auto floats = [&] { return b.m * b.k + b.k * b.n + (cBlock ? b.m * b.n : 0); };
  while (floats() > ConversionBuffer::kFloats) {
    int64_t& largest = b.m >= b.n && b.m >= b.k ? b.m : (b.n >= b.k ? b.n : b.k);
    largest = (largest + 1) / 2;
  }
  return b;
}

// dst (rows x cols, leading dimension cols) = src[r0.., c0..] (leading dimension ld), exactly.
// One thread: a block converts in ~1% of its sgemm's time.
void toFloat(const Bf16* src, int64_t ld, int64_t r0, int64_t c0, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const Bf16* s = src + (r0 + r) * ld + c0;
    float* d = dst + r * cols;
    for (int64_t q = 0; q < cols; ++q) d[q] = bf16ToFloat(s[q]);
  }
}

// One operand's fp32 block, converted only when the block asked for is not the one it holds.
class BlockCache {
 public:
  BlockCache(const Tensor& t, float* block) : src_(t.data<Bf16>()), ld_(t.cols), block_(block) {}
  // The stored rows [r0, r0 + rows), columns [c0, c0 + cols), as a rows x cols fp32 block.
  const float* get(int64_t r0, int64_t c0, int64_t rows, int64_t cols) {
    if (r0 != r0_ || c0 != c0_ || rows != rows_ || cols != cols_) {
      toFloat(src_, ld_, r0, c0, rows, cols, block_);
      r0_ = r0, c0_ = c0, rows_ = rows, cols_ = cols;
    }
    return block_;
  }

 private:
  const Bf16* src_;
  int64_t ld_;
  float* block_;
  int64_t r0_ = -1, c0_ = -1, rows_ = -1, cols_ = -1;
};

// bf16 A and B, fp32 or bf16 C: block by block, each op(A) (mb x kb) and op(B) (kb x nb) block
// converted to fp32 (keeping its operand's transposition) and multiplied by sgemm, accumulating
// over k in fp32: in C itself when it is fp32, else in an fp32 block rounded to bf16 once its k
// loop is done, as cuBLAS rounds its fp32 accumulator. The loops run k outside the columns when
// C can take partial sums (fp32 C, or one k block), so each A block is converted once; a block
// that the next product needs again (a single block of A or B) is not converted again.
void gemmBf16(const Tensor& a, bool transA, const Tensor& b, bool transB, const Tensor& c, float alpha, float beta) {
  const int64_t m = c.rows, n = c.cols, k = transA ? a.rows : a.cols;
  if (m == 0 || n == 0) return;
  const bool cIsFloat = c.dtype == DType::F32;
  const BlockShape blk = chooseBlocks(m, n, k, !cIsFloat);
  const ConversionBuffer buffer;
  BlockCache aBlocks(a, buffer.data());
  BlockCache bBlocks(b, buffer.data() + blk.m * blk.k);
  float* cBlock = buffer.data() + blk.m * blk.k + blk.k * blk.n;
  // k == 0 still runs one (empty) product, which applies beta to an fp32 C.
  const int64_t kSteps = std::max<int64_t>(k, 1);
  // C[i0.., j0..] (+)= alpha op(A)[i0.., p0..] op(B)[p0.., j0..] into acc (leading dimension ldAcc).
  const auto product = [&](int64_t i0, int64_t mb, int64_t j0, int64_t nb, int64_t p0, float betaHere, float* acc,
                           int64_t ldAcc) {
    const int64_t kb = std::min(blk.k, k - p0);
    const float* ab = transA ? aBlocks.get(p0, i0, kb, mb) : aBlocks.get(i0, p0, mb, kb);
    const float* bb = transB ? bBlocks.get(j0, p0, nb, kb) : bBlocks.get(p0, j0, kb, nb);
    const int lda = static_cast<int>(std::max<int64_t>(transA ? mb : kb, 1));
    const int ldb = static_cast<int>(std::max<int64_t>(transB ? kb : nb, 1));
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                static_cast<int>(mb), static_cast<int>(nb), static_cast<int>(kb), alpha, ab, lda, bb, ldb, betaHere, acc,
                static_cast<int>(ldAcc));
  };
  // The finished fp32 block rounded into a bf16 C; beta == 0 does not read C (it may hold
  // anything), as in BLAS.
  const auto storeBlock = [&](int64_t i0, int64_t mb, int64_t j0, int64_t nb) {
    Bf16* out = c.data<Bf16>() + i0 * n + j0;
    for (int64_t r = 0; r < mb; ++r)
      for (int64_t q = 0; q < nb; ++q) {
        const float prior = beta != 0.0f ? beta * bf16ToFloat(out[r * n + q]) : 0.0f;
        out[r * n + q] = floatToBf16(cBlock[r * nb + q] + prior);
      }
  };
  for (int64_t i0 = 0; i0 < m; i0 += blk.m) {
    const int64_t mb = std::min(blk.m, m - i0);
    if (cIsFloat || k <= blk.k) {
      for (int64_t p0 = 0; p0 < kSteps; p0 += blk.k)
        for (int64_t j0 = 0; j0 < n; j0 += blk.n) {
          const int64_t nb = std::min(blk.n, n - j0);
          if (cIsFloat) {
            product(i0, mb, j0, nb, p0, p0 > 0 ? 1.0f : beta, c.data<float>() + i0 * n + j0, n);
          } else {
            product(i0, mb, j0, nb, p0, 0.0f, cBlock, nb);
            storeBlock(i0, mb, j0, nb);
          }
        }
      continue;
    }
    // bf16 C over several k blocks: each C block's whole k loop in the fp32 block first.
    for (int64_t j0 = 0; j0 < n; j0 += blk.n) {
      const int64_t nb = std::min(blk.n, n - j0);
      for (int64_t p0 = 0; p0 < k; p0 += blk.k) product(i0, mb, j0, nb, p0, p0 > 0 ? 1.0f : 0.0f, cBlock, nb);
      storeBlock(i0, mb, j0, nb);
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
