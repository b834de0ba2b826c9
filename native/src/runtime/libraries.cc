// The run-time libraries of the core (see libraries.h): OpenBLAS (linked, found through the
// addon's run path), MPI (pfc_mpi.so, dlopen'ed), and the GPU side.
#include "runtime/libraries.h"

#include <cblas.h>
#include <dlfcn.h>
#include <link.h>

#include "comm/mpi_comm.h"

namespace pfc {

std::string libraryFile(void* handle) {
  struct link_map* map = nullptr;
  if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name) return "";
  return map->l_name;
}

static LibraryInfo openBlas() {
  LibraryInfo l;
  l.name = "OpenBLAS";
  Dl_info where{};
  l.found = true;  // linked: the addon would not have loaded without it
  if (dladdr(reinterpret_cast<void*>(&cblas_sgemm), &where) && where.dli_fname) l.path = where.dli_fname;
  l.version = openblas_get_config();
  l.note = "linked; found through the addon's run path, its own folder first";
  return l;
}

static LibraryInfo mpiLibrary() {
  LibraryInfo l;
  l.name = "MPI";
  const std::string reason = mpi::unavailableReason();
  if (!reason.empty()) {
    l.note = reason;
    return l;
  }
  try {
    const mpi::LibraryDescription d = mpi::describeLibrary();
    l.found = true;
    l.path = d.library;
    l.version = d.version;
    l.note = "through pfc_mpi.so beside the addon";
  } catch (const std::exception& e) {
    l.note = e.what();
  }
  return l;
}

std::vector<LibraryInfo> runtimeLibraries() {
  std::vector<LibraryInfo> out = {openBlas(), mpiLibrary()};
  appendGpuLibraries(out);
  return out;
}

}  // namespace pfc
