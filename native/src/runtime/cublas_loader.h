// cuBLAS loaded at run time with dlopen (libcublas.so.13, .12, .11, libcublas.so), so one build
// runs with or without it; nothing here includes the cuBLAS headers. The few types and enum
// values used are declared below with the values of cublas_api.h. A missing library is
// PfcError(Unavailable, "cuBLAS not found: tried ... (set LD_LIBRARY_PATH to the folder holding it)").
#pragma once
#include <cuda_runtime_api.h>
#include <library_types.h>

#include <cstdint>
#include <string>

namespace pfc::cublas {

struct Context;  // cublasContext
using Handle = Context*;
using Status = int;  // cublasStatus_t; 0 = CUBLAS_STATUS_SUCCESS

enum Operation : int { kOpN = 0, kOpT = 1 };                         // cublasOperation_t
enum ComputeType : int { kCompute32F = 68, kCompute32FFastTF32 = 77 };  // cublasComputeType_t
enum MathMode : int { kDefaultMath = 0, kTf32TensorOpMath = 3 };        // cublasMath_t
constexpr int kGemmDefault = -1;                                        // CUBLAS_GEMM_DEFAULT

struct Api {
  Status (*create)(Handle*) = nullptr;                    // cublasCreate_v2
  Status (*setStream)(Handle, cudaStream_t) = nullptr;    // cublasSetStream_v2
  Status (*gemmEx)(Handle, int transa, int transb, int m, int n, int k, const void* alpha, const void* A,
                   cudaDataType Atype, int lda, const void* B, cudaDataType Btype, int ldb, const void* beta, void* C,
                   cudaDataType Ctype, int ldc, int computeType, int algo) = nullptr;  // cublasGemmEx
  Status (*setMathMode)(Handle, int) = nullptr;           // cublasSetMathMode
  Status (*destroy)(Handle) = nullptr;                    // cublasDestroy_v2
  Status (*getVersion)(Handle, int*) = nullptr;           // cublasGetVersion_v2
  const char* (*getStatusString)(Status) = nullptr;       // cublasGetStatusString (optional)
  Status (*getProperty)(int type, int* value) = nullptr;  // cublasGetProperty: no device needed (optional)
  Status (*setWorkspace)(Handle, void*, size_t) = nullptr;  // cublasSetWorkspace_v2 (optional, cuBLAS 11.4+)
  // cublasGemmEx_64 (optional, cuBLAS 12+): 64-bit sizes and leading dimensions.
  Status (*gemmEx64)(Handle, int transa, int transb, int64_t m, int64_t n, int64_t k, const void* alpha, const void* A,
                     cudaDataType Atype, int64_t lda, const void* B, cudaDataType Btype, int64_t ldb, const void* beta,
                     void* C, cudaDataType Ctype, int64_t ldc, int computeType, int algo) = nullptr;
  std::string path;                                       // the name that loaded
  void* library = nullptr;                                // the dlopen handle
};

// The workspace cuBLAS gets from the core's tagged allocator ('workspace'), so every byte a
// GEMM uses is accounted and no GEMM allocates behind the tracker's back (which would also stop
// CUDA-graph capture). 32 MiB: NVIDIA's recommendation for Hopper (it covers older GPUs too).
constexpr int64_t kWorkspaceBytes = int64_t{32} << 20;

// Loads the library on first use; throws Unavailable when it is missing or incomplete.
const Api& api();
// The process-wide handle, bound to the core's stream and given its workspace (created on
// first use: the workspace is allocated then, under 'workspace').
Handle handle();
// True once a handle (and so its workspace) exists in this process.
bool hasHandle();
// cuBLAS version as cublasGetVersion reports it (for example 130000 + ...); needs a device.
int version();
// "major.minor.patch" from cublasGetProperty, without a device ("" when the symbol is missing).
std::string propertyVersion();
// Destroys the handle and frees its workspace (optional, at shutdown); a later gemm creates a new one.
void releaseHandle();

// Throws PfcError naming the status (ALLOC_FAILED -> OutOfMemory, others -> Backend).
void checkStatus(Status status, const std::string& what, const char* file, int line);

}  // namespace pfc::cublas

#define PFC_CUBLAS_CHECK(expr, what) ::pfc::cublas::checkStatus((expr), (what), __FILE__, __LINE__)
