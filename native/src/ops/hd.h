// Lets the same small math functions compile for the host and for CUDA devices.
#pragma once
#if defined(__CUDACC__)
#define PFC_HD __host__ __device__ __forceinline__
#else
#define PFC_HD inline
#endif
