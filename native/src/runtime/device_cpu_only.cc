// Built when nvcc is not found: the CUDA side of runtime/device.h answers "not built".
#include "runtime/device.h"
#include "runtime/libraries.h"

namespace pfc {

CudaProbe probeCuda() {
  CudaProbe p;
  p.reason = "this build of pfc-bench has no CUDA backend (nvcc was not found when it was built)";
  return p;
}

void synchronizeDevice(Device) {}

}  // namespace pfc

namespace pfc {

void appendGpuLibraries(std::vector<LibraryInfo>& out) {
  for (const char* name : {"cuBLAS", "NCCL", "CUDA driver", "CUDA runtime"}) {
    LibraryInfo l;
    l.name = name;
    l.note = "this build has no CUDA backend (nvcc was not found when it was built)";
    out.push_back(l);
  }
}

}  // namespace pfc
