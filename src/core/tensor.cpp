#include "core/tensor.h"

#include "core/error.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <cstring>
#include <new>

namespace qm {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorKind::InvalidArgument, "tensor shape " + shape_to_string(shape) + " has a negative dimension");
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 2 / d)
      throw Error(ErrorKind::InvalidArgument, "tensor shape " + shape_to_string(shape) + " has more elements than fit in 63 bits");
    n *= d;
  }
  return n;
}

namespace {
#ifdef __EMSCRIPTEN__
std::atomic<size_t> g_max_tensor_bytes{size_t{2} << 30};
#else
std::atomic<size_t> g_max_tensor_bytes{size_t{64} << 30};
#endif
}  // namespace

size_t max_tensor_bytes() { return g_max_tensor_bytes.load(); }
void set_max_tensor_bytes(size_t bytes) { g_max_tensor_bytes.store(bytes); }

namespace {
std::atomic<size_t> g_memory_limit{std::numeric_limits<size_t>::max()};
std::atomic<size_t> g_tensor_bytes_held{0};

std::string human_bytes(size_t bytes) {
  if (bytes < (size_t{1} << 10)) return std::to_string(bytes) + " bytes";
  if (bytes < (size_t{1} << 20)) return std::to_string((bytes + 512) >> 10) + " KiB";
  return std::to_string((bytes + (size_t{1} << 19)) >> 20) + " MiB";
}
}  // namespace

size_t memory_limit() { return g_memory_limit.load(); }
void set_memory_limit(size_t bytes) { g_memory_limit.store(bytes); }
size_t tensor_bytes_held() { return g_tensor_bytes_held.load(); }

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
  const size_t elem = tensor_element_size(dtype_);
  const size_t limit = max_tensor_bytes();
  if (elem > 0 && static_cast<uint64_t>(numel_) > limit / elem) {
    const double gib = static_cast<double>(numel_) * static_cast<double>(elem) / double(1u << 30);
    throw Error(ErrorKind::InvalidArgument, "a tensor of shape " + shape_to_string(shape_) + " would take " +
                                                std::to_string(static_cast<long long>(gib)) + " GiB, over the limit of " +
                                                std::to_string(limit >> 30) + " GiB for one tensor");
  }
  nbytes_ = static_cast<size_t>(numel_) * elem;
  // Round up so SIMD kernels may read a whole vector past the end of small tensors.
  const size_t alloc = (nbytes_ + kAlignment - 1) / kAlignment * kAlignment + kAlignment;
  const size_t held = g_tensor_bytes_held.fetch_add(alloc) + alloc;
  if (held > memory_limit()) {
    g_tensor_bytes_held.fetch_sub(alloc);
    throw Error(ErrorKind::InvalidArgument, "a tensor of shape " + shape_to_string(shape_) + " (" + human_bytes(nbytes_) +
                                                ") would take the tensors held at once over the memory limit of " +
                                                human_bytes(memory_limit()) + " (" + human_bytes(held - alloc) +
                                                " held already; raise the limit to run this)");
  }
  void* p = std::aligned_alloc(kAlignment, alloc);
  if (!p) {
    g_tensor_bytes_held.fetch_sub(alloc);
    throw std::bad_alloc();
  }
  std::memset(p, 0, alloc);
  buf_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [alloc](uint8_t* q) {
    std::free(q);
    g_tensor_bytes_held.fetch_sub(alloc);
  });
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
