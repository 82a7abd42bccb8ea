// A 64-byte aligned float array owned by a unique_ptr: storage for packed GEMM operands and
// kernel workspaces (aligned so that packed panels never split a cache line per vector load).
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace qm::kernels {

inline constexpr size_t kBufferAlignment = 64;

struct AlignedFloatDelete {
  void operator()(float* p) const { ::operator delete[](p, std::align_val_t(kBufferAlignment)); }
};

/// Owning pointer to a 64-byte aligned float array (contents uninitialised after allocation).
using AlignedFloats = std::unique_ptr<float[], AlignedFloatDelete>;

/// Allocates `n` floats (at least one, so the pointer is never null) aligned to 64 bytes.
inline AlignedFloats make_aligned_floats(size_t n) {
  void* p = ::operator new[]((n ? n : 1) * sizeof(float), std::align_val_t(kBufferAlignment));
  return AlignedFloats(static_cast<float*>(p));
}

}  // namespace qm::kernels
