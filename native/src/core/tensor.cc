#include "core/tensor.h"

namespace pfc {

int dtypeSize(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
  }
  return 4;
}

const char* dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "fp32";
    case DType::BF16: return "bf16";
    case DType::F16: return "fp16";
    case DType::I32: return "int32";
  }
  return "?";
}

bool dtypeFromName(const std::string& name, DType* out) {
  for (DType t : {DType::F32, DType::BF16, DType::F16, DType::I32}) {
    if (name == dtypeName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

Storage::Storage(Device device_, Category category_, int64_t bytes_)
    : device(device_), category(category_), bytes(bytes_), data(nullptr) {
  data = allocate(device, category, bytes);
}

Storage::Storage(Device device_, void* borrowed)
    : device(device_), category(Category::Workspace), bytes(0), data(borrowed), owned(false) {}

Storage::~Storage() { release(); }

void Storage::release() {
  if (!owned) {
    data = nullptr;
    return;
  }
  if (data) {
    deallocate(device, category, data, bytes);
    data = nullptr;
  }
}

Tensor Tensor::create(Device device, Category category, DType dtype, int64_t rows, int64_t cols) {
  PFC_CHECK(rows >= 0 && cols >= 0, "tensor shape must be non-negative");
  Tensor t;
  t.rows = rows;
  t.cols = cols;
  t.dtype = dtype;
  t.storage = std::make_shared<Storage>(device, category, rows * cols * static_cast<int64_t>(dtypeSize(dtype)));
  return t;
}

Tensor Tensor::borrow(Device device, void* data, DType dtype, int64_t rows, int64_t cols) {
  Tensor t;
  t.rows = rows;
  t.cols = cols;
  t.dtype = dtype;
  t.storage = std::make_shared<Storage>(device, data);
  return t;
}

Tensor Tensor::rowView(int64_t start, int64_t count) const {
  PFC_CHECK(start >= 0 && count >= 0 && start + count <= rows,
            "row view [" + std::to_string(start) + ", " + std::to_string(start + count) + ") is outside " +
                std::to_string(rows) + " rows");
  Tensor v = *this;
  v.offsetBytes = offsetBytes + start * cols * dtypeSize(dtype);
  v.rows = count;
  return v;
}

Tensor Tensor::reshapeView(int64_t newRows, int64_t newCols) const {
  PFC_CHECK(newRows >= 0 && newCols >= 0 && newRows * newCols <= numel(),
            "reshape to " + std::to_string(newRows) + "x" + std::to_string(newCols) + " exceeds " + describe());
  Tensor v = *this;
  v.rows = newRows;
  v.cols = newCols;
  return v;
}

void* Tensor::raw() const {
  if (!storage || !storage->data) PFC_THROW(Invalid, "tensor was already freed");
  return static_cast<char*>(storage->data) + offsetBytes;
}

std::string Tensor::describe() const {
  return std::string(dtypeName(dtype)) + "[" + std::to_string(rows) + "x" + std::to_string(cols) + "] on " +
         (device() == Device::Cpu ? "cpu" : "cuda");
}

void requireDType(const char* op, const char* arg, const Tensor& t, DType dtype) {
  if (t.dtype != dtype)
    PFC_THROW(Invalid, std::string(op) + ": " + arg + " must be " + dtypeName(dtype) + ", got " + t.describe());
}

void requireShape(const char* op, const char* arg, const Tensor& t, int64_t rows, int64_t cols) {
  if ((rows >= 0 && t.rows != rows) || (cols >= 0 && t.cols != cols))
    PFC_THROW(Invalid, std::string(op) + ": " + arg + " must be " + (rows >= 0 ? std::to_string(rows) : "*") +
                           "x" + (cols >= 0 ? std::to_string(cols) : "*") + ", got " + t.describe());
}

void requireSameDevice(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device()) PFC_THROW(Invalid, std::string(op) + ": tensors on different devices");
}

}  // namespace pfc
