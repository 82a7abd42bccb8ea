// Internal to src/kernels/simd: the one vector type the kernels use and loop helpers.
//
// xsimd 8.1 picks its default architecture at compile time: natively from -march=native
// (fma3<avx2> or avx512), and in the wasm build from -msse4.2, which Emscripten lowers onto
// SIMD128. There is deliberately no runtime dispatch (see STYLE.md 2.3).
#pragma once

#include <cstddef>

#include <xsimd/xsimd.hpp>

namespace qm::kernels::simd {

using Batch = xsimd::batch<float>;
inline constexpr size_t kLanes = Batch::size;

}  // namespace qm::kernels::simd

// Full unrolling of short constant-trip loops (register tiles) for GCC and Clang.
#if defined(__clang__)
#define QM_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define QM_UNROLL _Pragma("GCC unroll 16")
#else
#define QM_UNROLL
#endif
