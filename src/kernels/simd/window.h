// Internal to src/kernels/simd: helpers for sliding-window kernels (depthwise conv, pooling) —
// span copies, a stride-2 column split, and a padded, phase-split copy of one input plane.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/conv.h"
#include "kernels/simd/simd.h"

namespace qm::kernels::simd {

using Index = std::ptrdiff_t;

inline void copy_floats(const float* src, size_t n, float* dst) {
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) Batch::load_unaligned(src + i).store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] = src[i];
}

inline void fill_floats(size_t n, float value, float* dst) {
  size_t i = 0;
  const Batch z(value);
  for (; i + kLanes <= n; i += kLanes) z.store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] = value;
}

inline void zero_floats(size_t n, float* dst) { fill_floats(n, 0.0f, dst); }

// Lane permutations for deinterleave2 (index i of n lanes).
struct EvensThenOdds {
  static constexpr uint32_t get(size_t i, size_t n) {
    return uint32_t(i < n / 2 ? 2 * i : 2 * (i - n / 2) + 1);
  }
};
struct OddsThenEvens {
  static constexpr uint32_t get(size_t i, size_t n) {
    return uint32_t(i < n / 2 ? 2 * i + 1 : 2 * (i - n / 2));
  }
};
struct SwapHalves {
  static constexpr uint32_t get(size_t i, size_t n) {
    return uint32_t(i < n / 2 ? i + n / 2 : i - n / 2);
  }
};
struct LowHalf {
  static constexpr bool get(size_t i, size_t n) { return i < n / 2; }
};

// even[t] = src[2t], odd[t] = src[2t + 1] for t < n: two vector loads, three lane permutes and
// two blends per 2 * kLanes floats (the stride-2 column split of the depthwise conv).
inline void deinterleave2(const float* src, size_t n, float* even, float* odd) {
  using Index32 = xsimd::batch<uint32_t>;
  constexpr auto eo = xsimd::make_batch_constant<Index32, EvensThenOdds>();
  constexpr auto oe = xsimd::make_batch_constant<Index32, OddsThenEvens>();
  constexpr auto swap = xsimd::make_batch_constant<Index32, SwapHalves>();
  constexpr auto low = xsimd::make_batch_bool_constant<Batch, LowHalf>();
  size_t t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    const Batch a = xsimd::swizzle(Batch::load_unaligned(src + 2 * t), eo);
    const Batch b = xsimd::swizzle(Batch::load_unaligned(src + 2 * t + kLanes), oe);
    xsimd::select(low, a, b).store_unaligned(even + t);
    xsimd::swizzle(xsimd::select(low, b, a), swap).store_unaligned(odd + t);
  }
  for (; t < n; ++t) {
    even[t] = src[2 * t];
    odd[t] = src[2 * t + 1];
  }
}

// src[0], src[2], ..., src[2 * (kLanes - 1)] (reads 2 * kLanes floats).
inline Batch load_evens(const float* src) {
  using Index32 = xsimd::batch<uint32_t>;
  constexpr auto eo = xsimd::make_batch_constant<Index32, EvensThenOdds>();
  constexpr auto oe = xsimd::make_batch_constant<Index32, OddsThenEvens>();
  constexpr auto low = xsimd::make_batch_bool_constant<Batch, LowHalf>();
  return xsimd::select(low, xsimd::swizzle(Batch::load_unaligned(src), eo),
                       xsimd::swizzle(Batch::load_unaligned(src + kLanes), oe));
}

// One plane, padded (and for stride_w > 1 split into stride_w column phases) into a scratch
// buffer so that every tap of every output row is a contiguous, bounds-free vector load.
struct PaddedPlane {
  size_t rows = 0, phases = 1, phase_width = 0;
  std::unique_ptr<float[]> storage;
  size_t capacity = 0;
  std::vector<size_t> offsets;  // per tap, see f32_dwconv2d
  std::vector<float> row_buffer;  // one padded row before the phase split

  float* ensure(size_t n) {
    if (capacity < n) {
      storage.reset(new float[n]);
      capacity = n;
    }
    return storage.get();
  }
  // Element (y, x) of the padded plane lives at data[(y * phases + x % phases) * phase_width +
  // x / phases].
  const float* row_phase(size_t y, size_t phase) const {
    return storage.get() + (y * phases + phase) * phase_width;
  }
};

