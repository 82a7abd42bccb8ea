// Fake quantisation on xsimd::batch<float>: divide, clamp, round half to even (roundps /
// wasm f32x4.nearest), rescale. All in float: the clamped quotient is a small integer, so no
// float->int conversion is needed (Emscripten 3.1.6 emulates those lane by lane).
#include "kernels/fake_quant.h"

#include <cstring>

#include "kernels/aligned_buffer.h"
#include "kernels/simd/simd.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::kLanes;

// ((clamp(x / s, lo, hi) rounded) - 0) * s with lo = qmin - zp, hi = qmax - zp, in MLAS's order
// (maxps(t, lo) then minps(t, hi)).
inline Batch fake_quant(const Batch& x, const Batch& s, const Batch& lo, const Batch& hi) {
  Batch t = x / s;
  t = xsimd::select(t > lo, t, lo);
  t = xsimd::select(t < hi, t, hi);
  // + 0: a quotient rounding to -0 must dequantise to +0, as the integer 0 does in ONNX.
  return (xsimd::nearbyint(t) + Batch(0.0f)) * s;
}

// Same scale for the whole span.
void span_uniform(const float* x, float* y, size_t n, float scale, float lo, float hi) {
  const Batch s(scale), vlo(lo), vhi(hi);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    fake_quant(Batch::load_unaligned(x + i), s, vlo, vhi).store_unaligned(y + i);
  }
  if (i < n) {
    alignas(kBufferAlignment) float t[kLanes] = {};
    std::memcpy(t, x + i, (n - i) * sizeof(float));
    fake_quant(Batch::load_aligned(t), s, vlo, vhi).store_aligned(t);
    std::memcpy(y + i, t, (n - i) * sizeof(float));
  }
}

// One row of `channels` values, each with its own scale and clamp range (inner == 1).
void span_per_element(const float* x, float* y, size_t n, const float* scales, const float* lo,
                      const float* hi) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    fake_quant(Batch::load_unaligned(x + i), Batch::load_unaligned(scales + i),
               Batch::load_unaligned(lo + i), Batch::load_unaligned(hi + i))
        .store_unaligned(y + i);
  }
  if (i < n) {
    alignas(kBufferAlignment) float t[4][kLanes];
    for (size_t j = 0; j < kLanes; ++j) {
      const bool in = i + j < n;
      t[0][j] = in ? x[i + j] : 0.0f;
      t[1][j] = in ? scales[i + j] : 1.0f;
      t[2][j] = in ? lo[i + j] : 0.0f;
      t[3][j] = in ? hi[i + j] : 0.0f;
    }
    fake_quant(Batch::load_aligned(t[0]), Batch::load_aligned(t[1]), Batch::load_aligned(t[2]),
               Batch::load_aligned(t[3]))
        .store_aligned(t[0]);
    std::memcpy(y + i, t[0], (n - i) * sizeof(float));
  }
}

}  // namespace

void f32_fake_quant_per_tensor(const float* x, float* y, size_t n, float scale,
                               int32_t zero_point, int32_t qmin, int32_t qmax) {
  span_uniform(x, y, n, scale, float(qmin - zero_point), float(qmax - zero_point));
}

void f32_fake_quant_per_channel(const float* x, float* y, size_t outer, size_t channels,
                                size_t inner, const float* scales, const int32_t* zero_points,
                                int32_t qmin, int32_t qmax) {
  if (inner == 1) {
    // Per-element parameters along each row: precompute the clamp bounds once.
    thread_local AlignedFloats bounds;
    thread_local size_t capacity = 0;
    if (capacity < 2 * channels) {
      bounds = make_aligned_floats(2 * channels);
      capacity = 2 * channels;
    }
    float* lo = bounds.get();
    float* hi = lo + channels;
    for (size_t c = 0; c < channels; ++c) {
      const int32_t zp = zero_points ? zero_points[c] : 0;
      lo[c] = float(qmin - zp);
      hi[c] = float(qmax - zp);
    }
    for (size_t o = 0; o < outer; ++o) {
      span_per_element(x + o * channels, y + o * channels, channels, scales, lo, hi);
    }
    return;
  }
  for (size_t o = 0; o < outer; ++o) {
    for (size_t c = 0; c < channels; ++c) {
      const int32_t zp = zero_points ? zero_points[c] : 0;
      const size_t off = (o * channels + c) * inner;
      span_uniform(x + off, y + off, inner, scales[c], float(qmin - zp), float(qmax - zp));
    }
  }
}

}  // namespace qm::kernels
