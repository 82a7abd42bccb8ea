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

/// a * b + c as a multiply, rounded, then an add, rounded: never fused. The GEMM and convolution
/// sums use it so a native build computes what the wasm build (SIMD128 has no FMA) and ONNX
/// Runtime's kernels compute: with fused multiply-adds every product skips a rounding, the sums
/// differ in the last bit, and in a quantized network a value next to a rounding boundary of the
/// next quantizer then lands on the neighbouring integer (issue 13 item 2: a MobileNetV2's W8A8
/// simulation agreed with ONNX Runtime on the export to 38 dB with FMA, bit-exactly without).
/// Both halves matter: on an fma3<avx2> build xsimd::fma is an FMA instruction; on AVX-512 xsimd
/// 8.1 writes x * y + z and GCC contracted it into one. So the files that use madd are compiled
/// with -ffp-contract=off (CMakeLists.txt). Measured cost: none on Zen (separate add pipes;
/// ResNet-50 at 1 thread 79-97 ms per pass before, 81-86 after, under load).
inline Batch madd(const Batch& a, const Batch& b, const Batch& c) { return a * b + c; }

}  // namespace qm::kernels::simd

// Full unrolling of short constant-trip loops (register tiles) for GCC and Clang.
#if defined(__clang__)
#define QM_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define QM_UNROLL _Pragma("GCC unroll 16")
#else
#define QM_UNROLL
#endif
