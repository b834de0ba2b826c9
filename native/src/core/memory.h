// Tagged allocator: every byte the core allocates belongs to one category, and the tracker
// keeps the current and peak bytes per category and per device, plus the peak of the total.
// An optional budget (bytes per device) turns an allocation past it into an out-of-memory
// error, which is how a capacity search emulates a smaller GPU.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>

namespace pfc {

enum class Category : int {
  Centres = 0,
  Optimizer,
  WeightGrad,
  ActiveCentres,
  Logits,
  Features,
  Workspace,
  Communication,
  Count
};
constexpr int kNumCategories = static_cast<int>(Category::Count);
const char* categoryName(Category c);
bool categoryFromName(const char* name, Category* out);

enum class Device : int { Cpu = 0, Cuda = 1 };
constexpr int kNumDevices = 2;

struct MemoryCounters {
  std::array<int64_t, kNumCategories> current{};
  std::array<int64_t, kNumCategories> peak{};
  int64_t total = 0;
  int64_t totalPeak = 0;
  // Categories' current bytes at the moment the total peaked (what nvidia-smi would show then).
  std::array<int64_t, kNumCategories> atTotalPeak{};
  int64_t budget = 0;  // 0 = unlimited
  int64_t allocations = 0;
};

class MemoryTracker {
 public:
  static MemoryTracker& instance();
  // Records an allocation; throws PfcError(OutOfMemory) when it would pass the budget.
  void reserve(Device device, Category category, int64_t bytes);
  void release(Device device, Category category, int64_t bytes);
  MemoryCounters snapshot(Device device);
  void resetPeaks(Device device);
  void setBudget(Device device, int64_t bytes);

 private:
  std::mutex mutex_;
  std::array<MemoryCounters, kNumDevices> counters_{};
};

// Raw allocation on a device, accounted under a category. CUDA allocation goes through a
// hook that the CUDA backend installs when it is compiled in and a device is usable.
void* allocate(Device device, Category category, int64_t bytes);
void deallocate(Device device, Category category, void* ptr, int64_t bytes);

struct DeviceAllocator {
  std::function<void*(int64_t)> alloc;
  std::function<void(void*)> free;
};
void installDeviceAllocator(Device device, DeviceAllocator allocator);

}  // namespace pfc
