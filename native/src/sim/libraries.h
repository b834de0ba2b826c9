// The simulated device's cuBLAS and NCCL: the loaders' function tables (runtime/cublas_loader.h,
// comm/nccl_loader.h) filled with host stand-ins instead of dlopen'ed libraries, so the code
// around them (handle, workspace, the 64-bit GEMM API, the communicator) runs unchanged.
#pragma once
#include "comm/nccl_loader.h"
#include "runtime/cublas_loader.h"

namespace pfc::sim {

// cublasGemmEx / cublasGemmEx_64 on OpenBLAS, column-major as cuBLAS: fp32, bf16 and fp16
// inputs (16-bit ones widened exactly, so products are of the rounded inputs) accumulated in
// fp32; fp32 inputs rounded to TF32 first under CUBLAS_COMPUTE_32F_FAST_TF32; a 16-bit output
// rounded to nearest even. Arguments cuBLAS would refuse (a leading dimension too small, a
// negative size, a type pair it lacks) return CUBLAS_STATUS_INVALID_VALUE / NOT_SUPPORTED.
cublas::Api cublasStandIn();

// A one-rank NCCL: every collective copies its input to its output (with one rank, sum, max
// and gather all equal the input); a communicator of more ranks is refused.
nccl::Api ncclStandIn();

}  // namespace pfc::sim
