#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace qm {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

size_t tensor_element_size(DataType dtype) {
  int bits = dtype_bits(dtype);
  return bits <= 8 ? (bits > 0 ? 1 : 0) : static_cast<size_t>(bits / 8);
}

Tensor::Tensor(DataType dtype, Shape shape)
    : dtype_(dtype), shape_(std::move(shape)), numel_(shape_numel(shape_)) {
  assert(numel_ >= 0);
  nbytes_ = static_cast<size_t>(numel_) * tensor_element_size(dtype_);
  // Round up so SIMD kernels may read a whole vector past the end of small tensors.
  size_t alloc = (nbytes_ + kAlignment - 1) / kAlignment * kAlignment + kAlignment;
  void* p = std::aligned_alloc(kAlignment, alloc);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, alloc);
  buf_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

Tensor Tensor::reshaped(Shape shape) const {
  assert(shape_numel(shape) == numel_);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes_) std::memcpy(t.raw(), raw(), nbytes_);
  return t;
}

}  // namespace qm
