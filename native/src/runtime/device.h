// What the process knows about accelerators. Without a CUDA build, or on a machine without a
// usable device, probeCuda() says why and the CPU backend carries on.
#pragma once
#include <cstdint>
#include <string>

#include "core/memory.h"

namespace pfc {

struct CudaProbe {
  bool usable = false;
  std::string reason;
  std::string name;
  int64_t totalBytes = 0;
  int driverVersion = 0;
  int runtimeVersion = 0;
  int smCount = 0;  // multiprocessors (launch plans, and the model of the kernels' scratch)
};

CudaProbe probeCuda();
void synchronizeDevice(Device device);

}  // namespace pfc
