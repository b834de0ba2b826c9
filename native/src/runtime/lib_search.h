// Finding GPU libraries at run time (cuBLAS, NCCL): dlopen by name (LD_LIBRARY_PATH, the
// loader cache), then by full path in the usual folders: $PFC_CUDA_LIB_DIR (colon-separated),
// $CUDA_HOME/lib64, $CUDA_PATH/lib64, /usr/local/cuda/lib64, and the lib folders of NVIDIA's
// pip wheels (site-packages/nvidia/<wheel>/lib) under $VIRTUAL_ENV, $CONDA_PREFIX,
// /opt/torch/.venv, ~/.local, /usr/local and /usr.
#pragma once
#include <string>
#include <vector>

namespace pfc {

struct LoadedLibrary {
  void* handle = nullptr;
  std::string path;  // the name or full path that loaded
};

// Tries every name in every place; on failure returns a null handle and fills `tried` with a
// readable list of names and folders (plus any loader error other than "not found").
LoadedLibrary openFirstLibrary(const std::vector<std::string>& names, const std::vector<std::string>& wheelDirs,
                               std::string* tried);

// The folders searched besides the loader's own path, in order.
std::vector<std::string> libraryFolders(const std::vector<std::string>& wheelDirs);

// dlsym that returns nullptr when the symbol is missing.
void* findSymbol(void* handle, const char* name);

}  // namespace pfc
