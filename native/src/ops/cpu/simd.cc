#include "ops/cpu/simd.h"

#include <cstdlib>

#include <hwy/highway.h>
#include <hwy/targets.h>

#include "core/error.h"

namespace pfc::cpu {

namespace {

struct Level {
  const char* name;
  int64_t target;
};

// Best first. Highway numbers its x86 targets so that a lower bit is a better target.
constexpr Level kLevels[] = {
    {"avx3_dl", HWY_AVX3_DL}, {"avx3", HWY_AVX3},     {"avx512", HWY_AVX3},     {"avx2", HWY_AVX2},
    {"sse4", HWY_SSE4},       {"ssse3", HWY_SSSE3},   {"emu128", HWY_EMU128},   {"scalar", HWY_SCALAR},
};

std::string levelNames() {
  std::string names;
  for (const Level& l : kLevels) names += std::string(names.empty() ? "" : ", ") + l.name;
  return names + ", best";
}

// The cap in force: the targets dispatch may use, or 0 for all this CPU supports. Highway
// 1.0's SupportedTargets() resets the chosen target to every detected one unless a test mask
// is set, so the cap is a test mask (SetSupportedTargetsForTest), not DisableTargets.
int64_t g_capped = 0;

void applyCap(int64_t targets) {
  g_capped = targets;
  hwy::SetSupportedTargetsForTest(targets);
  // Dispatch tables read the chosen target on every call: refresh it now.
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

// Targets compiled here and supported by this CPU, with no cap applied.
int64_t uncappedTargets() {
  if (g_capped == 0) return hwy::SupportedTargets() & HWY_TARGETS;
  hwy::SetSupportedTargetsForTest(0);
  const int64_t all = hwy::SupportedTargets();
  applyCap(g_capped);
  return all & HWY_TARGETS;
}

int64_t bestOf(int64_t targets) { return targets & -targets; }

}  // namespace

std::string simdTarget() { return hwy::TargetName(bestOf(hwy::SupportedTargets() & HWY_TARGETS)); }

std::vector<std::string> simdTargetsAvailable() {
  std::vector<std::string> names;
  for (int64_t t = uncappedTargets(); t != 0; t &= t - 1) names.push_back(hwy::TargetName(bestOf(t)));
  return names;
}

std::string restrictSimdTarget(const std::string& name, const char* source) {
  const Level* level = nullptr;
  for (const Level& l : kLevels)
    if (name == l.name) level = &l;
  PFC_CHECK(level != nullptr || name == "best",
            std::string(source) + ": '" + name + "' is unknown; expected one of " + levelNames());
  if (level == nullptr) {
    applyCap(0);
    return simdTarget();
  }
  // Lower bits are better targets: keep the cap's bit and every one above it.
  const int64_t allowed = uncappedTargets() & ~(level->target - 1);
  PFC_CHECK(allowed != 0, std::string(source) + ": '" + name + "': no target at or below it is compiled into this build");
  applyCap(allowed);
  return simdTarget();
}

void applySimdEnvironment() {
  const char* cap = std::getenv("PFC_SIMD_MAX");
  if (cap == nullptr || *cap == '\0') return;
  restrictSimdTarget(cap, "PFC_SIMD_MAX");
}

}  // namespace pfc::cpu
