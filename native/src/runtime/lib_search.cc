// Run-time search for GPU libraries (see lib_search.h).
#include "runtime/lib_search.h"

#include <dlfcn.h>
#include <glob.h>
#include <sys/stat.h>

#include <cstdlib>

namespace pfc {

static bool isDir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

static void addUnique(std::vector<std::string>* out, const std::string& dir) {
  if (dir.empty() || !isDir(dir)) return;
  for (const auto& d : *out)
    if (d == dir) return;
  out->push_back(dir);
}

static std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::vector<std::string> libraryFolders(const std::vector<std::string>& wheelDirs) {
  std::vector<std::string> out;
  const std::string extra = env("PFC_CUDA_LIB_DIR");
  size_t start = 0;
  while (start <= extra.size() && !extra.empty()) {
    const size_t colon = extra.find(':', start);
    addUnique(&out, extra.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"}) {
    const std::string root = env(var);
    if (!root.empty()) addUnique(&out, root + "/lib64");
  }
  addUnique(&out, "/usr/local/cuda/lib64");
  std::vector<std::string> prefixes;
  for (const char* var : {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
    const std::string p = env(var);
    if (!p.empty()) prefixes.push_back(p);
  }
  prefixes.push_back("/opt/torch/.venv");
  const std::string home = env("HOME");
  if (!home.empty()) prefixes.push_back(home + "/.local");
  prefixes.push_back("/usr/local");
  prefixes.push_back("/usr");
  for (const auto& prefix : prefixes) {
    for (const auto& wheel : wheelDirs) {
      for (const char* pkgs : {"site-packages", "dist-packages"}) {
        const std::string pattern = prefix + "/lib/python3*/" + pkgs + "/" + wheel;
        glob_t g;
        if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
          for (size_t i = 0; i < g.gl_pathc; ++i) addUnique(&out, g.gl_pathv[i]);
        }
        globfree(&g);
      }
    }
  }
  return out;
}

LoadedLibrary openFirstLibrary(const std::vector<std::string>& names, const std::vector<std::string>& wheelDirs,
                               std::string* tried) {
  LoadedLibrary lib;
  std::vector<std::string> errors;
  auto attempt = [&](const std::string& path) {
    dlerror();
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) {
      lib.handle = h;
      lib.path = path;
      return true;
    }
    const char* e = dlerror();
    // "cannot open shared object file: No such file or directory" is the expected miss; keep
    // anything else (a wrong architecture, a missing dependency) for the error message.
    if (e && std::string(e).find("No such file") == std::string::npos) errors.push_back(e);
    return false;
  };
  for (const auto& name : names)
    if (attempt(name)) return lib;
  const std::vector<std::string> folders = libraryFolders(wheelDirs);
  for (const auto& dir : folders)
    for (const auto& name : names)
      if (attempt(dir + "/" + name)) return lib;
  if (tried) {
    std::string s = "tried ";
    for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
    s += " on the loader path (LD_LIBRARY_PATH)";
    if (!folders.empty()) {
      s += " and in ";
      for (size_t i = 0; i < folders.size(); ++i) s += (i ? ", " : "") + folders[i];
    }
    for (const auto& e : errors) s += "; " + e;
    *tried = s;
  }
  return lib;
}

void* findSymbol(void* handle, const char* name) {
  dlerror();
  return dlsym(handle, name);
}

}  // namespace pfc
