// The C interface of pfc_mpi.so, the one file of the build that links libmpi.
//
// Why a separate library: an addon that NEEDs libmpi cannot even be loaded on a machine without
// MPI (a lent GPU machine has none), although only real mode on CPU ranks uses it. The addon
// dlopens pfc_mpi.so from its own folder when MPI is first asked for, so a missing MPI is an
// answer ("libmpi.so.40: cannot open shared object file") instead of a failed require().
//
// The plugin knows nothing of pfc tensors: it moves host buffers of `count` elements. The
// addon (mpi_comm.cc) validates shapes, stages device tensors and throws PfcError; every call
// here returns 0 or an MPI error code, with the text in lastError().
#pragma once
#include <cstdint>

extern "C" {

// Bumped whenever a signature below changes; the addon refuses a plugin of another version.
#define PFC_MPI_PLUGIN_ABI 1

enum PfcMpiType { kPfcMpiFloat = 0, kPfcMpiInt = 1, kPfcMpiUint16 = 2 };
enum PfcMpiOp { kPfcMpiSum = 0, kPfcMpiMax = 1 };

struct PfcMpiPlugin {
  int abi;
  // Before MPI_Init: MPI_Get_library_version's first line and the file libmpi was loaded from.
  void (*describe)(char* version, int versionLen, char* library, int libraryLen);
  // MPI_Init_thread (FUNNELED) once, errors returned (MPI_ERRORS_RETURN) on a duplicate world.
  int (*init)(int* rank, int* size, int* threadLevel);
  // recv <- every rank's `count` elements in rank order; rowLen elements form one row (used as
  // a contiguous datatype past int counts).
  int (*allGather)(const void* send, void* recv, int64_t count, int64_t rowLen, int type);
  int (*allReduce)(void* buffer, int64_t count, int type, int op);
  // recv <- this rank's block (`count` elements) of the sum over ranks of send.
  int (*reduceScatter)(const void* send, void* recv, int64_t count, int type);
  int (*broadcast)(void* buffer, int64_t count, int type, int root);
  int (*barrier)();
  int (*abort)(int code);
  int (*finalize)();
  // The text of the last failure on this thread: "<MPI_Error_string> in <MPI call>".
  const char* (*lastError)();
};

// The one exported symbol.
const PfcMpiPlugin* pfc_mpi_plugin();
}
