// Fake quantisation (quantise + dequantise in float) for the mixed-precision simulation,
// bit-exact with ONNX QuantizeLinear -> DequantizeLinear as ONNX Runtime computes them:
//
//   q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)   (a true division, as MLAS)
//   y = (q - zero_point) * scale
//
// Evaluated as ONNX Runtime's MLAS does: t = x / scale clamped to [qmin - zp, qmax - zp] with
// maxps/minps (so NaN becomes qmin - zp), then rounded half to even. Scales must be positive and
// finite (the caller validates them); qmin/qmax/zero points must fit in +-2^24 (always true for
// integer types up to 16 bits).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qm::kernels {

/// y[i] = fake_quant(x[i]) with one scale and zero point (asymmetric). y may equal x.
void f32_fake_quant_per_tensor(const float* x, float* y, size_t n, float scale,
                               int32_t zero_point, int32_t qmin, int32_t qmax);

/// Per-channel fake quantisation of x viewed as [outer, channels, inner] (row-major): element
/// (o, c, i) uses scales[c] and zero_points[c] (null: all 0, i.e. symmetric). Conv weights
/// [Cout, Cin, kh, kw] are outer = 1, inner = Cin*kh*kw; MatMul weights [K, N] quantised per
/// output column are outer = K, channels = N, inner = 1. y may equal x.
void f32_fake_quant_per_channel(const float* x, float* y, size_t outer, size_t channels,
                                size_t inner, const float* scales, const int32_t* zero_points,
                                int32_t qmin, int32_t qmax);

}  // namespace qm::kernels
