# The CUDA backend, included by CMakeLists.txt when a working nvcc was found.
# Kernels (native/src/ops/cuda/*.cu) for sm_80 and sm_90 (A100, H100/H200; PTX of both for newer
# GPUs), the CUDA runtime linked statically (the addon needs no libcudart at run time), and the
# CUDA parts of the runtime and of the NCCL communicator. cuBLAS and NCCL are NOT linked: they
# are dlopen'ed at run time (runtime/cublas_loader.cc, comm/nccl_loader.cc), so one build runs
# on machines with or without them.
set(PFC_CUDA_ARCHS 80 90)
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${PFC_CUDA_ARCHS})
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(CMAKE_CUDA_RUNTIME_LIBRARY Static)

file(GLOB PFC_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/native/src/ops/cuda/*.cu)
target_sources(${PROJECT_NAME} PRIVATE
  ${PFC_CUDA_SOURCES}
  native/src/runtime/device_cuda.cc
  native/src/runtime/cuda_context.cc
  native/src/runtime/lib_search.cc
  native/src/runtime/cublas_loader.cc
  native/src/runtime/gpu_libraries.cc
  native/src/comm/nccl_loader.cc
  native/src/comm/nccl_comm.cc
  native/src/bind/cuda_binding.cc)

set_target_properties(${PROJECT_NAME} PROPERTIES
  CUDA_ARCHITECTURES "${PFC_CUDA_ARCHS}"
  CUDA_RUNTIME_LIBRARY Static
  CUDA_STANDARD 17
  CUDA_STANDARD_REQUIRED ON)
target_compile_definitions(${PROJECT_NAME} PRIVATE PFC_WITH_CUDA)
target_compile_options(${PROJECT_NAME} PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:-O3 -lineinfo -Xcompiler=-Wall -Xcompiler=-Wno-unknown-pragmas>)
# cudart_static brings the CUDA headers to the .cc files and -ldl -lrt -lpthread to the link.
target_link_libraries(${PROJECT_NAME} PRIVATE CUDA::cudart_static ${CMAKE_DL_LIBS})

set(PFC_HAVE_CUDA ON)
list(JOIN PFC_CUDA_ARCHS ";" PFC_CUDA_ARCHS_TEXT)
message(STATUS "pfc-bench: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER} ${CMAKE_CUDA_COMPILER_VERSION}, archs ${PFC_CUDA_ARCHS_TEXT})")
