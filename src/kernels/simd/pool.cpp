// Pooling kernels: the plane is padded (with -inf for max, 0 for average) and phase-split as in
// the depthwise convolution, so every window tap of a row of outputs is one vector load.
#include "kernels/pool.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/aligned_buffer.h"
#include "kernels/normalize.h"
#include "kernels/ref/pool.h"
#include "kernels/simd/simd.h"
#include "kernels/simd/window.h"

namespace qm::kernels {
namespace {

using simd::Batch;
using simd::Index;
using simd::kLanes;

// Number of taps of a 1-D window starting at `start` (in input coordinates) that fall in
// [lo, hi).
size_t taps_inside(Index start, size_t kernel, size_t dilation, Index lo, Index hi) {
  size_t n = 0;
  for (size_t k = 0; k < kernel; ++k) {
    const Index p = start + Index(k * dilation);
    n += (p >= lo && p < hi) ? 1 : 0;
  }
  return n;
}

// One row of outputs: y[ow] = reduce over taps of row[offset[t] + ow] (then `finish`), vectors
// of 2, then 1, then a partial one (the padded rows have a vector of slack).
template <class Reduce, class Finish>
void pool_row(const float* row, const size_t* offsets, size_t taps, size_t out_w, float init,
              float* y, Reduce reduce, Finish finish) {
  size_t ow = 0;
  for (; ow + 2 * kLanes <= out_w; ow += 2 * kLanes) {
    Batch a(init), b(init);
    for (size_t t = 0; t < taps; ++t) {
      const float* src = row + offsets[t] + ow;
      a = reduce(a, Batch::load_unaligned(src));
      b = reduce(b, Batch::load_unaligned(src + kLanes));
    }
    finish(a, ow).store_unaligned(y + ow);
    finish(b, ow + kLanes).store_unaligned(y + ow + kLanes);
  }
  for (; ow < out_w; ow += kLanes) {
    Batch a(init);
    for (size_t t = 0; t < taps; ++t) a = reduce(a, Batch::load_unaligned(row + offsets[t] + ow));
    a = finish(a, ow);
    if (ow + kLanes <= out_w) {
      a.store_unaligned(y + ow);
    } else {
      alignas(kBufferAlignment) float t[kLanes];
      a.store_aligned(t);
      std::copy(t, t + (out_w - ow), y + ow);
    }
  }
}

struct Scratch {
  simd::PaddedPlane pp;
  std::vector<size_t> offsets;
  std::vector<float> divisor_w;  // out_w + kLanes (vector slack)
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void f32_max_pool2d(const Conv2dShape& s, const float* x, float* y) {
  if (s.out_h == 0 || s.out_w == 0) return;
  if (!simd::padded_plane_fits(s)) return ref::f32_max_pool2d(s, x, y);
  Scratch& sc = scratch();
  const float lowest = -std::numeric_limits<float>::infinity();
  const size_t taps = s.kernel_h * s.kernel_w;
  for (size_t c = 0; c < s.in_channels; ++c) {
    simd::fill_padded(s, x + c * s.in_h * s.in_w, sc.pp, lowest);
    if (c == 0) simd::tap_offsets(s, sc.pp, sc.offsets);
    float* yc = y + c * s.out_h * s.out_w;
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      pool_row(sc.pp.row_phase(oh * s.stride_h, 0), sc.offsets.data(), taps, s.out_w, lowest,
               yc + oh * s.out_w,
               [](const Batch& a, const Batch& v) { return xsimd::select(v > a, v, a); },
               [](const Batch& a, size_t) { return a; });
    }
  }
}

void f32_avg_pool2d(const Conv2dShape& s, const float* x, float* y, const AvgPoolParams& p) {
  if (s.out_h == 0 || s.out_w == 0) return;
  if (!simd::padded_plane_fits(s)) return ref::f32_avg_pool2d(s, x, y, p);
  Scratch& sc = scratch();
  const size_t taps = s.kernel_h * s.kernel_w;
  // Divisor of window (oh, ow) = rows(oh) * cols(ow): taps inside the input, or inside the
  // padded input for count_include_pad. An empty window divides by 1 (its sum is 0).
  const Index h_lo = p.count_include_pad ? -Index(s.pad_top) : 0;
  const Index h_hi = Index(s.in_h) + (p.count_include_pad ? Index(p.pad_bottom) : 0);
  const Index w_lo = p.count_include_pad ? -Index(s.pad_left) : 0;
  const Index w_hi = Index(s.in_w) + (p.count_include_pad ? Index(p.pad_right) : 0);
  sc.divisor_w.assign(s.out_w + kLanes, 1.0f);
  for (size_t ow = 0; ow < s.out_w; ++ow) {
    sc.divisor_w[ow] = float(taps_inside(Index(ow * s.stride_w) - Index(s.pad_left), s.kernel_w,
                                         s.dilation_w, w_lo, w_hi));
  }
  for (size_t c = 0; c < s.in_channels; ++c) {
    simd::fill_padded(s, x + c * s.in_h * s.in_w, sc.pp, 0.0f);
    if (c == 0) simd::tap_offsets(s, sc.pp, sc.offsets);
    float* yc = y + c * s.out_h * s.out_w;
    for (size_t oh = 0; oh < s.out_h; ++oh) {
      const Batch rows(float(taps_inside(Index(oh * s.stride_h) - Index(s.pad_top), s.kernel_h,
                                         s.dilation_h, h_lo, h_hi)));
      const float* dw = sc.divisor_w.data();
      pool_row(sc.pp.row_phase(oh * s.stride_h, 0), sc.offsets.data(), taps, s.out_w, 0.0f,
               yc + oh * s.out_w, [](const Batch& a, const Batch& v) { return a + v; },
               [&](const Batch& a, size_t ow) {
                 const Batch d = rows * Batch::load_unaligned(dw + ow);
                 return a / xsimd::select(d == Batch(0.0f), Batch(1.0f), d);
               });
    }
  }
}

void f32_global_avg_pool(const float* x, float* y, size_t channels, size_t plane) {
  for (size_t c = 0; c < channels; ++c) y[c] = f32_reduce(ReduceOp::Mean, x + c * plane, plane);
}

void f32_global_max_pool(const float* x, float* y, size_t channels, size_t plane) {
  for (size_t c = 0; c < channels; ++c) y[c] = f32_reduce(ReduceOp::Max, x + c * plane, plane);
}

}  // namespace qm::kernels
