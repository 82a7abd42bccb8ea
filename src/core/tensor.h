// A runtime tensor: element type, dense row-major shape, and a reference-counted 64-byte aligned
// buffer. Copies share the buffer (cheap); clone() makes a deep copy. Used by ops/ and graph/ for
// execution; kernels/ never see Tensor, only contiguous spans.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace qm {

using Shape = std::vector<int64_t>;

/// Elements of `shape` (1 for a scalar). Error(InvalidArgument) when a dimension is negative or
/// the count does not fit in 63 bits, so no caller multiplies sizes that wrapped.
int64_t shape_numel(const Shape& shape);

/// The largest tensor (bytes) one allocation may have: a Tensor above it is an
/// Error(InvalidArgument) saying its size and the limit, instead of an allocation that fails
/// late or, in WebAssembly, wraps. Default: 2 GiB in WebAssembly (a tab has 4 GiB at most),
/// 64 GiB natively. Process-wide.
size_t max_tensor_bytes();
void set_max_tensor_bytes(size_t bytes);

/// The most bytes all tensors may hold at once (process-wide, every Tensor buffer counted as
/// allocated): a Tensor that would take the total above it is an Error(InvalidArgument) saying
/// how much the tensors would hold and the limit, before anything is allocated. Default: no
/// limit beyond max_tensor_bytes(); the front ends set one (the CLI's --max-memory).
size_t memory_limit();
void set_memory_limit(size_t bytes);
/// The bytes all live tensors hold now.
size_t tensor_bytes_held();

/// "[1, 3, 224, 224]".
std::string shape_to_string(const Shape& shape);

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  Tensor() = default;
  /// A zero-filled tensor. Sub-byte types (int4/uint4) are stored one element per byte.
  Tensor(DataType dtype, Shape shape);

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return nbytes_; }
  bool empty() const { return numel_ == 0; }

  /// Typed access; asserts (programmer error) that T matches dtype().
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }

  /// Shared ownership of the buffer (nullptr when empty), for views of it that must keep it alive.
  std::shared_ptr<const void> shared_buffer() const { return buf_; }
  /// Same buffer, new shape with the same element count (asserted).
  Tensor reshaped(Shape shape) const;
  /// Deep copy.
  Tensor clone() const;

 private:
  DataType dtype_ = DataType::Undefined;
  Shape shape_;
  int64_t numel_ = 0;
  size_t nbytes_ = 0;
  std::shared_ptr<uint8_t> buf_;
};

/// Bytes per element in a Tensor's buffer (int4/uint4 take one byte; string/undefined: 0).
size_t tensor_element_size(DataType dtype);

/// The DataType whose buffer elements are C++ type T (float -> Float, int64_t -> Int64, ...).
template <class T> constexpr DataType dtype_of();
template <> constexpr DataType dtype_of<float>() { return DataType::Float; }
template <> constexpr DataType dtype_of<double>() { return DataType::Double; }
template <> constexpr DataType dtype_of<int64_t>() { return DataType::Int64; }
template <> constexpr DataType dtype_of<int32_t>() { return DataType::Int32; }
template <> constexpr DataType dtype_of<int16_t>() { return DataType::Int16; }
template <> constexpr DataType dtype_of<uint16_t>() { return DataType::Uint16; }
template <> constexpr DataType dtype_of<int8_t>() { return DataType::Int8; }
template <> constexpr DataType dtype_of<uint8_t>() { return DataType::Uint8; }
template <> constexpr DataType dtype_of<bool>() { return DataType::Bool; }

template <class T> T* Tensor::data() {
  assert(dtype_ == dtype_of<T>() || (sizeof(T) == 1 && tensor_element_size(dtype_) == 1) ||
         (sizeof(T) == 2 && tensor_element_size(dtype_) == 2));
  return reinterpret_cast<T*>(buf_.get());
}
template <class T> const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

}  // namespace qm
