// Internal to src/kernels/simd: vectorised exp, log, tanh, erf and sigmoid on Batch.
//
// Why not xsimd::exp & co: they are accurate (~1 ulp) but build 2^n with float->int conversions,
// which Emscripten 3.1.6 emulates one lane at a time with lrint() (emmintrin.h, "TODO:
// optimize"): 20-25 ns per element in wasm against ~1 ns natively. These versions (Cephes
// single-precision polynomials, ~1-2 ulp) only use float arithmetic, bit casts and integer
// shifts/adds, all native SIMD128 instructions. Measured accuracy is in test_kernels_unary.cpp.
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/simd/simd.h"

namespace qm::kernels::simd {

using IntBatch = xsimd::batch<int32_t>;

inline Batch bits_to_float(const IntBatch& i) { return xsimd::bitwise_cast<Batch>(i); }
inline IntBatch float_to_bits(const Batch& f) { return xsimd::bitwise_cast<IntBatch>(f); }

/// p(x) = c[0] x^(n-1) + ... + c[n-1] (Horner with FMAs).
template <size_t N>
inline Batch polynomial(const Batch& x, const float (&c)[N]) {
  Batch p(c[0]);
  QM_UNROLL
  for (size_t i = 1; i < N; ++i) p = xsimd::fma(p, x, Batch(c[i]));
  return p;
}

/// e^x; overflows to +inf above ~88.72, underflows through the denormals to 0, NaN stays NaN.
inline Batch exp(const Batch& x) {
  const Batch magic(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  // Operand order matters: maxps/minps return their second operand when either is NaN (and the
  // wasm build emulates them the same way), so a NaN x survives the clamp and the arithmetic
  // below without a separate isnan select.
  const Batch xc = xsimd::min(Batch(89.0f), xsimd::max(Batch(-104.0f), x));
  const Batch t = xsimd::fma(xc, Batch(1.44269504088896341f), magic);
  const Batch n = t - magic;
  // r = x - n ln2 in two steps (Cody-Waite), |r| <= ln2 / 2.
  Batch r = xsimd::fnma(n, Batch(0.693359375f), xc);
  r = xsimd::fnma(n, Batch(-2.12194440e-4f), r);
  static constexpr float kP[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  const Batch p = xsimd::fma(polynomial(r, kP), r * r, r + Batch(1.0f));
  // 2^n as two normal factors 2^(n/2) 2^(n - n/2) so that n in [-150, 128] is exact.
  const IntBatch ni = float_to_bits(t) - float_to_bits(magic);
  const IntBatch n1 = ni >> 1;
  const IntBatch n2 = ni - n1;
  return p * bits_to_float((n1 + IntBatch(127)) << 23) * bits_to_float((n2 + IntBatch(127)) << 23);
}

/// Natural logarithm: -inf at 0, NaN below 0, +inf at +inf; denormals handled.
inline Batch log(const Batch& x) {
  const auto denormal = x < Batch(1.17549435e-38f);
  const Batch xs = xsimd::select(denormal, x * Batch(8388608.0f), x);  // * 2^23
  const IntBatch bits = float_to_bits(xs);
  // x = m 2^e with m in [0.5, 1).
  Batch e = xsimd::to_float((bits >> 23) - IntBatch(126)) -
            xsimd::select(denormal, Batch(23.0f), Batch(0.0f));
  Batch m = bits_to_float((bits & IntBatch(0x007fffff)) | IntBatch(0x3f000000));
  // Keep m in [sqrt(1/2), sqrt(2)): m < sqrt(1/2) -> 2m, e - 1; then work on m - 1.
  const auto small = m < Batch(0.707106781186547524f);
  e = e - xsimd::select(small, Batch(1.0f), Batch(0.0f));
  m = m - Batch(1.0f) + xsimd::select(small, m, Batch(0.0f));
  const Batch z = m * m;
  static constexpr float kP[] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                 -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                 2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
  Batch y = polynomial(m, kP) * m * z;
  y = xsimd::fma(e, Batch(-2.12194440e-4f), y);
  y = xsimd::fnma(Batch(0.5f), z, y);
  Batch r = xsimd::fma(e, Batch(0.693359375f), m + y);
  r = xsimd::select(x == Batch(0.0f), Batch(-std::numeric_limits<float>::infinity()), r);
  r = xsimd::select(x < Batch(0.0f), Batch(std::numeric_limits<float>::quiet_NaN()), r);
  r = xsimd::select(x == Batch(std::numeric_limits<float>::infinity()), x, r);
  return xsimd::select(xsimd::isnan(x), x, r);
}

/// tanh: an odd polynomial below |x| = 0.625 (no cancellation near 0), else 1 - 2/(e^2|x| + 1).
inline Batch tanh(const Batch& x) {
  const Batch ax = xsimd::abs(x);
  const Batch z = x * x;
  static constexpr float kP[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                 1.33314422036e-1f, -3.33332819422e-1f};
  const Batch small = xsimd::fma(polynomial(z, kP) * z, x, x);
  const Batch large = Batch(1.0f) - Batch(2.0f) / (exp(ax + ax) + Batch(1.0f));
  return xsimd::select(ax < Batch(0.625f), small, xsimd::copysign(large, x));
}

/// erf: x T(x^2) below |x| = 1, else 1 - erfc(|x|) with erfc = e^(-x^2) / |x| * P(1/x^2).
inline Batch erf(const Batch& x) {
  const Batch ax = xsimd::abs(x);
  const Batch z = x * x;
  static constexpr float kT[] = {7.853861353153693e-5f, -8.010193625184903e-4f,
                                 5.188327685732524e-3f, -2.685381193529856e-2f,
                                 1.128358514861418e-1f, -3.761262582423300e-1f,
                                 1.128379165726710e+0f};
  const Batch small = x * polynomial(z, kT);
  static constexpr float kP[] = {2.326819970068386e-2f, -1.387039388740657e-1f,
                                 3.687424674597105e-1f, -5.824733027278666e-1f,
                                 6.210004621745983e-1f, -4.944515323274145e-1f,
                                 3.404879937665872e-1f, -2.741127028184656e-1f,
                                 5.638259427386472e-1f};
  static constexpr float kR[] = {-1.047766399936249e+1f, 1.297719955372516e+1f,
                                 -7.495518717768503e+0f, 2.921019019210786e+0f,
                                 -1.015265279202700e+0f, 4.218463358204948e-1f,
                                 -2.820767439740514e-1f, 5.641895067754075e-1f};
  const Batch q = Batch(1.0f) / ax;
  const Batch q2 = q * q;
  const Batch tail = xsimd::select(ax < Batch(2.0f), polynomial(q2, kP), polynomial(q2, kR));
  const Batch erfc = exp(-z) * q * tail;
  const Batch large = xsimd::copysign(Batch(1.0f) - erfc, x);
  return xsimd::select(ax < Batch(1.0f), small, large);
}

/// 1 / (1 + e^-x).
inline Batch sigmoid(const Batch& x) { return Batch(1.0f) / (Batch(1.0f) + exp(-x)); }

}  // namespace qm::kernels::simd
