// Internal to src/kernels/simd: the one vector type the kernels use and loop helpers.
//
// xsimd 8.1 picks its default architecture at compile time: natively from -march=native
// (fma3<avx2> or avx512), and in the wasm build from -msse4.2, which Emscripten lowers onto
// SIMD128. There is deliberately no runtime dispatch (see STYLE.md 2.3).
#pragma once

#include <cstddef>

#include <xsimd/xsimd.hpp>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace qm::kernels::simd {

using Batch = xsimd::batch<float>;
inline constexpr size_t kLanes = Batch::size;

/// a > b ? a : b (x86 maxps: the second operand when either is NaN).
inline Batch vmax(const Batch& a, const Batch& b) {
#if defined(__wasm_simd128__)
  // Emscripten 3.1.6 emulates _mm_max_ps as compare + bitselect; f32x4.pmax is one maxps in
  // V8 and has the same semantics with swapped operands (pmax(x, y) = x < y ? y : x).
  return Batch(__m128(wasm_f32x4_pmax(v128_t(__m128(b)), v128_t(__m128(a)))));
#else
  return xsimd::max(a, b);
#endif
}

/// a < b ? a : b (x86 minps: the second operand when either is NaN).
inline Batch vmin(const Batch& a, const Batch& b) {
#if defined(__wasm_simd128__)
  return Batch(__m128(wasm_f32x4_pmin(v128_t(__m128(b)), v128_t(__m128(a)))));
#else
  return xsimd::min(a, b);
#endif
}

}  // namespace qm::kernels::simd

// Full unrolling of short constant-trip loops (register tiles) for GCC and Clang.
#if defined(__clang__)
#define QM_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define QM_UNROLL _Pragma("GCC unroll 16")
#else
#define QM_UNROLL
#endif
