// Built when nvcc is not found: the CUDA side of runtime/device.h answers "not built".
#include "runtime/device.h"

namespace pfc {

CudaProbe probeCuda() {
  CudaProbe p;
  p.reason = "this build of pfc-bench has no CUDA backend (nvcc was not found when it was built)";
  return p;
}

void synchronizeDevice(Device) {}

}  // namespace pfc