// Elements of the buffer fill_padded builds for shape s: every row and column the output
// windows touch, a vector of slack per phase row. In double: a hostile shape overflows size_t.
inline double padded_plane_elements(const Conv2dShape& s) {
  if (s.out_h == 0 || s.out_w == 0) return 0.0;
  const double rows = double(s.out_h - 1) * double(s.stride_h) +
                      double(s.kernel_h - 1) * double(s.dilation_h) + 1.0;
  const double cols = double(s.out_w - 1) * double(s.stride_w) +
                      double(s.kernel_w - 1) * double(s.dilation_w) + 1.0;
  return rows * (cols + double(s.stride_w) * double(kLanes + 1));
}

// Whether that buffer is modest next to the input and output planes. With strides far above the
// kernel it is mostly gaps (a fuzzed model asked for 2.3 GB to pool a tiny plane); the kernels
// that use it then run their scalar reference instead, which needs no buffer.
inline bool padded_plane_fits(const Conv2dShape& s) {
  const double planes = double(s.in_h) * double(s.in_w) + double(s.out_h) * double(s.out_w);
  return padded_plane_elements(s) <= 4.0 * planes + 65536.0;
}

// Fills pp with the plane padded by `pad_value` to everything the output windows touch.
inline void fill_padded(const Conv2dShape& s, const float* plane, PaddedPlane& pp,
                        float pad_value) {
  const size_t pw_total = (s.out_w - 1) * s.stride_w + (s.kernel_w - 1) * s.dilation_w + 1;
  pp.rows = (s.out_h - 1) * s.stride_h + (s.kernel_h - 1) * s.dilation_h + 1;
  pp.phases = s.stride_w;
  // Room for a full vector past the last needed element of a phase row: tails read whole
  // vectors.
  pp.phase_width = (pw_total + pp.phases - 1) / pp.phases + kLanes;
  float* data = pp.ensure(pp.rows * pp.phases * pp.phase_width);
  if (pp.phases > 1) pp.row_buffer.resize(pp.phases * pp.phase_width);
  const Index H = Index(s.in_h), W = Index(s.in_w);
  for (size_t y = 0; y < pp.rows; ++y) {
    const Index ih = Index(y) - Index(s.pad_top);
    float* out = data + y * pp.phases * pp.phase_width;
    if (ih < 0 || ih >= H) {
      fill_floats(pp.phases * pp.phase_width, pad_value, out);
      continue;
    }
    const float* row = plane + ih * W;
    // The padded row: zeros, the input row, zeros (phase_width * phases wide).
    const size_t width = pp.phase_width * pp.phases;
    float* padded = pp.phases == 1 ? out : pp.row_buffer.data();
    const Index lo = std::min<Index>(Index(s.pad_left), Index(width));
    const Index hi = std::clamp<Index>(Index(s.pad_left) + W, lo, Index(width));
    fill_floats(size_t(lo), pad_value, padded);
    if (hi > lo) copy_floats(row + (lo - Index(s.pad_left)), size_t(hi - lo), padded + lo);
    fill_floats(width - size_t(hi), pad_value, padded + hi);
    if (pp.phases == 2) {
      deinterleave2(padded, pp.phase_width, out, out + pp.phase_width);
    } else if (pp.phases > 2) {
      for (size_t ph = 0; ph < pp.phases; ++ph) {
        float* o = out + ph * pp.phase_width;
        for (size_t t = 0; t < pp.phase_width; ++t) o[t] = padded[t * pp.phases + ph];
      }
    }
  }
}

// Offsets of the taps (kh, kw) of a window from the start of an output row's first padded
// row/phase (see PaddedPlane).
inline void tap_offsets(const Conv2dShape& s, const PaddedPlane& pp, std::vector<size_t>& out) {
  out.resize(s.kernel_h * s.kernel_w);
  for (size_t kh = 0; kh < s.kernel_h; ++kh) {
    for (size_t kw = 0; kw < s.kernel_w; ++kw) {
      const size_t x = kw * s.dilation_w;
      out[kh * s.kernel_w + kw] =
          (kh * s.dilation_h * pp.phases + x % pp.phases) * pp.phase_width + x / pp.phases;
    }
  }
}

}  // namespace qm::kernels::simd
