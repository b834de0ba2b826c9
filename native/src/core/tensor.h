// A 2-D tensor (rows x cols, row-major, contiguous rows) on one device. Storage is shared by
// views: a view selects a range of rows and allocates nothing. 1-D data is rows x 1.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/memory.h"

namespace pfc {

enum class DType : int { F32 = 0, BF16 = 1, F16 = 2, I32 = 3 };
int dtypeSize(DType t);
const char* dtypeName(DType t);
bool dtypeFromName(const std::string& name, DType* out);

struct Storage {
  Storage(Device device, Category category, int64_t bytes);
  // Borrowed memory (a JavaScript buffer): not allocated, accounted or freed here.
  Storage(Device device, void* borrowed);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void release();  // frees now (explicit dispose); later uses see a released tensor

  Device device;
  Category category;
  int64_t bytes;
  void* data;
  bool owned = true;
};

struct Tensor {
  std::shared_ptr<Storage> storage;
  int64_t offsetBytes = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  DType dtype = DType::F32;

  static Tensor create(Device device, Category category, DType dtype, int64_t rows, int64_t cols);
  static Tensor borrow(Device device, void* data, DType dtype, int64_t rows, int64_t cols);
  Tensor rowView(int64_t start, int64_t count) const;
  // The first rows*cols elements seen as rows x cols (a buffer sized for the largest case
  // reused for a smaller one, such as logits for this step's active centres).
  Tensor reshapeView(int64_t rows, int64_t cols) const;

  Device device() const { return storage->device; }
  int64_t numel() const { return rows * cols; }
  int64_t bytes() const { return numel() * dtypeSize(dtype); }
  void* raw() const;
  template <typename T>
  T* data() const { return static_cast<T*>(raw()); }
  std::string describe() const;
};

// Shape and type checks shared by every op; each throws PfcError(Invalid) naming the op.
void requireDType(const char* op, const char* arg, const Tensor& t, DType dtype);
void requireShape(const char* op, const char* arg, const Tensor& t, int64_t rows, int64_t cols);
void requireSameDevice(const char* op, const Tensor& a, const Tensor& b);

}  // namespace pfc
