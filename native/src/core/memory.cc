#include "core/memory.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace pfc {

static const char* kCategoryNames[kNumCategories] = {
    "centres", "optimizer", "weightGrad", "activeCentres",
    "logits",  "features",  "workspace",  "communication"};

const char* categoryName(Category c) { return kCategoryNames[static_cast<int>(c)]; }

bool categoryFromName(const char* name, Category* out) {
  for (int i = 0; i < kNumCategories; ++i) {
    if (std::strcmp(name, kCategoryNames[i]) == 0) {
      *out = static_cast<Category>(i);
      return true;
    }
  }
  return false;
}

MemoryTracker& MemoryTracker::instance() {
  static MemoryTracker tracker;
  return tracker;
}

static const char* deviceName(Device d) { return d == Device::Cpu ? "cpu" : "cuda"; }

void MemoryTracker::reserve(Device device, Category category, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  MemoryCounters& c = counters_[static_cast<int>(device)];
  if (c.budget > 0 && c.total + bytes > c.budget) {
    throw PfcError(ErrorCode::OutOfMemory,
                   std::string("out of memory: allocating ") + std::to_string(bytes) + " bytes of " +
                       categoryName(category) + " on " + deviceName(device) + " would pass the budget of " +
                       std::to_string(c.budget) + " bytes (" + std::to_string(c.total) + " in use)",
                   __FILE__, __LINE__);
  }
  const int k = static_cast<int>(category);
  c.current[k] += bytes;
  if (c.current[k] > c.peak[k]) c.peak[k] = c.current[k];
  c.total += bytes;
  c.allocations += 1;
  if (c.total > c.totalPeak) {
    c.totalPeak = c.total;
    c.atTotalPeak = c.current;
  }
}

void MemoryTracker::release(Device device, Category category, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  MemoryCounters& c = counters_[static_cast<int>(device)];
  c.current[static_cast<int>(category)] -= bytes;
  c.total -= bytes;
}

MemoryCounters MemoryTracker::snapshot(Device device) {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_[static_cast<int>(device)];
}

void MemoryTracker::resetPeaks(Device device) {
  std::lock_guard<std::mutex> lock(mutex_);
  MemoryCounters& c = counters_[static_cast<int>(device)];
  c.peak = c.current;
  c.totalPeak = c.total;
  c.atTotalPeak = c.current;
}

void MemoryTracker::setBudget(Device device, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  counters_[static_cast<int>(device)].budget = bytes;
}

static DeviceAllocator g_allocators[kNumDevices];

void installDeviceAllocator(Device device, DeviceAllocator allocator) {
  g_allocators[static_cast<int>(device)] = std::move(allocator);
}

void* allocate(Device device, Category category, int64_t bytes) {
  if (bytes < 0) PFC_THROW(Invalid, "negative allocation size");
  MemoryTracker::instance().reserve(device, category, bytes);
  void* ptr = nullptr;
  const int64_t size = bytes > 0 ? bytes : 1;
  if (device == Device::Cpu) {
    // 64-byte alignment for AVX-512 rows; aligned_alloc wants a multiple of the alignment.
    ptr = std::aligned_alloc(64, static_cast<size_t>((size + 63) / 64 * 64));
  } else {
    const DeviceAllocator& a = g_allocators[static_cast<int>(device)];
    if (!a.alloc) {
      MemoryTracker::instance().release(device, category, bytes);
      PFC_THROW(Unavailable, "no CUDA device is usable in this process");
    }
    try {
      ptr = a.alloc(size);
    } catch (...) {
      MemoryTracker::instance().release(device, category, bytes);
      throw;
    }
  }
  if (!ptr) {
    MemoryTracker::instance().release(device, category, bytes);
    PFC_THROW(OutOfMemory, std::string("out of memory: the system refused ") + std::to_string(bytes) +
                               " bytes of " + categoryName(category));
  }
  return ptr;
}

void deallocate(Device device, Category category, void* ptr, int64_t bytes) {
  if (!ptr) return;
  if (device == Device::Cpu) {
    std::free(ptr);
  } else {
    g_allocators[static_cast<int>(device)].free(ptr);
  }
  MemoryTracker::instance().release(device, category, bytes);
}

}  // namespace pfc
