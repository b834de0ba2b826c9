// Errors raised by the native core. Native code never exits the process: every failure
// (bad shape, allocation, CUDA, cuBLAS, NCCL, MPI) is thrown as PfcError and turned into a
// JavaScript Error by the binding layer, with the library's own message, file and line.
#pragma once
#include <stdexcept>
#include <string>

namespace pfc {

enum class ErrorCode { Invalid, OutOfMemory, Backend, Comm, Unavailable };

inline const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::Invalid: return "PFC_INVALID";
    case ErrorCode::OutOfMemory: return "PFC_OOM";
    case ErrorCode::Backend: return "PFC_BACKEND";
    case ErrorCode::Comm: return "PFC_COMM";
    case ErrorCode::Unavailable: return "PFC_UNAVAILABLE";
  }
  return "PFC_ERROR";
}

class PfcError : public std::runtime_error {
 public:
  PfcError(ErrorCode code, const std::string& message, const char* file, int line)
      : std::runtime_error(message + " (" + file + ":" + std::to_string(line) + ")"), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace pfc

#define PFC_THROW(code, msg) throw ::pfc::PfcError(::pfc::ErrorCode::code, (msg), __FILE__, __LINE__)
#define PFC_CHECK(cond, msg)                        \
  do {                                              \
    if (!(cond)) PFC_THROW(Invalid, std::string(msg)); \
  } while (0)
