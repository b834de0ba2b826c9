// Which vector instruction set the CPU kernels run on. Every kernel family in ops/cpu is
// compiled once per Highway target (SSE4, AVX2, AVX-512, and a portable fallback) into the one
// build; Highway dispatches each call to the best target this CPU supports. PFC_SIMD_MAX
// (read when the addon loads) or restrictSimdTarget caps the choice, so one machine can run,
// test and time the code that a lesser CPU would run.
#pragma once
#include <string>
#include <vector>

namespace pfc::cpu {

// The target the kernels dispatch to now, e.g. "AVX3", "AVX2", "SSE4", "EMU128".
std::string simdTarget();
// Targets compiled into this build that this CPU supports, best first (ignores any cap).
std::vector<std::string> simdTargetsAvailable();
// Caps dispatch at the named target ("avx3_dl", "avx3" or "avx512", "avx2", "sse4", "ssse3",
// "emu128" or "scalar"; "best" removes the cap). Throws when the name is unknown or no compiled
// target at or below it is compiled; the message starts with `source`. Returns the target now
// dispatched to.
std::string restrictSimdTarget(const std::string& name, const char* source = "SIMD target");
// Applies PFC_SIMD_MAX when set; a bad value throws, naming the variable.
void applySimdEnvironment();

}  // namespace pfc::cpu
