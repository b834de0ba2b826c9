// Every library the core loads at run time, as `pfc-bench info` lists them: found or not,
// the file, the version, and why not when missing. Nothing here throws: a missing library is
// an answer.
#pragma once
#include <string>
#include <vector>

namespace pfc {

struct LibraryInfo {
  std::string name;     // "OpenBLAS", "MPI", "cuBLAS", "NCCL", "CUDA driver", "CUDA runtime"
  bool found = false;
  std::string path;     // the file loaded ("" when not found or linked in)
  std::string version;  // the library's own version text or number
  std::string note;     // why it is missing, or how it is linked
};

std::vector<LibraryInfo> runtimeLibraries();

// The CUDA build's part (runtime/gpu_libraries.cc) or the CPU-only build's (device_cpu_only.cc).
void appendGpuLibraries(std::vector<LibraryInfo>& out);

// The file a dlopen handle stands for (dlinfo's link map), "" when unknown.
std::string libraryFile(void* handle);

}  // namespace pfc
