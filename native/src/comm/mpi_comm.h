// The MPI communicator of real mode on CPU ranks (docs/design.md): one process per rank,
// launched by mpirun or srun; MPI_Init reads rank and size from the launcher's environment.
// Collectives work on pfc::Tensor (fp32 / int32; 16-bit storage for the non-reducing ones),
// in place where MPI allows it, and allocate nothing the memory tracker sees, so a real rank's
// tagged memory equals an emulated rank's. Device tensors are staged through host memory.
//
// MPI itself lives in pfc_mpi.so (mpi_plugin.h), loaded from the addon's folder on first use:
// the addon loads on machines without MPI, and unavailableReason() then quotes the loader.
// Every MPI failure comes back (MPI_ERRORS_RETURN) and is thrown as
// PfcError(Comm, "MPI: <MPI_Error_string> in <call> (rank r)"); nothing here calls exit().
#pragma once
#include <string>

#include "core/tensor.h"

namespace pfc::mpi {

enum class ReduceOp { Sum, Max };

// Why MPI cannot be used in this process (the plugin is missing, or the loader's message about
// libmpi), or "" when it can.
std::string unavailableReason();

struct LibraryDescription {
  std::string version;  // MPI_Get_library_version's first line and the MPI standard
  std::string library;  // the libmpi file loaded
};
// Callable before init; throws Unavailable with unavailableReason() when MPI is missing.
LibraryDescription describeLibrary();

struct InitInfo {
  int rank = 0;
  int size = 1;
  // MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...".
  std::string version;
  // The shared library the communicator runs on (promoted to global symbol scope at init).
  std::string library;
  // Thread support MPI granted (MPI_THREAD_FUNNELED is asked for).
  int threadLevel = 0;
};

// Initializes MPI once (later calls return the same answer). libmpi is loaded with global
// symbol scope: Open MPI's own plugins (mca_*.so) resolve libmpi's symbols globally.
InitInfo init();
bool initialized();
bool finalized();

// recv (size * send.rows rows) <- every rank's send, in rank order.
void allGather(const Tensor& send, const Tensor& recv);
// In place: tensor <- op over ranks of tensor.
void allReduce(const Tensor& tensor, ReduceOp op);
// recv (send.rows / size rows) <- this rank's block of the sum over ranks of send.
void reduceScatter(const Tensor& send, const Tensor& recv);
void broadcast(const Tensor& tensor, int root);
void barrier();
// MPI_Abort on the world: the launcher ends every rank with `code`.
void abort(int code);
void finalize();

}  // namespace pfc::mpi
