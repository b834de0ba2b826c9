// Picks the CPU or the CUDA kernel of an op from the device of its first tensor. A build
// without CUDA raises a clear error when a CUDA tensor reaches an op.
#pragma once
#include "core/error.h"
#include "core/tensor.h"

#ifdef PFC_WITH_CUDA
#define PFC_DISPATCH(tensor, fn, ...)                          \
  do {                                                         \
    if ((tensor).device() == ::pfc::Device::Cpu) {             \
      ::pfc::cpu::fn(__VA_ARGS__);                             \
    } else {                                                   \
      ::pfc::cuda::fn(__VA_ARGS__);                            \
    }                                                          \
  } while (0)
#define PFC_DISPATCH_RET(tensor, fn, ...)                                                  \
  ((tensor).device() == ::pfc::Device::Cpu ? ::pfc::cpu::fn(__VA_ARGS__) : ::pfc::cuda::fn(__VA_ARGS__))
#else
#define PFC_DISPATCH(tensor, fn, ...)                                                 \
  do {                                                                                \
    if ((tensor).device() != ::pfc::Device::Cpu)                                      \
      PFC_THROW(Unavailable, "this build has no CUDA backend (nvcc was not found)"); \
    ::pfc::cpu::fn(__VA_ARGS__);                                                      \
  } while (0)
#define PFC_DISPATCH_RET(tensor, fn, ...)                                                             \
  ((tensor).device() == ::pfc::Device::Cpu                                                           \
       ? ::pfc::cpu::fn(__VA_ARGS__)                                                                 \
       : (PFC_THROW(Unavailable, "this build has no CUDA backend (nvcc was not found)"), ::pfc::cpu::fn(__VA_ARGS__)))
#endif
